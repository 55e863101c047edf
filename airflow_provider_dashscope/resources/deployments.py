"""The deployments resource (``/deployments``): requests to build and answers to parse, with no I/O.

The bodies are the official SDK's: create sends ``model_name`` and ``capacity`` first, then the optional fields;
scale sends ``deployed_model`` with the new ``capacity``. Arguments are checked before any request (by
:mod:`airflow_provider_dashscope._checks.resources`, re-exported here), with the limits the API documents:
``capacity`` an integer from 1 to 999 (the API's message: "larger than or equal to 0 and multiples of 1 and less
than 1000"; 0 serves nothing), ``suffix`` at most 8 characters (lower-case letters and digits: it becomes part of
the model's name).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from airflow_provider_dashscope._checks.arguments import check_int
from airflow_provider_dashscope._checks.resources import (  # the argument checks, re-exported
    DEPLOYED_MODEL_HINT as DEPLOYED_MODEL_HINT,
    EXAMPLE_MODEL_NAME as EXAMPLE_MODEL_NAME,
    MAX_CAPACITY as MAX_CAPACITY,
    MODEL_NAME_HINT as MODEL_NAME_HINT,
    check_api_fields,
    check_capacity,
    check_plan,
    check_suffix,
    validate_deployed_model,
    validate_model_name,
)
from airflow_provider_dashscope._http.api_request import ApiRequest, path_segment

if TYPE_CHECKING:
    from airflow_provider_dashscope._config import ClientConfig
    from airflow_provider_dashscope.models import Deployment, DeploymentPage


def deployed_model_name(model_name: str, suffix: str | None) -> str:
    """The name a deployment of ``model_name`` usually gets: the model name, with ``-<suffix>`` when one is given.

    Some plans add a suffix of their own; a deployment is always found by the ``deployed_model`` its create answer
    gives.
    """
    return f"{model_name}-{suffix}" if suffix else model_name


def create_deployment_request(
    model_name: str,
    *,
    capacity: int = 1,
    plan: str | None = None,
    suffix: str | None = None,
    api_fields: Mapping[str, Any] | None = None,
) -> ApiRequest:
    """``POST /deployments``; not idempotent (a deployment is paid for), so retried only when the API did not act."""
    body: dict[str, Any] = {"model_name": validate_model_name(model_name), "capacity": check_capacity(capacity)}
    optional = {"suffix": check_suffix(suffix), "plan": check_plan(plan)}
    body.update({key: value for key, value in optional.items() if value is not None})
    body.update(check_api_fields(api_fields))
    return ApiRequest("POST", "/deployments", body=body, idempotent=False)


def _deployment_request(method: str, deployed_model: str, suffix: str = "", **kwargs: Any) -> ApiRequest:
    path = f"/deployments/{path_segment(validate_deployed_model(deployed_model))}{suffix}"
    return ApiRequest(method, path, resource_key="deployed_model", resource_id=deployed_model, **kwargs)


def get_deployment_request(deployed_model: str) -> ApiRequest:
    return _deployment_request("GET", deployed_model)


def delete_deployment_request(deployed_model: str) -> ApiRequest:
    return _deployment_request("DELETE", deployed_model)


def scale_deployment_request(deployed_model: str, capacity: int) -> ApiRequest:
    """``PUT /deployments/{deployed_model}/scale``; retried only when the API did not act (a second scale of an
    UPDATING deployment is refused)."""
    body = {"deployed_model": deployed_model, "capacity": check_capacity(capacity)}
    return _deployment_request("PUT", deployed_model, "/scale", body=body, idempotent=False)


def list_deployments_request(page_no: int = 1, page_size: int = 50) -> ApiRequest:
    params = {"page_no": check_int("page_no", page_no, 1), "page_size": check_int("page_size", page_size, 1, 200)}
    return ApiRequest("GET", "/deployments", params=params)


def parse_deployment(output: Any, request_id: str | None, config: ClientConfig) -> Deployment:
    from airflow_provider_dashscope.models import Deployment  # at run time only: a DAG file never loads models

    return Deployment.from_api(output, request_id, time_zone=config.time_zone)


def parse_page(output: Any, request_id: str | None, config: ClientConfig) -> DeploymentPage:
    from airflow_provider_dashscope.models import DeploymentPage

    return DeploymentPage.from_api(output, request_id, time_zone=config.time_zone)


def deletion_parser(deployed_model: str) -> Callable[[Any, str | None, ClientConfig], Deployment]:
    """The parser of a delete answer: the deployment, ``DELETING``. The SDK reads only a ``status`` from it, so an
    answer without the name or the status is completed from the request (``deployed_model``, ``DELETING``)."""

    def parse(output: Any, request_id: str | None, config: ClientConfig) -> Deployment:
        from airflow_provider_dashscope.models import Deployment

        if isinstance(output, Mapping):
            output = {"deployed_model": deployed_model, "status": "DELETING", **output}
        return Deployment.from_api(output, request_id, time_zone=config.time_zone)

    return parse
