"""The event that ends a wait: a frozen value with an outcome, and the JSON payload a trigger fires.

The payload of a fine-tune job wait has the keys ``status`` (the outcome), ``job_id``, ``job_status``, ``message``,
``job`` (the job's summary), ``http_status`` and ``request_id``. Other resources use their own names for the id,
status and summary keys (see :class:`EventKeys`); the rest is the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, NamedTuple

from airflow_provider_dashscope.exceptions import DashScopeError
from airflow_provider_dashscope.models._fields import freeze, thaw


class Outcome(str, Enum):
    """How a wait ended."""

    SUCCESS = "success"
    FAILED = "failed"
    CANCELLED = "cancelled"
    ERROR = "error"
    TIMEOUT = "timeout"

    def __str__(self) -> str:
        return self.value


class EventKeys(NamedTuple):
    """The payload keys that name the resource, its status and its summary."""

    id: str
    status: str
    resource: str


JOB_EVENT_KEYS = EventKeys("job_id", "job_status", "job")


@dataclass(frozen=True)
class WaitEvent:
    """How a wait ended, with the last state of the resource it waited on."""

    outcome: Outcome
    resource_id: str
    message: str
    resource_status: str | None = None
    #: The policy's summary of the last resource seen (read-only), or ``None`` if no poll ever answered.
    resource: Mapping[str, Any] | None = None
    http_status: int | None = None
    request_id: str | None = None

    def __post_init__(self) -> None:
        if self.resource is not None:
            object.__setattr__(self, "resource", freeze(self.resource))

    @property
    def succeeded(self) -> bool:
        return self.outcome is Outcome.SUCCESS

    def to_payload(self, keys: EventKeys = JOB_EVENT_KEYS) -> dict[str, Any]:
        """The JSON-safe dict a trigger fires."""
        return {
            "status": self.outcome.value,
            keys.id: self.resource_id,
            keys.status: self.resource_status,
            "message": self.message,
            keys.resource: thaw(self.resource) if self.resource is not None else None,
            "http_status": self.http_status,
            "request_id": self.request_id,
        }

    @classmethod
    def from_payload(cls, payload: Any, keys: EventKeys = JOB_EVENT_KEYS) -> WaitEvent:
        """Read what ``execute_complete`` received; a clear error for ``None``, an unknown status or a bad shape.

        Events fired before an upgrade have the same keys, so a task deferred then completes after it.
        """
        if not isinstance(payload, Mapping):
            raise DashScopeError(f"execute_complete expected a trigger event dict, got {payload!r}")
        try:
            outcome = Outcome(payload.get("status"))
        except ValueError:
            expected = ", ".join(sorted(o.value for o in Outcome))
            raise DashScopeError(
                f"execute_complete got an event with unknown status {payload.get('status')!r} (expected one of "
                f"{expected}): {payload!r}"
            ) from None
        resource_id = payload.get(keys.id)
        if not isinstance(resource_id, str):
            raise DashScopeError(f"execute_complete got an event without a {keys.id}: {payload!r}")
        resource = payload.get(keys.resource)
        http_status = payload.get("http_status")
        return cls(
            outcome=outcome,
            resource_id=resource_id,
            message=str(payload.get("message") or f"{resource_id}: {outcome.value}"),
            resource_status=_text(payload.get(keys.status)),
            resource=resource if isinstance(resource, Mapping) else None,
            http_status=http_status if isinstance(http_status, int) and not isinstance(http_status, bool) else None,
            request_id=_text(payload.get("request_id")),
        )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
