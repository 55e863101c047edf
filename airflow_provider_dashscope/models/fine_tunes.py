"""Typed, deeply immutable models of fine-tune jobs, pages of jobs and training logs (no I/O).

:meth:`FineTuneJob.from_api` turns the ``output`` of a response into a frozen dataclass. Known fields are typed;
the whole ``output`` object is kept, read-only, in :attr:`FineTuneJob.raw`, so a field the API adds later is never
lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

from airflow_provider_dashscope._config import DEFAULT_API_TIME_ZONE
from airflow_provider_dashscope.exceptions import InvalidResponseError
from airflow_provider_dashscope.models._fields import (
    FrozenDict,
    fields_from_api,
    is_frozen_copy,
    opt_int,
    parse_api_time,
    thaw,
    warn_unknown_status_once,
)

if TYPE_CHECKING:
    import pendulum

__all__ = [
    "DEFAULT_API_TIME_ZONE",
    "TERMINAL_STATUSES",
    "FineTuneJob",
    "FineTuneJobLogs",
    "FineTuneJobPage",
    "JobStatus",
    "is_terminal",
    "parse_api_time",
]


class JobStatus(str, Enum):
    """Status of a fine-tune job, spelled as the API spells it."""

    PENDING = "PENDING"
    QUEUING = "QUEUING"
    RUNNING = "RUNNING"
    CANCELING = "CANCELING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"

    def __str__(self) -> str:
        return self.value

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES

    @classmethod
    def parse(cls, value: str) -> JobStatus | str:
        """Return the enum member, or the text itself for a status this provider does not know yet."""
        try:
            return cls(value)
        except ValueError:
            warn_unknown_status_once("job", value)
            return value


TERMINAL_STATUSES = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELED})


def is_terminal(status: JobStatus | str | None) -> bool:
    """True for SUCCEEDED, FAILED and CANCELED; an unknown status is never terminal."""
    return status in TERMINAL_STATUSES


def _bad(what: str, request_id: str | None, job_id: str | None = None) -> InvalidResponseError:
    return InvalidResponseError(
        what, status_code=200, code="InvalidResponse", request_id=request_id, resource_id=job_id, resource_key="job_id"
    )


@dataclass(frozen=True)
class FineTuneJob:
    """One fine-tune job, as returned by ``GET /fine-tunes/{job_id}`` (and the list, create calls)."""

    job_id: str
    status: JobStatus | str
    job_name: str | None = None
    finetuned_output: str | None = None
    model: str | None = None
    base_model: str | None = None
    training_file_ids: tuple[str, ...] = ()
    validation_file_ids: tuple[str, ...] = ()
    hyper_parameters: Mapping[str, Any] = field(default_factory=FrozenDict, hash=False)
    training_type: str | None = None
    create_time: pendulum.DateTime | None = None
    end_time: pendulum.DateTime | None = None
    workspace_id: str | None = None
    user_identity: str | None = None
    modifier: str | None = None
    creator: str | None = None
    group: str | None = None
    usage: int | None = None
    output_cnt: int | None = None
    max_output_cnt: int | None = None
    code: str | None = None
    message: str | None = None
    request_id: str | None = None
    raw: Mapping[str, Any] = field(default_factory=FrozenDict, repr=False, compare=False, hash=False)

    @property
    def is_terminal(self) -> bool:
        return is_terminal(self.status)

    @property
    def status_text(self) -> str:
        return str(self.status)

    @classmethod
    def from_api(
        cls,
        output: Any,
        request_id: str | None = None,
        *,
        time_zone: str = DEFAULT_API_TIME_ZONE,
        unchanged_from: FineTuneJob | None = None,
    ) -> FineTuneJob:
        """Build a job from a response's ``output``; raise :class:`InvalidResponseError` if it is not a job.

        :param unchanged_from: A job read before in the same ``time_zone`` (the previous poll of a wait). When
            ``output`` is the answer it was read from, that job is returned with this ``request_id`` instead of
            reading every field again: most polls of a job find it unchanged.
        """
        if unchanged_from is not None and type(output) is dict and is_frozen_copy(unchanged_from.raw, output):
            return unchanged_from._with_request_id(request_id)
        if not isinstance(output, Mapping):
            raise _bad(f"expected a fine-tune job object in 'output', got {type(output).__name__}", request_id)
        job_id = output.get("job_id")
        status = output.get("status")
        if not isinstance(job_id, str) or not job_id:
            raise _bad("the job object has no 'job_id'", request_id)
        if not isinstance(status, str) or not status:
            raise _bad("the job object has no 'status'", request_id, job_id)
        raw = FrozenDict(output)  # frozen once; the fields read from it
        return cls(
            **fields_from_api(
                cls,
                raw,
                time_zone=time_zone,
                job_id=job_id,
                status=JobStatus.parse(status),
                request_id=request_id,
                raw=raw,
            )
        )

    def _with_request_id(self, request_id: str | None) -> FineTuneJob:
        """This job as another answer's (a copy of its fields: no field is read or converted again)."""
        if request_id == self.request_id:
            return self
        job = object.__new__(type(self))
        job.__dict__.update(self.__dict__)
        job.__dict__["request_id"] = request_id
        return job

    def summary(self) -> dict[str, Any]:
        """A small JSON-safe dict for XCom and trigger events; never the raw response."""
        return {
            "job_id": self.job_id,
            "status": self.status_text,
            "finetuned_output": self.finetuned_output,
            "usage": self.usage,
            "model": self.model,
            "base_model": self.base_model,
            "create_time": self.create_time.isoformat() if self.create_time else None,
            "end_time": self.end_time.isoformat() if self.end_time else None,
            "code": self.code,
            "message": self.message,
            "request_id": self.request_id,
        }

    def raw_dict(self) -> dict[str, Any]:
        """The API's object as plain, mutable JSON (a copy)."""
        return dict(thaw(self.raw))


@dataclass(frozen=True)
class FineTuneJobPage:
    """One page of ``GET /fine-tunes``."""

    page_no: int
    page_size: int
    #: Jobs across all pages, or ``None`` when the API did not say.
    total: int | None
    jobs: tuple[FineTuneJob, ...]
    request_id: str | None = None

    @classmethod
    def from_api(
        cls, output: Any, request_id: str | None = None, *, time_zone: str = DEFAULT_API_TIME_ZONE
    ) -> FineTuneJobPage:
        if not isinstance(output, Mapping) or not isinstance(output.get("jobs", []), list):
            raise _bad("expected a page of jobs in 'output'", request_id)
        jobs = tuple(FineTuneJob.from_api(item, request_id, time_zone=time_zone) for item in output.get("jobs") or [])
        return cls(
            page_no=opt_int(output.get("page_no")) or 1,
            page_size=opt_int(output.get("page_size")) or len(jobs),
            total=opt_int(output.get("total")),
            jobs=jobs,
            request_id=request_id,
        )


@dataclass(frozen=True)
class FineTuneJobLogs:
    """A slice of a job's training log."""

    total: int
    lines: tuple[str, ...]
    request_id: str | None = None

    @classmethod
    def from_api(cls, output: Any, request_id: str | None = None) -> FineTuneJobLogs:
        if not isinstance(output, Mapping):
            raise _bad("expected a log object in 'output'", request_id)
        logs = output.get("logs")
        if isinstance(logs, str):
            lines: tuple[str, ...] = tuple(logs.splitlines())
        elif isinstance(logs, list):
            lines = tuple(str(line) for line in logs)
        else:
            lines = ()
        return cls(total=opt_int(output.get("total")) or len(lines), lines=lines, request_id=request_id)
