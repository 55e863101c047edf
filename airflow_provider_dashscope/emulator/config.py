"""Settings of one emulator (one DashScope account).

* **Clock.** Every time comes from one injectable clock, a callable returning epoch seconds
  (default :func:`time.time`; tests pass a :class:`~.testing.FakeClock`). Every duration
  below is in seconds of that clock.
* **Zone.** Times are rendered in one fixed zone, ``tz_offset_hours`` east of UTC (default
  +8, Beijing time, which the job ids and times of the real service suggest).
* **Auth.** With ``api_key=None`` any non-empty bearer token is accepted; a missing one is
  still a 401.
* **Workspace.** ``workspace_id`` is the default ``workspace_id`` of new jobs; the
  ``X-DashScope-WorkSpace`` header of a create request overrides it for that job. Reads are
  not filtered by workspace.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timezone
from typing import Any

from .times import zone

#: Outcomes a job may be given (``CANCELED`` = canceled by someone else at the end of its run).
OUTCOMES = frozenset({"SUCCEEDED", "FAILED", "CANCELED"})

#: Models a deployment may name besides the outputs of SUCCEEDED jobs.
DEFAULT_DEPLOYABLE_MODELS = ("qwen3-14b", "qwen3-8b", "qwen-plus", "qwen-turbo", "qwen2.5-7b-instruct")
MIB = 1024 * 1024

DEFAULT_FAILURE_CODE = "TrainingFailed"
DEFAULT_FAILURE_MESSAGE = "The fine-tuning job failed during training."


_DURATIONS = (
    "pending_seconds",
    "running_seconds",
    "canceling_seconds",
    "deploy_pending_seconds",
    "deploying_seconds",
    "updating_seconds",
    "deleting_seconds",
)


@dataclass
class EmulatorConfig:
    """Global settings. Every duration is in (clock) seconds."""

    api_key: str | None = None
    #: Job life cycle: seconds PENDING, RUNNING and CANCELING (QUEUING lasts as long as the slot is busy).
    pending_seconds: float = 2.0
    running_seconds: float = 10.0
    canceling_seconds: float = 2.0
    #: ``usage`` of a SUCCEEDED job is ``tokens_per_second * running_seconds``.
    tokens_per_second: float = 1000.0
    #: Seconds of training per synthesized training-log line.
    log_interval_seconds: float = 1.0
    #: Create answers 429 once this many jobs are PENDING, QUEUING, RUNNING or SUCCEEDED.
    quota: int = 20
    tz_offset_hours: float = 8.0
    workspace_id: str = "llm-emulator"
    user_id: str = "1000000000000001"
    default_outcome: str = "SUCCEEDED"
    failure_code: str = DEFAULT_FAILURE_CODE
    failure_message: str = DEFAULT_FAILURE_MESSAGE
    #: model name -> job settings applied to jobs created for that model
    #: (e.g. {"qwen-bad": {"outcome": "FAILED"}}).
    model_profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Files: job creation refuses training/validation file ids that are not uploaded files.
    strict_file_ids: bool = False
    #: Files: largest upload (300 MiB, the fine-tune limit), storage of all files (100 GiB), number of files.
    max_file_bytes: int = 300 * MIB
    max_storage_bytes: int = 100 * 1024 * MIB
    max_files: int = 10_000
    #: Deployments: seconds PENDING and DEPLOYING after create, UPDATING after a scale, DELETING after a delete.
    deploy_pending_seconds: float = 1.0
    deploying_seconds: float = 3.0
    updating_seconds: float = 2.0
    deleting_seconds: float = 1.0
    #: Deployments: base models that exist (a SUCCEEDED job's finetuned_output exists too).
    deployable_models: tuple[str, ...] = DEFAULT_DEPLOYABLE_MODELS
    #: Persist the state to this JSON file after every change and load it at start.
    state_file: str | None = None
    #: Seed of the random parts of ids (job id suffixes), for reproducible runs.
    random_seed: int | None = None
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        for name in _DURATIONS:
            value = float(getattr(self, name))
            if value < 0:
                raise ValueError(f"{name} must be >= 0")
            setattr(self, name, value)
        if self.log_interval_seconds <= 0:
            raise ValueError("log_interval_seconds must be > 0")
        if self.quota < 0:
            raise ValueError("quota must be >= 0")
        for name in ("max_file_bytes", "max_storage_bytes", "max_files"):
            if int(getattr(self, name)) < 0:
                raise ValueError(f"{name} must be >= 0")
        self.deployable_models = tuple(self.deployable_models)
        self.default_outcome = self.default_outcome.upper()
        if self.default_outcome not in OUTCOMES:
            raise ValueError(f"default_outcome must be one of {sorted(OUTCOMES)}")

    @property
    def tz(self) -> timezone:
        return zone(self.tz_offset_hours)
