"""A fine-tune job's checkpoints (``/fine-tunes/{job_id}/checkpoints`` and ``/export``): requests and answers, no I/O.

The export is a ``GET`` with a side effect (it starts an export under the given name), so it is sent as a call
that is not idempotent: another attempt only when the API certainly did not act (a refused connection, 429).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from airflow_provider_dashscope._http.api_request import ApiRequest, path_segment
from airflow_provider_dashscope.exceptions import DashScopeConfigError
from airflow_provider_dashscope.resources.fine_tunes import validate_job_id

if TYPE_CHECKING:
    from airflow_provider_dashscope._config import ClientConfig
    from airflow_provider_dashscope.models.checkpoints import Checkpoint

#: A checkpoint's name as the API lists it: ``checkpoint-`` and digits (``checkpoint-00040004``).
_CHECKPOINT = re.compile(r"checkpoint-[A-Za-z0-9_.]{1,64}")
#: A model name the export accepts: letters, digits, ``-``, ``_`` and ``.``, at most 128 characters.
_MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
CHECKPOINT_HINT = "pass a name the job's checkpoint list shows, e.g. 'checkpoint-160', or 'last' / 'best'"


def validate_checkpoint_name(value: Any, *, field_name: str = "checkpoint") -> str:
    """A checkpoint name (``checkpoint-<n>``), or an error naming the field and the fix."""
    if not isinstance(value, str) or not _CHECKPOINT.fullmatch(value):
        raise DashScopeConfigError(f"{field_name} {value!r} is not a checkpoint name; {CHECKPOINT_HINT}")
    return value


def validate_export_model_name(value: Any, *, field_name: str = "model_name") -> str:
    if not isinstance(value, str) or not _MODEL_NAME.fullmatch(value):
        raise DashScopeConfigError(
            f"{field_name} {value!r} is not a usable name for an exported model: use 1 to 128 letters, digits, "
            "'-', '_' or '.', starting with a letter or digit"
        )
    return value


EXPORT_ID_HINT = "an export id is '<job_id>:<checkpoint>', e.g. 'ft-202410291653-1c7f:checkpoint-160'"


def validate_export_id(value: Any) -> str:
    """``<job_id>:<checkpoint>`` (what a wait on an export is about), both parts checked."""
    if not isinstance(value, str) or ":" not in value:
        raise DashScopeConfigError(f"export_id {value!r} is not '<job_id>:<checkpoint>'; {EXPORT_ID_HINT}")
    job_id, _, checkpoint = value.rpartition(":")
    validate_job_id(job_id)
    validate_checkpoint_name(checkpoint)
    return value


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
