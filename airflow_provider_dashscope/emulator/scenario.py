"""Scenario files: the jobs (and faults) an emulator starts with.

A scenario is a JSON list of jobs, or an object ``{"jobs": [...], "faults": [...]}``. Each job
is a seed entry whose keys are described by :data:`JOB_SCHEMA` (the CLI help and the docs
print the same table). A restarted emulator with a state file keeps its jobs: entries whose
``job_id`` it already has are skipped.
"""

from __future__ import annotations

import json
import textwrap
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
)


@dataclass
class Scenario:
    jobs: list[dict[str, Any]] = field(default_factory=list)
    faults: list[Any] = field(default_factory=list)


def parse(data: Any) -> Scenario:
    if isinstance(data, list):
        return Scenario(jobs=data)
    if isinstance(data, dict):
        unknown = set(data) - {"jobs", "faults"}
        if unknown:
            raise ValueError(f"unknown scenario keys: {sorted(unknown)} (expected 'jobs', 'faults')")
        return Scenario(jobs=list(data.get("jobs", [])), faults=list(data.get("faults", [])))
    raise ValueError("a scenario must be a JSON list of jobs or an object with 'jobs'/'faults'")


def load(path: str) -> Scenario:
    with open(path, encoding="utf-8") as fh:
        return parse(json.load(fh))


def apply(state: EmulatorState, scenario: Scenario) -> None:
    """Seed the scenario's jobs (those the state does not have yet) and add its faults."""
    existing = set(state.job_ids())
    new_jobs = [j for j in scenario.jobs if not (isinstance(j, dict) and j.get("job_id") in existing)]
    if new_jobs:
        state.seed(new_jobs)
    for fault in scenario.faults:
        state.faults.add(fault)


def schema_text(indent: str = "  ", width: int = 100) -> str:
    """The job schema as aligned, wrapped plain text (for ``--help``)."""
    key_width = max(len(key) for key, _, _ in JOB_SCHEMA)
    hang = indent + " " * (key_width + 2)
    lines = []
    for key, kind, meaning in JOB_SCHEMA:
        first = f"{indent}{key:<{key_width}}  "
        lines.append(textwrap.fill(f"{kind}: {meaning}", width, initial_indent=first, subsequent_indent=hang))
    return "\n".join(lines)
