"""Asset events for the models this provider's tasks produce, and the ``dashscope://`` URI scheme.

A task whose ``outlets`` include an asset alias (``AssetAlias`` on Airflow 3, ``DatasetAlias`` on Airflow 2) adds,
when it completes, one asset event per alias for the model it produced, so a DAG scheduled on the alias runs with
the producer's ``extra``:

* a fine-tune that SUCCEEDED: ``dashscope://<region>/models/<finetuned_output>``, ``extra`` = ``job_id``, ``model``,
  ``base_model``, ``finetuned_output``, ``usage``, ``status``, ``region``;
* a deployment that is RUNNING: ``dashscope://<region>/deployments/<deployed_model>``, ``extra`` =
  ``deployed_model``, ``model_name``, ``base_model``, ``status``, ``capacity``, ``region``.

``<region>`` is the connection's region: its ``region`` extra, else the region of its API host (including a
workspace host ``<ws>.<region>.maas.aliyuncs.com``), ``local`` for a loopback host (the emulator), else the host.
URIs are built already normalised (lower-case scheme and region, no trailing slash, each name one escaped path
segment), so the asset's name and URI are the same text.

The scheme is registered in the provider metadata (``asset-uris``, and ``dataset-uris`` for Airflow 2) with
:func:`normalize_uri`, so a ``dashscope://`` URI a DAG author writes by hand is normalised the same way. This
module imports nothing from Airflow at import time: Airflow imports the handler while it discovers providers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, quote, urlsplit

from airflow_provider_dashscope._regions import region_of as connection_region

if TYPE_CHECKING:
    from airflow_provider_dashscope._config import ClientConfig

SCHEME = "dashscope"
#: Alias names the example DAGs use; any alias name works.
FINETUNED_MODELS_ALIAS = "dashscope-finetuned-models"
DEPLOYED_MODELS_ALIAS = "dashscope-deployed-models"


def region_of(config: ClientConfig) -> str:
    """The region part of a URI, from a connection's settings: its region, ``local`` for the emulator on a loopback
    address, else the API host itself."""
    region = connection_region(config.region, config.base_url)
    if region:
        return region
    if config.is_loopback:
        return "local"
    return (urlsplit(config.base_url).hostname or "").lower() or "unknown"


def _uri(region: str, collection: str, name: str) -> str:
    if not isinstance(name, str) or not name:
        raise ValueError(f"an asset URI needs a non-empty {collection[:-1]} name, got {name!r}")
    return f"{SCHEME}://{region.lower()}/{collection}/{quote(name, safe='')}"


def model_uri(region: str, finetuned_output: str) -> str:
    """``dashscope://<region>/models/<finetuned_output>``: the model a fine-tune produced."""
    return _uri(region, "models", finetuned_output)


def deployment_uri(region: str, deployed_model: str) -> str:
    """``dashscope://<region>/deployments/<deployed_model>``: a model being served."""
    return _uri(region, "deployments", deployed_model)


def normalize_uri(parts: SplitResult) -> SplitResult:
    """The URI handler Airflow calls for the ``dashscope`` scheme: the region (host) in lower case.

    It never raises (an exception here would make the DAG that wrote the URI fail to import).
    """
    return parts._replace(netloc=parts.netloc.lower())


def alias_outlets(task: Any) -> list[Any]:
    """The asset aliases among a task's ``outlets``."""
    from airflow.providers.common.compat.assets import AssetAlias

    return [outlet for outlet in getattr(task, "outlets", None) or () if isinstance(outlet, AssetAlias)]


def add_asset_events(task: Any, context: Mapping[str, Any], uri: str, extra: Mapping[str, Any]) -> int:
    """Add an event for the asset ``uri`` with ``extra`` to each asset alias among ``task.outlets``.

    Call it in the method that completes the task (``execute``, or ``execute_complete`` after a deferral): events
    added before deferring are lost. Returns the number of events added.
    """
    aliases = alias_outlets(task)
    if not aliases:
        return 0
    from airflow.providers.common.compat.assets import Asset

    outlet_events = context["outlet_events"]
    for alias in aliases:
        outlet_events[alias].add(Asset(uri=uri), extra=dict(extra))
    task.log.info("Asset event for %s (via %s)", uri, ", ".join(alias.name for alias in aliases))
    return len(aliases)
