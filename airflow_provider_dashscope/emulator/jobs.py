"""A fine-tune job: its record, its life cycle as a timeline, and its JSON form.

Everything here is a pure function of a :class:`Job` and a time ``now`` (epoch seconds).

**Timeline.** A job's status over time is one list of phases ``(start_epoch, status)`` in
time order; the status at ``now`` is the status of the last phase that has started (before its
first phase a job is in its first phase's status). The store writes the timeline when it
schedules a job and only ever rewrites phases that have not started yet, so a status never
goes backwards. A *pinned* job has no timeline: its status is kept forever.

**Life cycle.** A job is ``PENDING`` for ``pending_seconds`` after creation; it is then ready
to train. Only one job of the account trains at a time (see :mod:`.schedule`): a ready job is
``QUEUING`` until its turn, then ``RUNNING`` for ``running_seconds``, then takes its
``outcome``: ``SUCCEEDED``, ``FAILED``, or ``CANCELED``, which means "canceled by someone else
at the end of the run": ``CANCELING`` for ``canceling_seconds`` first.

**Cancel** rewrites the future: from ``now`` the job is ``CANCELING`` for
``canceling_seconds``, then ``CANCELED``. A job canceled before it started training never
trains and frees no slot; a running job keeps the slot until it is ``CANCELED``.

**Seeded and planned statuses.** A seed entry's (or plan's) ``status`` is where the job
starts: PENDING, QUEUING, RUNNING or CANCELING at seed time, after which it follows its life
cycle with its durations to its outcome (a seeded RUNNING job trains for ``running_seconds``
from seed time and holds the training slot; a seeded QUEUING one trains as soon as the slot is
free; a seeded CANCELING one never trains). A terminal status is the job's end state: it ended
at its ``end_time`` if given, else at ``create_time + pending + running`` or at seed time,
whichever is earlier. ``"pin": true`` keeps the status forever instead, and an unknown status
(e.g. ``PAUSED``) is always pinned; pinned jobs take no training slot.

**Usage.** A SUCCEEDED job consumed ``tokens_per_second * running_seconds`` tokens (or the
``usage`` it was given). A CANCELED job consumed the same rate times the seconds it actually
trained (an int, maybe 0); one that never trained here has the ``usage`` its seed gave
(default 0). FAILED and non-terminal jobs have no ``usage``.

**finetuned_output** is ``{model}-{suffix}-{job_id}`` with a ``finetuned_output_suffix``,
else ``{model}-{job_id}``, and appears only once the job is SUCCEEDED.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from .config import DEFAULT_FAILURE_CODE, DEFAULT_FAILURE_MESSAGE, OUTCOMES, EmulatorConfig
from .times import plain

PENDING, QUEUING, RUNNING, CANCELING = "PENDING", "QUEUING", "RUNNING", "CANCELING"
SUCCEEDED, FAILED, CANCELED = "SUCCEEDED", "FAILED", "CANCELED"
TERMINAL = frozenset({SUCCEEDED, FAILED, CANCELED})
#: Statuses a job can be in on its way to a terminal one.
ACTIVE = frozenset({PENDING, QUEUING, RUNNING, CANCELING})
KNOWN_STATUSES = ACTIVE | TERMINAL
#: Statuses that count against the account's job quota.
QUOTA_STATUSES = frozenset({PENDING, QUEUING, RUNNING, SUCCEEDED})

Phase = tuple[float, str]

#: Settings a seed entry, a model profile or a plan may carry (besides a seed's echoed job fields).
SETTING_KEYS = frozenset(
    {
        "outcome",
        "pending_seconds",
        "running_seconds",
        "canceling_seconds",
        "durations",
        "usage",
        "failure_code",
        "failure_message",
        "code",
        "message",
        "status",
        "pin",
        "finetuned_output",
        "finetuned_output_suffix",
        "end_time",
        "eval_losses",
        "export_outcome",
        "export_seconds",
    }
)


@dataclass
class Job:
    """One fine-tune job: what it echoes, how its life cycle goes, and its timeline."""

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
    # how its life cycle goes
    pending_seconds: float = 0.0
    running_seconds: float = 0.0
    canceling_seconds: float = 0.0
    outcome: str = SUCCEEDED
    failure_code: str = DEFAULT_FAILURE_CODE
    failure_message: str = DEFAULT_FAILURE_MESSAGE
    usage: int | None = None
    end_time: str | None = None  # rendered verbatim instead of the computed end time
    extra: dict[str, Any] = field(default_factory=dict)
    # its checkpoints (see :mod:`.checkpoints`)
    eval_losses: list[float] | None = None
    export_outcome: str | None = None
    export_seconds: float | None = None
    exports: dict[str, dict[str, Any]] | None = None  # checkpoint -> {"model_name", "started"}
    # where it is in its life cycle
    seeded_status: str | None = None  # the status a seed entry gave
    pinned: bool = False  # keeps seeded_status forever
    trains: bool = True  # still needs (or holds) the account's one training slot
    timeline: list[Phase] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Job:
        names = {f.name for f in dataclasses.fields(cls)}
        job = cls(**{k: v for k, v in data.items() if k in names})
        job.timeline = [(float(start), str(status)) for start, status in job.timeline]
        return job

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def apply_settings(job: Job, settings: dict[str, Any]) -> None:
    """Apply outcome, durations, usage, failure text and naming settings (not ``status``/``pin``)."""
    durations = settings.get("durations") or {}
    for key in ("pending_seconds", "running_seconds", "canceling_seconds"):
        value = settings.get(key, durations.get(key, durations.get(key.replace("_seconds", ""))))
        if value is not None:
            if float(value) < 0:
                raise ValueError(f"{key} must be >= 0")
            setattr(job, key, float(value))
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
    _apply_checkpoint_settings(job, settings)


def _apply_checkpoint_settings(job: Job, settings: dict[str, Any]) -> None:
    """``eval_losses``, ``export_outcome`` and ``export_seconds`` (see :mod:`.checkpoints`)."""
    losses = settings.get("eval_losses")
    if losses is not None:
        if not isinstance(losses, list) or not all(
            isinstance(x, (int, float)) and not isinstance(x, bool) for x in losses
        ):
            raise ValueError("eval_losses must be a list of numbers (one per checkpoint, oldest first)")
        job.eval_losses = [float(x) for x in losses]
    outcome = settings.get("export_outcome")
    if outcome is not None:
        outcome = str(outcome).upper()
        if outcome not in ("SUCCEEDED", "FAILED", "UNSUPPORTED"):
            raise ValueError(f"export_outcome must be SUCCEEDED, FAILED or UNSUPPORTED, got {outcome!r}")
        job.export_outcome = outcome
    seconds = settings.get("export_seconds")
    if seconds is not None:
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds < 0:
            raise ValueError("export_seconds must be a number >= 0")
        job.export_seconds = float(seconds)


# ------------------------------------------------------------------------------------------------ timeline
def status_at(job: Job, now: float) -> str:
    if job.pinned:
        return job.seeded_status or PENDING
    if not job.timeline:
        return PENDING
    current = job.timeline[0][1]
    for start, status in job.timeline:
        if start > now:
            break
        current = status
    return current


def terminal_start(job: Job) -> float | None:
    for start, phase in job.timeline:
        if phase in TERMINAL:
            return start
    return None


def run_window(job: Job) -> tuple[float, float | None] | None:
    """(start, end) of the job's training, end None while open-ended; None if it never trains."""
    for i, (start, phase) in enumerate(job.timeline):
        if phase == RUNNING:
            end = job.timeline[i + 1][0] if i + 1 < len(job.timeline) else None
            return start, end
    return None


def trained_seconds(job: Job, now: float) -> float:
    window = run_window(job)
    if window is None:
        return 0.0
    start, end = window
    stop = now if end is None else min(now, end)
    return max(0.0, stop - start)


def has_started(job: Job, now: float) -> bool:
    """True once the job's training began (it then holds the slot per its frozen timeline)."""
    window = run_window(job)
    return window is not None and window[0] <= now


def slot_hold_seconds(job: Job) -> float:
    """How long a run holds the training slot: training, plus canceling for outcome CANCELED."""
    return job.running_seconds + (job.canceling_seconds if job.outcome == CANCELED else 0.0)


def slot_release(job: Job) -> float | None:
    """When a job that trains gives the slot back: the start of its terminal phase."""
    if not job.trains or run_window(job) is None:
        return None
    return terminal_start(job)


def ready_at(job: Job) -> float:
    """When the job may start training: the end of its PENDING phase(s), else its first phase."""
    for start, phase in job.timeline:
        if phase != PENDING:
            return start
    if job.timeline:
        return job.timeline[0][0] + job.pending_seconds
    return job.created + job.pending_seconds


def waiting_phases(start: float, pending_seconds: float) -> list[Phase]:
    """The phases of a job before it is ready: PENDING from ``start`` (none if it has no pending time)."""
    return [(start, PENDING)] if pending_seconds > 0 else []


def run_phases(job: Job, ready: float, run_start: float) -> list[Phase]:
    """Phases from readiness on, for a run that starts at ``run_start`` and ends in the job's outcome."""
    phases: list[Phase] = []
    if run_start > ready:
        phases.append((ready, QUEUING))
    phases.append((run_start, RUNNING))
    end = run_start + job.running_seconds
    if job.outcome == CANCELED:
        phases += [(end, CANCELING), (end + job.canceling_seconds, CANCELED)]
    else:
        phases.append((end, job.outcome))
    return phases


def plan_run(job: Job, run_start: float) -> None:
    """Rewrite the timeline from readiness on, for a run that starts at ``run_start``."""
    ready = ready_at(job)
    head = [phase for phase in job.timeline if phase[1] == PENDING]
    job.timeline = head + run_phases(job, ready, run_start)


def cancel_phases(job: Job, now: float) -> list[Phase]:
    """The timeline after a cancel at ``now``: what already happened, then CANCELING, then CANCELED."""
    past = [phase for phase in job.timeline if phase[0] <= now] if not job.pinned else []
    return [*past, (now, CANCELING), (now + job.canceling_seconds, CANCELED)]


def ended_phases(status: str, end: float) -> list[Phase]:
    """The timeline of a job that is already over: its terminal status since ``end``."""
    return [(end, status)]


def start(job: Job, now: float, status: str | None = None, pin: bool = False, ended: float | None = None) -> None:
    """Put a new job on its life cycle at ``now``, in ``status`` if a seed or plan gives one (or pin it).

    ``ended`` is when a job seeded in a terminal status ended (default: after its nominal run, at the latest now).
    """
    if status is None:
        if pin:
            raise ValueError("'pin' needs a 'status' to pin")
        job.timeline = waiting_phases(job.created, job.pending_seconds)
        return
    job.seeded_status = status
    if pin or status not in KNOWN_STATUSES:
        job.pinned, job.trains = True, False
    elif status in (PENDING, QUEUING):
        job.timeline = [(now, status)]
    elif status == RUNNING:
        job.timeline = run_phases(job, now, now)
    elif status == CANCELING:
        job.trains = False
        job.timeline = cancel_phases(job, now)
    else:
        job.trains = False
        if ended is None:
            ended = min(job.created + job.pending_seconds + job.running_seconds, now)
        job.timeline = ended_phases(status, ended)


# ------------------------------------------------------------------------------------------- derived facts
def total_usage(job: Job, tokens_per_second: float) -> int:
    if job.usage is not None:
        return int(job.usage)
    return round(tokens_per_second * job.running_seconds)


def usage_at(job: Job, status: str, now: float, tokens_per_second: float) -> int | None:
    if status == SUCCEEDED:
        return total_usage(job, tokens_per_second)
    if status != CANCELED:
        return None
    if run_window(job) is None:
        return int(job.usage or 0) if job.seeded_status is not None else 0
    if job.running_seconds <= 0:
        return total_usage(job, tokens_per_second)
    share = min(1.0, trained_seconds(job, now) / job.running_seconds)
    return int(total_usage(job, tokens_per_second) * share)


def end_epoch(job: Job) -> float:
    """When a terminal job ended (a pinned one: after its nominal pending and running time)."""
    end = None if job.pinned else terminal_start(job)
    if end is None:
        return job.created + job.pending_seconds + job.running_seconds
    return end


def finetuned_output_of(job: Job) -> str:
    if job.finetuned_output:
        return job.finetuned_output
    if job.suffix:
        return f"{job.model}-{job.suffix}-{job.job_id}"
    return f"{job.model}-{job.job_id}"


def render(job: Job, now: float, config: EmulatorConfig) -> dict[str, Any]:
    """The job object of get, list and create responses."""
    status = status_at(job, now)
    out: dict[str, Any] = {"job_id": job.job_id, "job_name": job.job_name, "status": status}
    if status == SUCCEEDED:
        out["finetuned_output"] = finetuned_output_of(job)
    out.update(
        {
            "model": job.model,
            "base_model": job.base_model,
            "training_file_ids": list(job.training_file_ids),
            "validation_file_ids": list(job.validation_file_ids),
            "hyper_parameters": job.hyper_parameters,
            "training_type": job.training_type,
            "create_time": plain(job.created, config.tz),
            "workspace_id": job.workspace_id,
            "user_identity": config.user_id,
            "modifier": config.user_id,
            "creator": config.user_id,
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
        out["end_time"] = job.end_time or plain(end_epoch(job), config.tz)
    usage = usage_at(job, status, now, config.tokens_per_second)
    if usage is not None:
        out["usage"] = usage
    if status == FAILED:
        out["code"] = job.failure_code
        out["message"] = job.failure_message
    for key, value in job.extra.items():
        out.setdefault(key, value)
    return out
