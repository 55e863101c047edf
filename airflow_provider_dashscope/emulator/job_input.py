"""What a client or a scenario may say about a job: the create request body and seed entries.

**Create body.** ``model`` and training files are required. ``training_file_ids`` may be a
string or a list (or be replaced by ``training_datasets``); ``validation_file_ids: null``
becomes ``[]``; ``hyper_parameters`` is echoed unchanged, value types included;
``training_type`` defaults to ``sft``; ``model_name`` is echoed; ``finetuned_output_suffix``
names the output model; a ``finetuned_output`` field (sent by 1.x SDKs) is ignored.

**Seed entries** (scenario files, ``POST /_emulator/jobs``, :meth:`EmulatorState.seed`) carry
job fields (:data:`SEED_FIELDS`) and life-cycle settings (:data:`~.jobs.SETTING_KEYS`);
anything else is refused, so a typo does not pass silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .config import EmulatorConfig
from .errors import invalid
from .jobs import SETTING_KEYS, Job, apply_settings

#: Job fields a seed entry may give.
SEED_FIELDS = frozenset(
    {
        "job_id",
        "job_name",
        "model",
        "base_model",
        "training_file_ids",
        "validation_file_ids",
        "training_datasets",
        "validation_datasets",
        "hyper_parameters",
        "training_type",
        "create_time",
        "workspace_id",
        "model_name",
        "extra",
    }
)
SEED_KEYS = SEED_FIELDS | SETTING_KEYS


@dataclass
class CreateRequest:
    """A validated ``POST /fine-tunes`` body."""

    model: str
    training_file_ids: list[str]
    validation_file_ids: list[str]
    training_datasets: list[Any] | None
    validation_datasets: list[Any] | None
    hyper_parameters: dict[str, Any] = field(default_factory=dict)
    training_type: str = "sft"
    job_name: str | None = None
    model_name: str | None = None
    suffix: str | None = None


def as_id_list(value: Any, name: str) -> list[Any]:
    """A file-id field as a list: ``None`` -> ``[]``, a string -> ``[string]``."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return list(value)
    raise invalid(f"Invalid {name}: must be a list")


def parse_create_body(body: Any) -> CreateRequest:
    if not isinstance(body, dict):
        raise invalid("Request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise invalid("Missing model")
    training = as_id_list(body.get("training_file_ids"), "training_file_ids")
    datasets = body.get("training_datasets")
    if datasets is not None and not isinstance(datasets, list):
        raise invalid("Invalid training_datasets: must be a list")
    if not training and not datasets:
        raise invalid("Missing training files")
    if not all(isinstance(x, str) and x for x in training):
        raise invalid("Invalid training_file_ids: must be a list of file ids")
    validation = as_id_list(body.get("validation_file_ids"), "validation_file_ids")
    hyper = body.get("hyper_parameters")
    if hyper is None:
        hyper = {}
    if not isinstance(hyper, dict):
        raise invalid("Invalid hyper_parameters: must be an object")
    training_type = body.get("training_type") or "sft"
    if not isinstance(training_type, str):
        raise invalid("Invalid training_type")
    job_name = body.get("job_name")
    if job_name is not None and not isinstance(job_name, str):
        raise invalid("Invalid job_name")
    model_name = body.get("model_name")
    suffix = body.get("finetuned_output_suffix")
    return CreateRequest(
        model=model,
        training_file_ids=training,
        validation_file_ids=validation,
        training_datasets=datasets,
        validation_datasets=body.get("validation_datasets"),
        hyper_parameters=hyper,
        training_type=training_type,
        job_name=job_name or None,
        model_name=model_name if isinstance(model_name, str) else None,
        suffix=suffix if isinstance(suffix, str) and suffix else None,
    )


def check_seed_entry(spec: Any) -> dict[str, Any]:
    """A seed entry after the checks every entry must pass (an object with a model, known keys)."""
    if not isinstance(spec, dict):
        raise TypeError("each seeded job must be an object")
    unknown = set(spec) - SEED_KEYS
    if unknown:
        raise ValueError(f"unknown seed keys: {sorted(unknown)}")
    if not spec.get("model"):
        raise ValueError("a seeded job needs a model")
    return spec


def check_plan(settings: Any) -> dict[str, Any]:
    """A plan (settings for the next created job) after checking its keys and values."""
    if not isinstance(settings, dict):
        raise TypeError("a plan must be an object of job settings")
    unknown = set(settings) - SETTING_KEYS
    if unknown:
        raise ValueError(f"unknown job settings: {sorted(unknown)}")
    if settings.get("pin") and settings.get("status") is None:
        raise ValueError("'pin' needs a 'status' to pin")
    apply_settings(Job("ft-plan", "", "", "", 0.0, 0), settings)  # raises on a bad outcome or duration
    return dict(settings)


def default_settings(config: EmulatorConfig) -> dict[str, Any]:
    """The life-cycle settings a job gets from the emulator's configuration."""
    return {
        "pending_seconds": config.pending_seconds,
        "running_seconds": config.running_seconds,
        "canceling_seconds": config.canceling_seconds,
        "outcome": config.default_outcome,
        "failure_code": config.failure_code,
        "failure_message": config.failure_message,
    }


def job_from_request(
    request: CreateRequest, job_id: str, seq: int, now: float, workspace: str | None, config: EmulatorConfig
) -> Job:
    """The record of a job created through the API (before profiles and plans apply)."""
    return Job(
        job_id=job_id,
        job_name=request.job_name or job_id,
        model=request.model,
        base_model=request.model,
        created=now,
        seq=seq,
        training_file_ids=request.training_file_ids,
        validation_file_ids=request.validation_file_ids,
        training_datasets=request.training_datasets,
        validation_datasets=request.validation_datasets,
        hyper_parameters=request.hyper_parameters,
        training_type=request.training_type,
        workspace_id=workspace or config.workspace_id,
        model_name=request.model_name,
        suffix=request.suffix,
        **default_settings(config),
    )


def job_from_seed(spec: dict[str, Any], job_id: str, seq: int, created: float, config: EmulatorConfig) -> Job:
    """The record of a seeded job, its settings applied (not yet started: see :func:`.jobs.start`)."""
    model = spec["model"]
    job = Job(
        job_id=job_id,
        job_name=spec.get("job_name") or job_id,
        model=model,
        base_model=spec.get("base_model") or model,
        created=created,
        seq=seq,
        training_file_ids=as_id_list(spec.get("training_file_ids", ["file-emulator-seed"]), "training"),
        validation_file_ids=as_id_list(spec.get("validation_file_ids"), "validation"),
        training_datasets=spec.get("training_datasets"),
        validation_datasets=spec.get("validation_datasets"),
        hyper_parameters=dict(spec.get("hyper_parameters") or {}),
        training_type=spec.get("training_type") or "sft",
        workspace_id=spec.get("workspace_id") or config.workspace_id,
        model_name=spec.get("model_name"),
        extra=dict(spec.get("extra") or {}),
        **default_settings(config),
    )
    apply_settings(job, spec)
    return job
