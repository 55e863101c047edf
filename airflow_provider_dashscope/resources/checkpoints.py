"""A fine-tune job's checkpoints (``/fine-tunes/{job_id}/checkpoints`` and ``/export``): requests and answers, no I/O.

The export is a ``GET`` with a side effect (it starts an export under the given name), so it is sent as a call
that is not idempotent: another attempt only when the API certainly did not act (a refused connection, 429).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_dashscope._checks.resources import (  # the argument checks, re-exported
    CHECKPOINT_HINT as CHECKPOINT_HINT,
    EXPORT_ID_HINT as EXPORT_ID_HINT,
    validate_checkpoint_name as validate_checkpoint_name,
    validate_export_id as validate_export_id,
    validate_export_model_name as validate_export_model_name,
    validate_job_id,
)
from airflow_provider_dashscope._http.api_request import ApiRequest, path_segment

if TYPE_CHECKING:
    from airflow_provider_dashscope._config import ClientConfig
    from airflow_provider_dashscope.models.checkpoints import Checkpoint


def list_checkpoints_request(job_id: str) -> ApiRequest:
    path = f"/fine-tunes/{path_segment(validate_job_id(job_id))}/checkpoints"
    return ApiRequest("GET", path, resource_key="job_id", resource_id=job_id)


def export_checkpoint_request(job_id: str, checkpoint: str, model_name: str) -> ApiRequest:
    """``GET /fine-tunes/{job_id}/export/{checkpoint}?model_name=``: starts an export (not idempotent)."""
    job = path_segment(validate_job_id(job_id))
    name = path_segment(validate_checkpoint_name(checkpoint))
    params = {"model_name": validate_export_model_name(model_name)}
    return ApiRequest(
        "GET",
        f"/fine-tunes/{job}/export/{name}",
        params=params,
        idempotent=False,
        resource_key="job_id",
        resource_id=job_id,
    )


def parse_checkpoints_for(job_id: str) -> Any:
    """The parser of a list answer, knowing which job it is about (for the errors)."""

    def parse(output: Any, request_id: str | None, config: ClientConfig) -> tuple[Checkpoint, ...]:
        from airflow_provider_dashscope.models.checkpoints import parse_checkpoints

        return parse_checkpoints(output, request_id, job_id=job_id, time_zone=config.time_zone)

    return parse


def parse_export(output: Any, request_id: str | None, config: ClientConfig) -> bool:
    """The export answer: ``output`` is ``true`` when the export started."""
    return output is True or (isinstance(output, str) and output.lower() == "true")
