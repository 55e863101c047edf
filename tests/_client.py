"""What the no-network tests of the client share: a config with the canary key, and the parse of an answer."""

from __future__ import annotations

from airflow_provider_dashscope import _config
from airflow_provider_dashscope._http import api_request, api_response
from airflow_provider_dashscope.resources import fine_tunes

#: The canary key (as ``tests.conftest.CANARY_KEY``): tests assert it never shows up in errors, logs or reprs.
KEY = "sk-SECRET-canary-1234"


def make_config(**kwargs) -> _config.ClientConfig:
    kwargs.setdefault("api_key", KEY)
    return _config.build_config(source="connection 'ds'", key_field="its password field", **kwargs)


def parse(status, headers, body, *, job_id=None):
    """The protocol's parse of an answer to ``GET /fine-tunes/{job_id}`` (or to the list call without a job id)."""
    request = fine_tunes.get_job_request(job_id) if job_id else api_request.ApiRequest("GET", "/fine-tunes")
    return api_response.parse_response(status, headers, body, request)
