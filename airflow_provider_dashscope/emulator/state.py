"""In-memory model of one DashScope account's fine-tuning jobs (no I/O besides the optional state file).

Rules chosen by the emulator where the public reference is silent or contradictory:

* **Clock and zone.** Every time comes from one injectable clock (a callable returning
  epoch seconds, default :func:`time.time`). ``job_id`` (``ft-{yyyyMMddHHmm}-{4 hex}``),
  ``create_time``, ``end_time`` and log timestamps are rendered in one fixed zone,
  ``tz_offset_hours`` (default +8, i.e. Beijing time, the likely real behaviour), as
  ``YYYY-MM-DD HH:MM:SS`` without a zone suffix.
* **Life cycle (lazy, no background task).** A job is ``PENDING`` for ``pending_seconds``
  after creation; it is then ready. Only one job of the account trains at a time: a
  job's run slot starts at ``max(ready time, end of the previous job's slot)`` in creation
  order, and it is ``QUEUING`` in between. It is ``RUNNING`` for ``running_seconds``,
  then takes its ``outcome`` (``SUCCEEDED``, ``FAILED``; ``CANCELED`` means "canceled by
  someone else at the end of the run": ``CANCELING`` for ``canceling_seconds`` first).
  The schedule is computed when jobs change (create/cancel/seed/delete) and frozen for
  jobs that already started, so statuses never go backwards.
* **Cancel.** Allowed for every non-terminal status (including pinned unknown ones, which
  a cancel un-pins): the job becomes ``CANCELING`` for ``canceling_seconds`` then
  ``CANCELED``. A job canceled before its run slot began never trains, frees no slot and
  has ``usage`` 0; a running job keeps the slot until it is ``CANCELED`` and its usage is
  the tokens consumed so far. Cancel of a terminal job is a 400 ``UnsupportedOperation``.
* **Delete.** Only terminal jobs (SUCCEEDED, FAILED, CANCELED) can be deleted; deleting
  a PENDING/QUEUING/RUNNING/CANCELING (or pinned non-terminal) job is a 400
  ``UnsupportedOperation``. (The reference's message reads as if terminal jobs could not
  be deleted, but its 429 advice is to delete old jobs, so the emulator allows that.)
* **Quota.** Create is refused with 429 ``Throttling`` when the number of jobs in
  PENDING, QUEUING, RUNNING or SUCCEEDED is ``>= quota`` (default 20). FAILED, CANCELING
  and CANCELED jobs do not count. The quota is per emulator (one account), not per
  workspace.
* **Usage.** ``tokens_per_second * running_seconds`` (or the seeded ``usage``) for a
  SUCCEEDED job; a CANCELED job gets the same rate times the seconds it actually ran
  (int, may be 0); FAILED jobs have no usage.
* **Auth.** With ``api_key=None`` any non-empty bearer token is accepted (a missing one
  is still a 401).
* **Workspace.** ``X-DashScope-WorkSpace`` on create sets the job's ``workspace_id``;
  reads are not filtered by workspace.
* **Create body.** ``training_file_ids`` may be a string or a list (or be replaced by
  ``training_datasets``); ``validation_file_ids: null`` becomes ``[]``;
  ``hyper_parameters`` is echoed unchanged; ``finetuned_output_suffix`` gives
  ``finetuned_output = {model}-{suffix}-{job_id}`` (else ``{model}-{job_id}``);
  ``model_name`` is echoed; a 1.x-SDK ``finetuned_output`` field is ignored.
  ``finetuned_output`` appears only once the job is SUCCEEDED.
* **Pinned jobs.** A seeded ``status`` pins a job forever and it takes no training slot.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import random
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable

from .faults import FaultSet

TERMINAL = frozenset({"SUCCEEDED", "FAILED", "CANCELED"})
KNOWN_STATUSES = frozenset({"PENDING", "QUEUING", "RUNNING", "CANCELING"}) | TERMINAL
OUTCOMES = frozenset({"SUCCEEDED", "FAILED", "CANCELED"})
QUOTA_STATUSES = frozenset({"PENDING", "QUEUING", "RUNNING", "SUCCEEDED"})

DEFAULT_FAILURE_CODE = "TrainingFailed"
DEFAULT_FAILURE_MESSAGE = "The fine-tuning job failed during training."
MAX_LOG_STEPS = 100_000


class ApiError(Exception):
    """A DashScope error to be rendered as ``{request_id, code, message}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def not_found() -> ApiError:
    return ApiError(404, "NotFound", "Not found!")


def invalid(message: str) -> ApiError:
    return ApiError(400, "InvalidParameter", message)


@dataclass
class EmulatorConfig:
    """Global settings. Every duration is in (clock) seconds."""

    api_key: str | None = None
    pending_seconds: float = 2.0
    running_seconds: float = 10.0
    canceling_seconds: float = 2.0
    tokens_per_second: float = 1000.0
    log_interval_seconds: float = 1.0
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
    state_file: str | None = None
    random_seed: int | None = None
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        for name in ("pending_seconds", "running_seconds", "canceling_seconds"):
            if float(getattr(self, name)) < 0:
                raise ValueError(f"{name} must be >= 0")
            setattr(self, name, float(getattr(self, name)))
        if self.log_interval_seconds <= 0:
            raise ValueError("log_interval_seconds must be > 0")
        if self.quota < 0:
            raise ValueError("quota must be >= 0")
        self.default_outcome = self.default_outcome.upper()
        if self.default_outcome not in OUTCOMES:
            raise ValueError(f"default_outcome must be one of {sorted(OUTCOMES)}")

    @property
    def tz(self) -> timezone:
        return timezone(timedelta(hours=self.tz_offset_hours))


#: Settings a seed entry / profile / plan may carry besides the echoed job fields.
_JOB_SETTING_KEYS = {
    "outcome",
    "pending_seconds",
    "running_seconds",
    "canceling_seconds",
    "usage",
    "failure_code",
    "failure_message",
    "code",
    "message",
    "status",
    "finetuned_output",
    "finetuned_output_suffix",
    "end_time",
}
_SEED_KEYS = _JOB_SETTING_KEYS | {
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
    "durations",
    "extra",
}


@dataclass
class Job:
    job_id: str
    job_name: str
    model: str
    base_model: str
    created: float
    seq: int
    training_file_ids: list[str] = field(default_factory=list)
    validation_file_ids: list[str] = field(default_factory=list)
    training_datasets: list[Any] | None = None
    validation_datasets: list[Any] | None = None
    hyper_parameters: dict[str, Any] = field(default_factory=dict)
    training_type: str = "sft"
    workspace_id: str = "llm-emulator"
    model_name: str | None = None
    suffix: str | None = None
    finetuned_output: str | None = None
    pending_seconds: float = 0.0
    running_seconds: float = 0.0
    canceling_seconds: float = 0.0
    outcome: str = "SUCCEEDED"
    failure_code: str = DEFAULT_FAILURE_CODE
    failure_message: str = DEFAULT_FAILURE_MESSAGE
    usage: int | None = None
    pinned_status: str | None = None
    end_time: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # schedule
    run_start: float | None = None
    run_end: float | None = None
    cancel_at: float | None = None
    skip_run: bool = False

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Job":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def _as_list(value: Any, name: str) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return list(value)
    raise invalid(f"Invalid {name}: must be a list")


class EmulatorState:
    """All jobs, faults and request counters of one emulator. Thread-safe."""

    def __init__(self, config: EmulatorConfig | None = None, **overrides: Any) -> None:
        if config is None:
            config = EmulatorConfig(**overrides)
        elif overrides:
            config = dataclasses.replace(config, **overrides)
        self.config = config
        self.faults = FaultSet()
        self._lock = threading.RLock()
        self._jobs: dict[str, Job] = {}
        self._seq = 0
        self._slot_floor = float("-inf")  # occupancy end of deleted, started jobs
        self._plans: list[dict[str, Any]] = []
        self._rng = random.Random(config.random_seed)
        self._counts: dict[tuple[str, str, str | None], int] = {}
        self._total = 0
        if config.state_file and os.path.exists(config.state_file):
            self.load(config.state_file)

    # ------------------------------------------------------------------ time
    def now(self) -> float:
        return float(self.config.clock())

    def fmt_time(self, epoch: float) -> str:
        return datetime.fromtimestamp(epoch, self.config.tz).strftime("%Y-%m-%d %H:%M:%S")

    def parse_time(self, value: Any) -> float:
        if isinstance(value, (int, float)):
            return float(value)
        try:
            dt = datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S")
        except ValueError as exc:
            raise ValueError(f"create_time must be 'YYYY-MM-DD HH:MM:SS' or epoch seconds: {value!r}") from exc
        return dt.replace(tzinfo=self.config.tz).timestamp()

    def _new_job_id(self, created: float) -> str:
        stamp = datetime.fromtimestamp(created, self.config.tz).strftime("%Y%m%d%H%M")
        for _ in range(1000):
            job_id = f"ft-{stamp}-{self._rng.getrandbits(16):04x}"
            if job_id not in self._jobs:
                return job_id
        raise ApiError(500, "InternalError", "Internal server error!")  # pragma: no cover

    # ------------------------------------------------------------ life cycle
    def _ready(self, job: Job) -> float:
        return job.created + job.pending_seconds

    def _occupy_end(self, job: Job) -> float | None:
        if job.skip_run or job.run_start is None:
            return None
        if job.cancel_at is not None:
            return job.cancel_at + job.canceling_seconds
        if job.outcome == "CANCELED":
            return (job.run_end or job.run_start) + job.canceling_seconds
        return job.run_end

    def _reschedule(self, now: float) -> None:
        """Assign run slots to jobs that have not started yet (one at a time, FIFO)."""
        slot_free = self._slot_floor
        waiting: list[Job] = []
        for job in self._jobs.values():
            if job.pinned_status is not None or job.skip_run:
                continue
            if job.run_start is not None and job.run_start <= now:
                end = self._occupy_end(job)
                if end is not None and end > slot_free:
                    slot_free = end
            else:
                waiting.append(job)
        waiting.sort(key=lambda j: (j.created, j.seq))
        for job in waiting:
            start = max(self._ready(job), slot_free)
            job.run_start = start
            job.run_end = start + job.running_seconds
            end = self._occupy_end(job)
            if end is not None:
                slot_free = end

    def status_of(self, job: Job, now: float) -> str:
        if job.pinned_status is not None:
            return job.pinned_status
        if job.cancel_at is not None:
            return "CANCELING" if now < job.cancel_at + job.canceling_seconds else "CANCELED"
        if now < self._ready(job):
            return "PENDING"
        if job.run_start is None or now < job.run_start:
            return "QUEUING"
        assert job.run_end is not None
        if now < job.run_end:
            return "RUNNING"
        if job.outcome == "CANCELED":
            return "CANCELING" if now < job.run_end + job.canceling_seconds else "CANCELED"
        return job.outcome

    def _total_usage(self, job: Job) -> int:
        if job.usage is not None:
            return int(job.usage)
        return int(round(self.config.tokens_per_second * job.running_seconds))

    def _ran_seconds(self, job: Job, now: float) -> float:
        if job.pinned_status is not None or job.skip_run or job.run_start is None:
            return 0.0
        stop = job.run_end if job.run_end is not None else now
        if job.cancel_at is not None:
            stop = min(stop, job.cancel_at)
        return max(0.0, min(now, stop) - job.run_start)

    def usage_of(self, job: Job, status: str, now: float) -> int | None:
        if status == "SUCCEEDED":
            return self._total_usage(job)
        if status != "CANCELED":
            return None
        if job.pinned_status is not None:
            return int(job.usage or 0)
        if job.skip_run:
            return 0
        if job.running_seconds <= 0:
            return self._total_usage(job) if job.cancel_at is None else 0
        frac = min(1.0, self._ran_seconds(job, now) / job.running_seconds)
        return int(self._total_usage(job) * frac)

    def _end_epoch(self, job: Job, status: str) -> float:
        if job.pinned_status is not None:
            return job.created + job.pending_seconds + job.running_seconds
        if status == "CANCELED":
            if job.cancel_at is not None:
                return job.cancel_at + job.canceling_seconds
            return (job.run_end or job.created) + job.canceling_seconds
        return job.run_end if job.run_end is not None else job.created

    def finetuned_output_of(self, job: Job) -> str:
        if job.finetuned_output:
            return job.finetuned_output
        if job.suffix:
            return f"{job.model}-{job.suffix}-{job.job_id}"
        return f"{job.model}-{job.job_id}"

    def render(self, job: Job, now: float) -> dict[str, Any]:
        status = self.status_of(job, now)
        out: dict[str, Any] = {
            "job_id": job.job_id,
            "job_name": job.job_name,
            "status": status,
        }
        if status == "SUCCEEDED":
            out["finetuned_output"] = self.finetuned_output_of(job)
        out.update(
            {
                "model": job.model,
                "base_model": job.base_model,
                "training_file_ids": list(job.training_file_ids),
                "validation_file_ids": list(job.validation_file_ids),
                "hyper_parameters": job.hyper_parameters,
                "training_type": job.training_type,
                "create_time": self.fmt_time(job.created),
                "workspace_id": job.workspace_id,
                "user_identity": self.config.user_id,
                "modifier": self.config.user_id,
                "creator": self.config.user_id,
                "group": "llm",
            }
        )
        if job.training_datasets is not None:
            out["training_datasets"] = job.training_datasets
        if job.validation_datasets is not None:
            out["validation_datasets"] = job.validation_datasets
        if job.model_name is not None:
            out["model_name"] = job.model_name
        if status in TERMINAL:
            out["end_time"] = job.end_time or self.fmt_time(self._end_epoch(job, status))
        usage = self.usage_of(job, status, now)
        if usage is not None:
            out["usage"] = usage
        if status == "FAILED":
            out["code"] = job.failure_code
            out["message"] = job.failure_message
        if job.extra:
            for k, v in job.extra.items():
                out.setdefault(k, v)
        return out

    # ------------------------------------------------------------------ logs
    def _log_lines(self, job: Job, now: float) -> tuple[int, Callable[[int], str]]:
        status = self.status_of(job, now)
        cfg = self.config
        ts = self.fmt_time
        head = [
            f"{ts(job.created)},000 - INFO - fine-tune job {job.job_id} submitted: model={job.model}, "
            f"training_type={job.training_type}"
        ]
        started = job.pinned_status is None and not job.skip_run and job.run_start is not None and now >= job.run_start
        if job.pinned_status in ("RUNNING", "SUCCEEDED", "FAILED", "CANCELING", "CANCELED"):
            started = True
        steps = 0
        step = cfg.log_interval_seconds
        max_steps = min(MAX_LOG_STEPS, int(math.floor(job.running_seconds / step + 1e-9)))
        run_start = job.run_start if job.run_start is not None else self._ready(job)
        if started:
            head.append(f"{ts(run_start)},000 - INFO - start training {job.job_id} on {job.base_model}")
            if job.pinned_status is None:
                steps = min(max_steps, int(math.floor(self._ran_seconds(job, now) / step + 1e-9)))
            elif job.pinned_status == "SUCCEEDED":
                steps = max_steps
        n_epochs = job.hyper_parameters.get("n_epochs", 1)
        if not isinstance(n_epochs, (int, float)) or isinstance(n_epochs, bool) or n_epochs <= 0:
            n_epochs = 1
        lr = job.hyper_parameters.get("learning_rate", 1e-5)
        denom = max(1, max_steps)

        def step_line(k: int) -> str:
            frac = k / denom
            loss = 0.35 + 2.2 * math.exp(-3.0 * frac)
            return (
                f"{ts(run_start + k * step)},000 - INFO - {{'loss': {loss:.4f}, 'learning_rate': {lr!r}, "
                f"'epoch': {round(n_epochs * frac, 4)}, 'step': {k}}}"
            )

        tail: list[str] = []
        if status in TERMINAL:
            end = ts(self._end_epoch(job, status))
            if status == "SUCCEEDED":
                tokens = self._total_usage(job)
                tail = [
                    f"{{'train_runtime': {job.running_seconds:.4f}, 'train_steps': {max_steps}, "
                    f"'epoch': {float(n_epochs)}}}",
                    f" Actual number of consumed tokens is {tokens}!",
                    f"{end},000 - INFO - training usage {tokens}",
                    f"{end},000 - INFO - ##FT_COMPLETE##",
                ]
            elif status == "FAILED":
                tail = [f"{end},000 - ERROR - training failed: {job.failure_code}: {job.failure_message}"]
            else:
                tail = [f"{end},000 - INFO - training canceled, consumed tokens {self.usage_of(job, status, now)}"]
        total = len(head) + steps + len(tail)
        nh = len(head)

        def line(i: int) -> str:
            if i < nh:
                return head[i]
            if i < nh + steps:
                return step_line(i - nh + 1)
            return tail[i - nh - steps]

        return total, line

    # ------------------------------------------------------------ API ops
    def _job_settings(self, job: Job, settings: dict[str, Any]) -> None:
        """Apply outcome/duration/usage/... settings from a seed, profile or plan."""
        durations = settings.get("durations") or {}
        for key in ("pending_seconds", "running_seconds", "canceling_seconds"):
            val = settings.get(key, durations.get(key, durations.get(key.replace("_seconds", ""))))
            if val is not None:
                if float(val) < 0:
                    raise ValueError(f"{key} must be >= 0")
                setattr(job, key, float(val))
        if settings.get("outcome") is not None:
            outcome = str(settings["outcome"]).upper()
            if outcome not in OUTCOMES:
                raise ValueError(f"outcome must be one of {sorted(OUTCOMES)}, got {outcome!r}")
            job.outcome = outcome
        code = settings.get("failure_code", settings.get("code"))
        if code is not None:
            job.failure_code = str(code)
        message = settings.get("failure_message", settings.get("message"))
        if message is not None:
            job.failure_message = str(message)
        if settings.get("usage") is not None:
            job.usage = int(settings["usage"])
        if settings.get("finetuned_output") is not None:
            job.finetuned_output = str(settings["finetuned_output"])
        if settings.get("finetuned_output_suffix") is not None:
            job.suffix = str(settings["finetuned_output_suffix"])
        if settings.get("end_time") is not None:
            job.end_time = str(settings["end_time"])
        if settings.get("status") is not None:
            job.pinned_status = str(settings["status"])

    def _count_quota(self, now: float) -> int:
        return sum(1 for j in self._jobs.values() if self.status_of(j, now) in QUOTA_STATUSES)

    def create_job(self, body: Any, workspace: str | None = None) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise invalid("Request body must be a JSON object")
        model = body.get("model")
        if not isinstance(model, str) or not model.strip():
            raise invalid("Missing model")
        training = _as_list(body.get("training_file_ids"), "training_file_ids")
        datasets = body.get("training_datasets")
        if datasets is not None and not isinstance(datasets, list):
            raise invalid("Invalid training_datasets: must be a list")
        if not training and not datasets:
            raise invalid("Missing training files")
        if not all(isinstance(x, str) and x for x in training):
            raise invalid("Invalid training_file_ids: must be a list of file ids")
        validation = _as_list(body.get("validation_file_ids"), "validation_file_ids")
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
        with self._lock:
            now = self.now()
            cfg = self.config
            if self._count_quota(now) >= cfg.quota:
                raise ApiError(
                    429, "Throttling", f"Only {cfg.quota} fine-tune job in running or succeeded allowed per user."
                )
            job_id = self._new_job_id(now)
            self._seq += 1
            job = Job(
                job_id=job_id,
                job_name=job_name or job_id,
                model=model,
                base_model=model,
                created=now,
                seq=self._seq,
                training_file_ids=training,
                validation_file_ids=validation,
                training_datasets=datasets,
                validation_datasets=body.get("validation_datasets"),
                hyper_parameters=hyper,
                training_type=training_type,
                workspace_id=workspace or cfg.workspace_id,
                model_name=model_name if isinstance(model_name, str) else None,
                suffix=suffix if isinstance(suffix, str) and suffix else None,
                pending_seconds=cfg.pending_seconds,
                running_seconds=cfg.running_seconds,
                canceling_seconds=cfg.canceling_seconds,
                outcome=cfg.default_outcome,
                failure_code=cfg.failure_code,
                failure_message=cfg.failure_message,
            )
            profile = cfg.model_profiles.get(model)
            if profile:
                self._job_settings(job, profile)
            if self._plans:
                self._job_settings(job, self._plans.pop(0))
            self._jobs[job_id] = job
            self._reschedule(now)
            self._persist()
            return self.render(job, now)

    def _existing(self, job_id: str) -> Job:
        """The job, or the API's 404 (call with the lock held)."""
        job = self._jobs.get(job_id)
        if job is None:
            raise not_found()
        return job

    def get_job(self, job_id: str) -> dict[str, Any]:
        with self._lock:
            job = self._existing(job_id)
            return self.render(job, self.now())

    def job_status(self, job_id: str) -> str | None:
        with self._lock:
            job = self._jobs.get(job_id)
            return None if job is None else self.status_of(job, self.now())

    def list_jobs(self, page_no: int = 1, page_size: int = 10, model: str | None = None) -> dict[str, Any]:
        if page_no < 1:
            raise invalid("Invalid page_no: must be >= 1")
        if not 1 <= page_size <= 100:
            raise invalid("Invalid page_size: must be between 1 and 100")
        with self._lock:
            now = self.now()
            jobs = [j for j in self._jobs.values() if model is None or j.model == model]
            jobs.sort(key=lambda j: (j.created, j.seq), reverse=True)
            start = (page_no - 1) * page_size
            page = jobs[start : start + page_size]
            return {
                "page_no": page_no,
                "page_size": page_size,
                "total": len(jobs),
                "jobs": [self.render(j, now) for j in page],
            }

    def cancel_job(self, job_id: str) -> dict[str, Any]:
        with self._lock:
            job = self._existing(job_id)
            now = self.now()
            status = self.status_of(job, now)
            if status in TERMINAL:
                raise ApiError(
                    400,
                    "UnsupportedOperation",
                    "The fine-tuning job cannot be canceled because it has already succeeded, failed, "
                    "or been canceled.",
                )
            if status == "CANCELING":
                return {"status": "success"}
            if job.pinned_status is not None:
                job.pinned_status = None
                job.skip_run = True
                job.run_start = job.run_end = None
            elif job.run_start is None or now < job.run_start:
                job.skip_run = True
                job.run_start = job.run_end = None
            job.cancel_at = now
            self._reschedule(now)
            self._persist()
            return {"status": "success"}

    def delete_job(self, job_id: str) -> dict[str, Any]:
        with self._lock:
            job = self._existing(job_id)
            now = self.now()
            status = self.status_of(job, now)
            if status not in TERMINAL:
                raise ApiError(
                    400,
                    "UnsupportedOperation",
                    f"The fine-tuning job cannot be deleted because its status is {status}; "
                    "only SUCCEEDED, FAILED or CANCELED jobs can be deleted.",
                )
            end = self._occupy_end(job) if job.pinned_status is None else None
            if end is not None and end > self._slot_floor:
                self._slot_floor = end
            del self._jobs[job_id]
            self._persist()
            return {"status": "success"}

    def job_logs(self, job_id: str, offset: int = 0, line: int = 100) -> dict[str, Any]:
        if offset < 0:
            raise invalid("Invalid offset: must be >= 0")
        if not 1 <= line <= 1000:
            raise invalid("Invalid line: must be between 1 and 1000")
        with self._lock:
            job = self._existing(job_id)
            total, get = self._log_lines(job, self.now())
            return {"total": total, "logs": [get(i) for i in range(offset, min(total, offset + line))]}

    # ------------------------------------------------------- admin helpers
    def seed(self, jobs: Iterable[dict[str, Any]] | dict[str, Any]) -> list[str]:
        """Add jobs from scenario dicts; returns their ids. See the package docs for keys."""
        if isinstance(jobs, dict):
            jobs = jobs.get("jobs", [jobs]) if "jobs" in jobs else [jobs]
        ids: list[str] = []
        with self._lock:
            now = self.now()
            cfg = self.config
            for spec in jobs:
                if not isinstance(spec, dict):
                    raise ValueError("each seeded job must be an object")
                unknown = set(spec) - _SEED_KEYS
                if unknown:
                    raise ValueError(f"unknown seed keys: {sorted(unknown)}")
                model = spec.get("model")
                if not model:
                    raise ValueError("a seeded job needs a model")
                created = self.parse_time(spec["create_time"]) if spec.get("create_time") is not None else now
                job_id = spec.get("job_id") or self._new_job_id(created)
                self._seq += 1
                job = Job(
                    job_id=job_id,
                    job_name=spec.get("job_name") or job_id,
                    model=model,
                    base_model=spec.get("base_model") or model,
                    created=created,
                    seq=self._seq,
                    training_file_ids=_as_list(spec.get("training_file_ids", ["file-emulator-seed"]), "training"),
                    validation_file_ids=_as_list(spec.get("validation_file_ids"), "validation"),
                    training_datasets=spec.get("training_datasets"),
                    validation_datasets=spec.get("validation_datasets"),
                    hyper_parameters=dict(spec.get("hyper_parameters") or {}),
                    training_type=spec.get("training_type") or "sft",
                    workspace_id=spec.get("workspace_id") or cfg.workspace_id,
                    model_name=spec.get("model_name"),
                    pending_seconds=cfg.pending_seconds,
                    running_seconds=cfg.running_seconds,
                    canceling_seconds=cfg.canceling_seconds,
                    outcome=cfg.default_outcome,
                    failure_code=cfg.failure_code,
                    failure_message=cfg.failure_message,
                    extra=dict(spec.get("extra") or {}),
                )
                self._job_settings(job, spec)
                self._jobs[job_id] = job
                ids.append(job_id)
            self._reschedule(now)
            self._persist()
        return ids

    def plan_next(self, *settings: dict[str, Any]) -> None:
        """Queue settings (outcome, durations, usage, code/message, status...) for the next created jobs."""
        with self._lock:
            for s in settings:
                unknown = set(s) - _JOB_SETTING_KEYS - {"durations"}
                if unknown:
                    raise ValueError(f"unknown job settings: {sorted(unknown)}")
                self._plans.append(dict(s))

    def reset(self) -> None:
        """Forget all jobs, plans, faults and counters."""
        with self._lock:
            self._jobs.clear()
            self._plans.clear()
            self._slot_floor = float("-inf")
            self._counts.clear()
            self._total = 0
            self.faults.clear()
            self._persist()

    def job_ids(self) -> list[str]:
        with self._lock:
            return list(self._jobs)

    # ---------------------------------------------------------- statistics
    def record_request(self, method: str, route: str, job_id: str | None) -> None:
        key = (method, route, job_id)
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1
            self._total += 1

    def stats(self) -> dict[str, Any]:
        with self._lock:
            by_route: dict[str, int] = {}
            by_job: dict[str, int] = {}
            for (method, route, job_id), n in self._counts.items():
                rk = f"{method} {route}"
                by_route[rk] = by_route.get(rk, 0) + n
                if job_id is not None:
                    by_job[job_id] = by_job.get(job_id, 0) + n
            return {"total": self._total, "by_route": by_route, "by_job": by_job}

    def request_count(self, method: str | None = None, route: str | None = None, job_id: str | None = None) -> int:
        from .faults import normalize_route

        m, r = normalize_route(route, method)
        with self._lock:
            return sum(
                n
                for (km, kr, kj), n in self._counts.items()
                if (m == "*" or km == m) and (r == "*" or kr == r) and (job_id is None or kj == job_id)
            )

    # --------------------------------------------------------- persistence
    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            floor = self._slot_floor
            return {
                "version": 1,
                "seq": self._seq,
                "slot_floor": None if floor == float("-inf") else floor,
                "jobs": [dataclasses.asdict(j) for j in self._jobs.values()],
            }

    def load(self, path: str) -> None:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        with self._lock:
            self._jobs = {}
            for raw in data.get("jobs", []):
                job = Job.from_dict(raw)
                self._jobs[job.job_id] = job
            self._seq = int(data.get("seq") or len(self._jobs))
            floor = data.get("slot_floor")
            self._slot_floor = float("-inf") if floor is None else float(floor)

    def _persist(self) -> None:
        path = self.config.state_file
        if not path:
            return
        data = self.snapshot()
        directory = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(prefix=".emulator-state-", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh)
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
