"""The deployments resource (``/deployments``): requests to build and answers to parse, with no I/O.

The bodies are the official SDK's: create sends ``model_name`` and ``capacity`` first, then the optional fields;
scale sends ``deployed_model`` with the new ``capacity``. Arguments are checked here, before any request, with
the limits the API documents: ``capacity`` an integer from 1 to 999 (the API's message: "larger than or equal to 0
and multiples of 1 and less than 1000"; 0 serves nothing), ``suffix`` at most 8 characters (lower-case letters and
digits: it becomes part of the model's name).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from airflow_provider_dashscope._http.api_request import ApiRequest, check_int, path_segment, validate_path_id
from airflow_provider_dashscope.exceptions import DashScopeConfigError

if TYPE_CHECKING:
    from airflow_provider_dashscope._config import ClientConfig
    from airflow_provider_dashscope.models import Deployment, DeploymentPage

EXAMPLE_MODEL_NAME = "qwen3-14b-ft-202410291653-1c7f"
#: Capacity is less than this (the API refuses 1000 and more).
MAX_CAPACITY = 1000
_SUFFIX = re.compile(r"[a-z0-9]{1,8}")
#: Body fields with an argument of their own in :func:`create_deployment_request`.
_NAMED_FIELDS = frozenset({"model_name", "capacity", "plan", "suffix"})


DEPLOYED_MODEL_HINT = "pass the deployed_model the deploy call returned (DashScopeDeployModelOperator's XCom)"
MODEL_NAME_HINT = f"pass a base model id or a fine-tune job's finetuned_output, e.g. {EXAMPLE_MODEL_NAME!r}"


def validate_deployed_model(value: Any, *, field_name: str = "deployed_model") -> str:
    """Return ``value`` if it can name a deployment in a URL path, else raise a ``ValueError`` that shows it."""
    return validate_path_id(value, field_name=field_name, noun="deployed model name", hint=DEPLOYED_MODEL_HINT)


def validate_model_name(value: Any, *, field_name: str = "model_name") -> str:
    """A model to deploy: a base model id or a fine-tune's ``finetuned_output`` (it becomes a URL path segment)."""
    return validate_path_id(value, field_name=field_name, noun="model name", hint=MODEL_NAME_HINT)


def check_capacity(value: Any, *, field_name: str = "capacity") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value < MAX_CAPACITY:
        raise DashScopeConfigError(
            f"{field_name} must be a positive integer below {MAX_CAPACITY} (a multiple of the model's base "
            f"capacity, usually 1), got {value!r}"
        )
    return value


def check_suffix(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _SUFFIX.fullmatch(value):
        raise DashScopeConfigError(
            f"suffix must be 1 to 8 lower-case letters or digits (it is appended to the deployed model's name), "
            f"got {value!r}"
        )
    return value


def check_plan(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or value != value.strip():
        raise DashScopeConfigError(f"plan must be a plan name such as 'lora', 'mu' or 'ptu', or None; got {value!r}")
    return value


def check_api_fields(fields: Any) -> dict[str, Any]:
    """Extra body fields (``deploy_spec``, ``billing_method``...): a dict that does not repeat a named argument."""
    if fields is None:
        return {}
    if not isinstance(fields, Mapping) or not all(isinstance(key, str) for key in fields):
        raise DashScopeConfigError(f"api_fields must be a dict of body fields, got {type(fields).__name__}")
    clash = sorted(_NAMED_FIELDS & set(fields))
    if clash:
        raise DashScopeConfigError(f"api_fields repeats {', '.join(clash)}; pass them as arguments of their own")
    return dict(fields)


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
