"""Checks of the arguments of each resource's calls: ids, a deployment's capacity, suffix and plan, a file's purpose
and description, a checkpoint's name and its export's.

A DAG file runs these when it builds a task (on literal values; templates are checked when the task runs), so they
live apart from the request builders in :mod:`airflow_provider_dashscope.resources`, which load when a task runs:
this module imports nothing but :mod:`.arguments`. The resources modules re-export them.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

from airflow_provider_dashscope._checks.arguments import config_error, validate_path_id

# --------------------------------------------------------------------------------------------------- fine-tunes
EXAMPLE_JOB_ID = "ft-202410291653-1c7f"
#: Where a good job id comes from (the end of every job id error).
JOB_ID_HINT = f"pass the id the create call returned, e.g. {EXAMPLE_JOB_ID!r}"


def validate_job_id(job_id: Any, *, field_name: str = "job_id") -> str:
    """Return ``job_id`` if it can safely go into a URL path, else raise a ``ValueError`` that shows it."""
    return validate_path_id(job_id, field_name=field_name, noun="job id", hint=JOB_ID_HINT)


# -------------------------------------------------------------------------------------------------- deployments
EXAMPLE_MODEL_NAME = "qwen3-14b-ft-202410291653-1c7f"
#: Capacity is less than this (the API refuses 1000 and more).
MAX_CAPACITY = 1000
#: A suffix is 1 to 8 of these (checked with ``str.strip``: a DAG file runs it, a regular expression costs more).
_SUFFIX_CHARS = string.ascii_lowercase + string.digits
#: Body fields with an argument of their own in a create-deployment request.
NAMED_DEPLOYMENT_FIELDS = frozenset({"model_name", "capacity", "plan", "suffix"})

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
        raise config_error(
            f"{field_name} must be a positive integer below {MAX_CAPACITY} (a multiple of the model's base "
            f"capacity, usually 1), got {value!r}"
        )
    return value


def check_suffix(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not 1 <= len(value) <= 8 or value.strip(_SUFFIX_CHARS):
        raise config_error(
            f"suffix must be 1 to 8 lower-case letters or digits (it is appended to the deployed model's name), "
            f"got {value!r}"
        )
    return value


def check_plan(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or value != value.strip():
        raise config_error(f"plan must be a plan name such as 'lora', 'mu' or 'ptu', or None; got {value!r}")
    return value


def check_api_fields(fields: Any) -> dict[str, Any]:
    """Extra body fields (``deploy_spec``, ``billing_method``...): a dict that does not repeat a named argument."""
    if fields is None:
        return {}
    if not isinstance(fields, Mapping) or not all(isinstance(key, str) for key in fields):
        raise config_error(f"api_fields must be a dict of body fields, got {type(fields).__name__}")
    clash = sorted(NAMED_DEPLOYMENT_FIELDS & set(fields))
    if clash:
        raise config_error(f"api_fields repeats {', '.join(clash)}; pass them as arguments of their own")
    return dict(fields)


# -------------------------------------------------------------------------------------------------------- files
MIB = 1024 * 1024
#: The largest file the upload API takes, per ``purpose``.
MAX_FILE_BYTES: dict[str, int] = {"fine-tune": 300 * MIB, "file-extract": 150 * MIB, "batch": 500 * MIB}
PURPOSES = tuple(MAX_FILE_BYTES)


def check_purpose(purpose: Any) -> str:
    if purpose not in MAX_FILE_BYTES:
        raise config_error(
            f"purpose must be one of {', '.join(repr(p) for p in PURPOSES)} (the upload API's values), got {purpose!r}"
        )
    return str(purpose)


def check_description(description: Any) -> str | None:
    if description is not None and not isinstance(description, str):
        raise config_error(f"description must be a string or None, got {type(description).__name__}")
    return description


# -------------------------------------------------------------------------------------------------- checkpoints
#: A checkpoint's name is ``checkpoint-`` and 1 to 64 of these (``checkpoint-00040004``).
_CHECKPOINT_CHARS = string.ascii_letters + string.digits + "_."
#: An exported model's name: 1 to 128 of these, the first a letter or a digit.
_EXPORT_NAME_CHARS = _CHECKPOINT_CHARS + "-"
CHECKPOINT_HINT = "pass a name the job's checkpoint list shows, e.g. 'checkpoint-160', or 'last' / 'best'"
EXPORT_ID_HINT = "an export id is '<job_id>:<checkpoint>', e.g. 'ft-202410291653-1c7f:checkpoint-160'"
#: An evaluation metric's name: one of the first, then up to 63 of the second (``eval_loss``).
_METRIC_FIRST = string.ascii_letters + "_"
_METRIC_CHARS = _METRIC_FIRST + string.digits


def validate_checkpoint_name(value: Any, *, field_name: str = "checkpoint") -> str:
    """A checkpoint name (``checkpoint-<n>``), or an error naming the field and the fix."""
    prefix = "checkpoint-"
    rest = value[len(prefix) :] if isinstance(value, str) and value.startswith(prefix) else ""
    if not 1 <= len(rest) <= 64 or rest.strip(_CHECKPOINT_CHARS):
        raise config_error(f"{field_name} {value!r} is not a checkpoint name; {CHECKPOINT_HINT}")
    return value


def validate_export_model_name(value: Any, *, field_name: str = "model_name") -> str:
    if (
        not isinstance(value, str)
        or not 1 <= len(value) <= 128
        or not (value[0].isascii() and value[0].isalnum())
        or value.strip(_EXPORT_NAME_CHARS)
    ):
        raise config_error(
            f"{field_name} {value!r} is not a usable name for an exported model: use 1 to 128 letters, digits, "
            "'-', '_' or '.', starting with a letter or digit"
        )
    return value


def validate_export_id(value: Any) -> str:
    """``<job_id>:<checkpoint>`` (what a wait on an export is about), both parts checked."""
    if not isinstance(value, str) or ":" not in value:
        raise config_error(f"export_id {value!r} is not '<job_id>:<checkpoint>'; {EXPORT_ID_HINT}")
    job_id, _, checkpoint = value.rpartition(":")
    validate_job_id(job_id)
    validate_checkpoint_name(checkpoint)
    return value


def check_metric(metric: Any) -> str:
    """An evaluation metric's name as the training log writes it: a letter or ``_``, then letters, digits, ``_``."""
    if (
        not isinstance(metric, str)
        or not 1 <= len(metric) <= 64
        or metric[0] not in _METRIC_FIRST
        or metric.strip(_METRIC_CHARS)
    ):
        raise config_error(f"metric must be a metric name such as 'eval_loss', got {metric!r}")
    return metric
