"""Typed, forward-compatible models of DashScope fine-tune responses.

No I/O here: :meth:`FineTuneJob.from_api` turns the ``output`` of a response into a frozen dataclass. Known fields
are typed; the whole ``output`` dict is kept in :attr:`FineTuneJob.raw`, so a field the API adds later is never
lost.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import pendulum

from airflow_provider_dashscope.exceptions import InvalidResponseError

log = logging.getLogger(__name__)

#: The API returns ``create_time``/``end_time`` as ``YYYY-MM-DD HH:MM:SS`` with no zone. Job ids, times and log
#: lines share one server clock, which points at Beijing time (UTC+8). Configurable per connection.
DEFAULT_API_TIME_ZONE = "Asia/Shanghai"

_API_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})")


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
            if value not in _unknown_statuses_seen:
                _unknown_statuses_seen.add(value)
                log.warning("DashScope returned an unknown job status %r; treating it as not terminal.", value)
            return value


TERMINAL_STATUSES = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELED})
_unknown_statuses_seen: set[str] = set()


def is_terminal(status: JobStatus | str | None) -> bool:
    """True for SUCCEEDED, FAILED and CANCELED; an unknown status is never terminal."""
    return status in TERMINAL_STATUSES


def parse_api_time(value: Any, time_zone: str = DEFAULT_API_TIME_ZONE) -> pendulum.DateTime | None:
    """Parse an API timestamp (``2024-10-29 16:53:53``, or ISO-8601) into an aware datetime.

    A value with its own offset keeps it; a naive value is read in ``time_zone``. Anything unparseable gives
    ``None`` rather than an error, so a cosmetic field never fails a DAG.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    match = _API_TIME.fullmatch(value)
    if match:  # the documented form, parsed without the general parser
        try:
            return pendulum.datetime(*(int(part) for part in match.groups()), tz=time_zone)
        except (ValueError, OverflowError):
            return None
    try:
        parsed = pendulum.parse(value.strip(), tz=time_zone, strict=False)
    except (ValueError, TypeError, OverflowError):
        return None
    return parsed if isinstance(parsed, pendulum.DateTime) else None


def _opt_str(output: dict[str, Any], key: str) -> str | None:
    value = output.get(key)
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _opt_int(output: dict[str, Any], key: str) -> int | None:
    value = output.get(key)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.lstrip("-").isdigit() and text.count("-") <= 1:
            return int(text)
        return None
    if isinstance(value, dict):  # some clients report usage as {"total_tokens": n}
        return _opt_int(value, "total_tokens")
    return None


def _str_list(output: dict[str, Any], key: str) -> tuple[str, ...]:
    value = output.get(key)
    if isinstance(value, list):
        return tuple(str(v) for v in value if v is not None)
    if isinstance(value, str) and value:
        return (value,)
    return ()


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
    hyper_parameters: dict[str, Any] = field(default_factory=dict, hash=False)
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
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

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
    ) -> FineTuneJob:
        """Build a job from a response's ``output``; raise :class:`InvalidResponseError` if it is not a job."""
        if not isinstance(output, dict):
            raise InvalidResponseError(
                f"expected a fine-tune job object in 'output', got {type(output).__name__}",
                status_code=200,
                code="InvalidResponse",
                request_id=request_id,
            )
        job_id = output.get("job_id")
        status = output.get("status")
        if not isinstance(job_id, str) or not job_id:
            raise InvalidResponseError(
                "the job object has no 'job_id'", status_code=200, code="InvalidResponse", request_id=request_id
            )
        if not isinstance(status, str) or not status:
            raise InvalidResponseError(
                "the job object has no 'status'",
                status_code=200,
                code="InvalidResponse",
                request_id=request_id,
                job_id=job_id,
            )
        hyper = output.get("hyper_parameters")
        return cls(
            job_id=job_id,
            status=JobStatus.parse(status),
            job_name=_opt_str(output, "job_name"),
            finetuned_output=_opt_str(output, "finetuned_output"),
            model=_opt_str(output, "model"),
            base_model=_opt_str(output, "base_model"),
            training_file_ids=_str_list(output, "training_file_ids"),
            validation_file_ids=_str_list(output, "validation_file_ids"),
            hyper_parameters=dict(hyper) if isinstance(hyper, dict) else {},
            training_type=_opt_str(output, "training_type"),
            create_time=parse_api_time(output.get("create_time"), time_zone),
            end_time=parse_api_time(output.get("end_time"), time_zone),
            workspace_id=_opt_str(output, "workspace_id"),
            user_identity=_opt_str(output, "user_identity"),
            modifier=_opt_str(output, "modifier"),
            creator=_opt_str(output, "creator"),
            group=_opt_str(output, "group"),
            usage=_opt_int(output, "usage"),
            output_cnt=_opt_int(output, "output_cnt"),
            max_output_cnt=_opt_int(output, "max_output_cnt"),
            code=_opt_str(output, "code"),
            message=_opt_str(output, "message"),
            request_id=request_id,
            raw=output,
        )

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
        if not isinstance(output, dict) or not isinstance(output.get("jobs", []), list):
            raise InvalidResponseError(
                "expected a page of jobs in 'output'",
                status_code=200,
                code="InvalidResponse",
                request_id=request_id,
            )
        jobs = tuple(
            FineTuneJob.from_api(item, request_id, time_zone=time_zone) for item in output.get("jobs") or []
        )
        return cls(
            page_no=_opt_int(output, "page_no") or 1,
            page_size=_opt_int(output, "page_size") or len(jobs),
            total=_opt_int(output, "total"),
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
        if not isinstance(output, dict):
            raise InvalidResponseError(
                "expected a log object in 'output'", status_code=200, code="InvalidResponse", request_id=request_id
            )
        logs = output.get("logs")
        if isinstance(logs, str):
            lines = tuple(logs.splitlines())
        elif isinstance(logs, list):
            lines = tuple(str(line) for line in logs)
        else:
            lines = ()
        return cls(total=_opt_int(output, "total") or len(lines), lines=lines, request_id=request_id)
