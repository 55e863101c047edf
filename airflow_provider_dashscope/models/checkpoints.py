"""Typed, deeply immutable models of a fine-tune job's checkpoints (no I/O).

``GET /fine-tunes/{job_id}/checkpoints`` answers with an *array* in ``output``: one object per saved checkpoint,
newest step first. A checkpoint's ``status`` is the status of its export (``PENDING``, ``PROCESSING``,
``SUCCEEDED``, ``FAILED``, ``UNSUPPORTED``); its deployable ``model_name`` appears once the export SUCCEEDED.
What a checkpoint nobody exported reports as its status is not documented: any other status is kept as text and
means "not exported".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

from airflow_provider_dashscope._config import DEFAULT_API_TIME_ZONE
from airflow_provider_dashscope.exceptions import InvalidResponseError
from airflow_provider_dashscope.models._fields import FrozenDict, fields_from_api, opt_int, thaw

if TYPE_CHECKING:
    import pendulum

__all__ = ["EXPORT_STATUSES", "Checkpoint", "CheckpointStatus", "checkpoint_name_of", "parse_checkpoints"]

#: ``<job id>:checkpoint-<n>`` or ``<job id>-checkpoint-<n>`` (the documentation pages show both separators).
_FULL_NAME = re.compile(r"^(?P<job>.+?)[:-](?P<checkpoint>checkpoint-[A-Za-z0-9_.-]+)$")


class CheckpointStatus(str, Enum):
    """Status of a checkpoint's export, spelled as the API spells it."""

    PENDING = "PENDING"
    PROCESSING = "PROCESSING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    UNSUPPORTED = "UNSUPPORTED"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, value: Any) -> CheckpointStatus | str | None:
        """The enum member, the text itself for any other status (not exported, as far as we know), or None."""
        if not isinstance(value, str) or not value:
            return None
        try:
            return cls(value)
        except ValueError:
            return value


#: The documented statuses: those of an export.
EXPORT_STATUSES = frozenset(CheckpointStatus)


def checkpoint_name_of(full_name: Any) -> tuple[str, str] | None:
    """``(job_id, checkpoint)`` from a ``full_name`` or ``checkpoint_id``, with either separator; else None."""
    if not isinstance(full_name, str):
        return None
    match = _FULL_NAME.match(full_name)
    return (match.group("job"), match.group("checkpoint")) if match else None


def _bad(what: str, request_id: str | None, job_id: str | None) -> InvalidResponseError:
    return InvalidResponseError(
        what, status_code=200, code="InvalidResponse", request_id=request_id, resource_id=job_id, resource_key="job_id"
    )


@dataclass(frozen=True)
class Checkpoint:
    """One checkpoint of a fine-tune job, as ``GET /fine-tunes/{job_id}/checkpoints`` lists it."""

    #: The checkpoint's name (``checkpoint-160``): what the export call takes.
    checkpoint: str
    job_id: str | None = None
    step: int | None = None
    #: The export's status (a :class:`CheckpointStatus`), other text for a checkpoint not exported, or None.
    status: CheckpointStatus | str | None = None
    #: The deployable model, once the export SUCCEEDED.
    model_name: str | None = None
    #: The name the export was given (its ``model_name`` argument).
    model_display_name: str | None = None
    full_name: str | None = None
    checkpoint_id: str | None = None
    create_time: pendulum.DateTime | None = None
    expire_time: pendulum.DateTime | None = None
    request_id: str | None = None
    raw: Mapping[str, Any] = field(default_factory=FrozenDict, repr=False, compare=False, hash=False)

    @property
    def status_text(self) -> str:
        return "" if self.status is None else str(self.status)

    @property
    def is_exported(self) -> bool:
        """True once its export SUCCEEDED and the deployable model name is known."""
        return self.status == CheckpointStatus.SUCCEEDED and bool(self.model_name)

    @classmethod
    def from_api(
        cls,
        item: Any,
        request_id: str | None = None,
        *,
        job_id: str | None = None,
        time_zone: str = DEFAULT_API_TIME_ZONE,
    ) -> Checkpoint:
        if not isinstance(item, Mapping):
            raise _bad(f"expected a checkpoint object, got {type(item).__name__}", request_id, job_id)
        raw = FrozenDict(item)
        name = raw.get("checkpoint")
        if not isinstance(name, str) or not name:
            parsed = checkpoint_name_of(raw.get("full_name")) or checkpoint_name_of(raw.get("checkpoint_id"))
            if parsed is None:
                raise _bad("a checkpoint object has no 'checkpoint' name", request_id, job_id)
            name = parsed[1]
        owner = raw.get("job_id") if isinstance(raw.get("job_id"), str) else None
        if owner is None:
            parsed = checkpoint_name_of(raw.get("full_name"))
            owner = parsed[0] if parsed else job_id
        return cls(
            **fields_from_api(
                cls,
                raw,
                time_zone=time_zone,
                checkpoint=name,
                job_id=owner,
                step=opt_int(raw.get("step")) if opt_int(raw.get("step")) is not None else _step_of(name),
                status=CheckpointStatus.parse(raw.get("status")),
                request_id=request_id,
                raw=raw,
            )
        )

    def summary(self) -> dict[str, Any]:
        """A small JSON-safe dict for XCom and trigger events."""
        return {
            "job_id": self.job_id,
            "checkpoint": self.checkpoint,
            "step": self.step,
            "status": self.status_text or None,
            "model_name": self.model_name,
            "model_display_name": self.model_display_name,
            "create_time": self.create_time.isoformat() if self.create_time else None,
            "expire_time": self.expire_time.isoformat() if self.expire_time else None,
            "request_id": self.request_id,
        }

    def raw_dict(self) -> dict[str, Any]:
        return dict(thaw(self.raw))


def _step_of(name: str) -> int | None:
    """The step in a name such as ``checkpoint-00040004`` (the API also sends ``step``)."""
    digits = name.rpartition("-")[2]
    return int(digits) if digits.isdigit() else None


def parse_checkpoints(
    output: Any, request_id: str | None = None, *, job_id: str | None = None, time_zone: str = DEFAULT_API_TIME_ZONE
) -> tuple[Checkpoint, ...]:
    """The checkpoints of a list answer, in the API's order (newest step first); the ``output`` is an array."""
    if isinstance(output, Mapping):
        raise _bad(
            "expected an array of checkpoints in 'output', got an object (keys: "
            f"{', '.join(sorted(map(str, output))[:5]) or 'none'})",
            request_id,
            job_id,
        )
    if output is None:
        return ()
    if not isinstance(output, list):
        raise _bad(f"expected an array of checkpoints in 'output', got {type(output).__name__}", request_id, job_id)
    return tuple(Checkpoint.from_api(item, request_id, job_id=job_id, time_zone=time_zone) for item in output)
