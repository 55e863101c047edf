"""Scenario files: the jobs, files, deployments and faults an emulator starts with.

A scenario is a JSON list of jobs, or an object ``{"jobs": [...], "files": [...],
"deployments": [...], "faults": [...]}``. Each job is a seed entry whose keys are described by
:data:`JOB_SCHEMA`, files by :data:`FILE_SCHEMA`, deployments by :data:`DEPLOYMENT_SCHEMA` (the
CLI help and the docs print the same tables). A restarted emulator with a state file keeps
what it had: entries whose ``job_id``, ``file_id`` or ``deployed_model`` it already has are
skipped.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .store import EmulatorState

_STATUS_MEANING = (
    "the status the job starts in at seed time: from PENDING, QUEUING, RUNNING or CANCELING it then follows "
    "its life cycle with its durations; SUCCEEDED, FAILED or CANCELED are its end state; any other status "
    "(e.g. PAUSED) is pinned"
)

#: (key, type, meaning) of every key a scenario job may carry.
JOB_SCHEMA: tuple[tuple[str, str, str], ...] = (
    ("model", "string, required", "the model trained (echoed as model)"),
    ("job_id", "string", "default ft-{yyyyMMddHHmm}-{4 hex} of create_time"),
    ("job_name", "string", "default the job id"),
    ("base_model", "string", "default model"),
    ("create_time", "string or number", "'YYYY-MM-DD HH:MM:SS' in the emulator zone, or epoch seconds; default now"),
    ("status", "string", _STATUS_MEANING),
    ("pin", "bool", "keep status forever (a pinned job takes no training slot)"),
    ("outcome", "string", "how the run ends: SUCCEEDED, FAILED or CANCELED (default --outcome)"),
    ("pending_seconds", "number", "seconds PENDING (default --pending-seconds)"),
    ("running_seconds", "number", "seconds RUNNING (default --running-seconds)"),
    ("canceling_seconds", "number", "seconds CANCELING (default --canceling-seconds)"),
    ("durations", "object", "the three durations above in one object (keys with or without _seconds)"),
    (
        "usage",
        "integer",
        "tokens of a SUCCEEDED job (default tokens-per-second x running_seconds), or of a job seeded as CANCELED",
    ),
    ("failure_code", "string", "code of a FAILED job (alias code; default TrainingFailed)"),
    ("failure_message", "string", "message of a FAILED job (alias message)"),
    ("finetuned_output", "string", "default {model}[-{finetuned_output_suffix}]-{job_id}"),
    ("finetuned_output_suffix", "string", "the suffix in finetuned_output"),
    ("end_time", "string", "end_time shown once the job is terminal (default computed)"),
    ("training_file_ids", "list of strings", 'default ["file-emulator-seed"]'),
    ("validation_file_ids", "list of strings", "default []"),
    ("training_datasets", "list", "echoed"),
    ("validation_datasets", "list", "echoed"),
    ("hyper_parameters", "object", "echoed, value types included"),
    ("training_type", "string", "default sft"),
    ("workspace_id", "string", "default --workspace-id"),
    ("model_name", "string", "echoed"),
    ("extra", "object", "more fields merged into the job object"),
    (
        "eval_losses",
        "list of numbers",
        "the eval_loss of each checkpoint, oldest first, in the evaluation lines of a job with validation files "
        "(default: a curve that falls, then rises in the last epochs)",
    ),
    ("export_outcome", "string", "how an export of its checkpoints ends: SUCCEEDED (default), FAILED or UNSUPPORTED"),
    ("export_seconds", "number", "seconds an export takes: PENDING the first half, PROCESSING the second (default 2)"),
)


FILE_SCHEMA: tuple[tuple[str, str, str], ...] = (
    ("name", "string, required", "the file name"),
    ("file_id", "string", "default a new id"),
    ("description", "string", 'default ""'),
    ("purpose", "string", "default fine-tune"),
    ("content", "string", "text whose size and MD5 the file gets (default empty)"),
    ("size", "integer", "bytes (default the size of content)"),
    ("md5", "string", "hex MD5 (default that of content)"),
    ("gmt_create", "string or number", "upload time, like create_time; default now"),
)

_DEPLOYMENT_STATUS_MEANING = (
    "the status it starts in: from PENDING, DEPLOYING, UPDATING or DELETING it follows its life cycle; "
    "RUNNING and FAILED stay; any other status is pinned"
)

DEPLOYMENT_SCHEMA: tuple[tuple[str, str, str], ...] = (
    ("model_name", "string, required", "the deployed model (not checked against known models)"),
    ("suffix", "string", "deployed_model is model_name-suffix"),
    ("deployed_model", "string", "default model_name[-suffix]"),
    ("capacity", "integer", "default 1"),
    ("plan", "string", "echoed (default null)"),
    ("base_model", "string", "default the job's base model for a fine-tuned output, else model_name"),
    ("status", "string", _DEPLOYMENT_STATUS_MEANING),
    ("pin", "bool", "keep status forever"),
    ("outcome", "string", "how deploying ends: RUNNING or FAILED (default RUNNING)"),
    ("pending_seconds", "number", "seconds PENDING (default --deploy-pending-seconds)"),
    ("deploying_seconds", "number", "seconds DEPLOYING (default --deploying-seconds)"),
    ("updating_seconds", "number", "seconds UPDATING after a scale (default --updating-seconds)"),
    ("deleting_seconds", "number", "seconds DELETING after a delete (default --deleting-seconds)"),
    ("workspace_id", "string", "default --workspace-id"),
    ("gmt_create", "string or number", "ISO time or epoch seconds; default now"),
    ("extra", "object", "more fields merged into the deployment object"),
)

_SECTIONS = ("jobs", "files", "deployments", "faults")


@dataclass
class Scenario:
    jobs: list[dict[str, Any]] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)
    deployments: list[dict[str, Any]] = field(default_factory=list)
    faults: list[Any] = field(default_factory=list)


def parse(data: Any) -> Scenario:
    if isinstance(data, list):
        return Scenario(jobs=data)
    if isinstance(data, dict):
        unknown = set(data) - set(_SECTIONS)
        if unknown:
            raise ValueError(f"unknown scenario keys: {sorted(unknown)} (expected {', '.join(_SECTIONS)})")
        return Scenario(**{key: list(data.get(key) or []) for key in _SECTIONS})
    raise ValueError("a scenario must be a JSON list of jobs or an object with " + "/".join(_SECTIONS))


def load(path: str) -> Scenario:
    with open(path, encoding="utf-8") as fh:
        return parse(json.load(fh))


def _new(entries: list[Any], key: str, existing: Iterable[str]) -> list[Any]:
    have = set(existing)
    return [e for e in entries if not (isinstance(e, dict) and e.get(key) in have)]


def apply(state: EmulatorState, scenario: Scenario) -> None:
    """Seed what the state does not have yet (files first, then jobs, then deployments) and add the faults."""
    files = _new(scenario.files, "file_id", state.files.names())
    if files:
        state.files.seed(files)
    jobs = _new(scenario.jobs, "job_id", state.job_ids())
    if jobs:
        state.seed(jobs)
    deployments = _new(scenario.deployments, "deployed_model", state.deployments.names())
    if deployments:
        state.deployments.seed(deployments)
    for fault in scenario.faults:
        state.faults.add(fault)


def schema_text(schema: tuple[tuple[str, str, str], ...] = JOB_SCHEMA, indent: str = "  ", width: int = 100) -> str:
    """A schema as aligned, wrapped plain text (for ``--help``)."""
    key_width = max(len(key) for key, _, _ in JOB_SCHEMA)
    hang = indent + " " * (key_width + 2)
    lines = []
    for key, kind, meaning in schema:
        first = f"{indent}{key:<{key_width}}  "
        lines.append(textwrap.fill(f"{kind}: {meaning}", width, initial_indent=first, subsequent_indent=hang))
    return "\n".join(lines)
