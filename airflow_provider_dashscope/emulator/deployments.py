"""A deployment of a model (``/deployments``): its record, its life cycle as a timeline, its JSON form.

Everything here is a pure function of a :class:`Deployment` and a time ``now``. As for jobs, the
status at ``now`` is the status of the last phase of the timeline that has started.

**Life cycle.** Created: ``PENDING`` for ``deploy_pending_seconds``, ``DEPLOYING`` for
``deploying_seconds``, then ``RUNNING`` (or ``FAILED`` when its outcome says so). Scaled:
``UPDATING`` for ``updating_seconds``, then ``RUNNING`` again. Deleted: ``DELETING`` for
``deleting_seconds``, then gone (a get is a 404). ``ready_capacity`` is the capacity while
RUNNING, the capacity before the scale while UPDATING, and 0 otherwise. ``gmt_modified`` is
when the current status began. A *pinned* deployment keeps its seeded status forever.

**Names.** ``deployed_model`` is ``model_name`` without a suffix, ``model_name-suffix`` with
one. Times (``gmt_create``, ``gmt_modified``) are ISO 8601 without a zone, with milliseconds.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from .config import EmulatorConfig
from .times import iso_millis

PENDING, DEPLOYING, RUNNING, UPDATING = "PENDING", "DEPLOYING", "RUNNING", "UPDATING"
DELETING, FAILED = "DELETING", "FAILED"
#: The pseudo-status of a deployment whose delete finished: it no longer exists.
GONE = "GONE"
STATUSES = frozenset({PENDING, DEPLOYING, RUNNING, UPDATING, DELETING, FAILED})
OUTCOMES = frozenset({RUNNING, FAILED})
#: Per-deployment settings of a plan or a seed entry, and the config field each one defaults to.
DURATION_SETTINGS = {
    "pending_seconds": "deploy_pending_seconds",
    "deploying_seconds": "deploying_seconds",
    "updating_seconds": "updating_seconds",
    "deleting_seconds": "deleting_seconds",
}
SETTING_KEYS = frozenset(DURATION_SETTINGS) | {"outcome", "status", "pin"}

Phase = tuple[float, str]


@dataclass
class Deployment:
    deployed_model: str
    model_name: str
    base_model: str
    capacity: int
    created: float
    seq: int
    plan: str | None = None
    workspace_id: str = "llm-emulator"
    previous_capacity: int = 0  # the capacity that stays ready while UPDATING
    outcome: str = RUNNING
    pending_seconds: float = 0.0
    deploying_seconds: float = 0.0
    updating_seconds: float = 0.0
    deleting_seconds: float = 0.0
    echoed: dict[str, Any] = field(default_factory=dict)  # other request fields, shown as sent
    seeded_status: str | None = None
    pinned: bool = False
    timeline: list[Phase] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Deployment:
        names = {f.name for f in dataclasses.fields(cls)}
        record = cls(**{k: v for k, v in data.items() if k in names})
        record.timeline = [(float(start), str(status)) for start, status in record.timeline]
        return record

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def deployed_name(model_name: str, suffix: str | None) -> str:
    return f"{model_name}-{suffix}" if suffix else model_name


def apply_settings(record: Deployment, settings: dict[str, Any]) -> None:
    """Apply outcome and durations from a plan or a seed entry (not ``status``/``pin``)."""
    for key in DURATION_SETTINGS:
        if settings.get(key) is not None:
            value = float(settings[key])
            if value < 0:
                raise ValueError(f"{key} must be >= 0")
            setattr(record, key, value)
    if settings.get("outcome") is not None:
        outcome = str(settings["outcome"]).upper()
        if outcome not in OUTCOMES:
            raise ValueError(f"a deployment's outcome must be one of {sorted(OUTCOMES)}, got {outcome!r}")
        record.outcome = outcome


def defaults(config: EmulatorConfig) -> dict[str, Any]:
    return {key: float(getattr(config, name)) for key, name in DURATION_SETTINGS.items()}


def status_at(record: Deployment, now: float) -> str:
    if record.pinned:
        return record.seeded_status or PENDING
    if not record.timeline:
        return PENDING
    current = record.timeline[0][1]
    for start, status in record.timeline:
        if start > now:
            break
        current = status
    return current


def current_since(record: Deployment, now: float) -> float:
    """When the current status began (the creation time for a pinned deployment)."""
    since = record.created
    for start, _ in record.timeline:
        if start > now:
            break
        since = start
    return since


def deploy_phases(record: Deployment, start: float) -> list[Phase]:
    deployed = start + record.pending_seconds
    return [(start, PENDING), (deployed, DEPLOYING), (deployed + record.deploying_seconds, record.outcome)]


def _past(record: Deployment, now: float) -> list[Phase]:
    return [phase for phase in record.timeline if phase[0] <= now]


def scale_phases(record: Deployment, now: float) -> list[Phase]:
    return [*_past(record, now), (now, UPDATING), (now + record.updating_seconds, RUNNING)]


def delete_phases(record: Deployment, now: float) -> list[Phase]:
    past = [] if record.pinned else _past(record, now)
    return [*past, (now, DELETING), (now + record.deleting_seconds, GONE)]


def seeded_phases(record: Deployment, status: str, now: float) -> list[Phase]:
    """The timeline of a deployment seeded in ``status`` at ``now``: it goes on from there."""
    if status == PENDING:
        return deploy_phases(record, now)
    if status == DEPLOYING:
        return [(now, DEPLOYING), (now + record.deploying_seconds, record.outcome)]
    if status == UPDATING:
        return [(now, UPDATING), (now + record.updating_seconds, RUNNING)]
    if status == DELETING:
        return [(now, DELETING), (now + record.deleting_seconds, GONE)]
    return [(now, status)]  # RUNNING, FAILED: stable


def ready_capacity(record: Deployment, status: str) -> int:
    if status == RUNNING:
        return record.capacity
    if status == UPDATING:
        return record.previous_capacity
    return 0


def render(record: Deployment, now: float, config: EmulatorConfig) -> dict[str, Any]:
    status = status_at(record, now)
    out: dict[str, Any] = {
        "deployed_model": record.deployed_model,
        "gmt_create": iso_millis(record.created, config.tz),
        "gmt_modified": iso_millis(current_since(record, now), config.tz),
        "status": status,
        "model_name": record.model_name,
        "base_model": record.base_model,
        "base_capacity": 1,
        "capacity": record.capacity,
        "ready_capacity": ready_capacity(record, status),
        "workspace_id": record.workspace_id,
        "charge_type": "post_paid",
        "creator": config.user_id,
        "modifier": config.user_id,
        "plan": record.plan,
    }
    for key, value in record.echoed.items():
        out.setdefault(key, value)
    return out
