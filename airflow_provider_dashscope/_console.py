"""Links to resources in the Model Studio console (no I/O).

For a loopback base URL (the local emulator) a link is the resource's own API URL there, which a browser can open.
The console pages take no deep link to one resource that is documented; the id rides along as a query hint.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from airflow_provider_dashscope._config import is_loopback_host
from airflow_provider_dashscope._regions import CONSOLE_ROOTS, region_of

_FINE_TUNE_PAGE = "?tab=model#/efm/model_tuning"
_DEPLOYMENT_PAGE = "?tab=model#/efm/model_deploy"


#: The console of a region that has none of its own, or of a connection whose region is unknown.
_DEFAULT_CONSOLE = CONSOLE_ROOTS["ap-southeast-1"]


def console_url(
    collection: str, page: str, query_key: str, resource_id: str, *, region: str | None, base_url: str | None
) -> str:
    """The console page of one resource: ``collection`` is its API path (``fine-tunes``), ``page`` its console tab."""
    if base_url and is_loopback_host(urlsplit(base_url).hostname):
        return f"{base_url}/{collection}/{quote(resource_id, safe='')}"
    root = CONSOLE_ROOTS.get(region_of(region, base_url) or "", _DEFAULT_CONSOLE)
    return f"{root}{page}?{query_key}={quote(resource_id, safe='')}"


def job_console_url(job_id: str, *, region: str | None = None, base_url: str | None = None) -> str:
    """Link to a fine-tune job in the console of its region (the international console by default)."""
    return console_url("fine-tunes", _FINE_TUNE_PAGE, "jobId", job_id, region=region, base_url=base_url)


def deployment_console_url(deployed_model: str, *, region: str | None = None, base_url: str | None = None) -> str:
    """Link to a deployment in the console of its region (the international console by default)."""
    return console_url(
        "deployments", _DEPLOYMENT_PAGE, "deployedModel", deployed_model, region=region, base_url=base_url
    )
