"""What waiting on a job means, shared by the trigger, the sensor and the operators (no I/O).

A trigger event is a small JSON dict::

    {"status": "success" | "failed" | "cancelled" | "error" | "timeout",
     "job_id": str, "job_status": str | None, "message": str,
     "job": {...FineTuneJob.summary()...} | None,
     "http_status": int | None, "request_id": str | None}

:func:`raise_for_event` turns an event that is not ``success`` into the exception the task should raise, so the
deferrable path and the worker-side paths fail in exactly the same way.
"""

from __future__ import annotations

import logging
import math
import random
import time
from datetime import timedelta
from typing import Any

from airflow_provider_dashscope._wire import is_transient, validate_job_id
from airflow_provider_dashscope.exceptions import (
    DashScopeAPIError,
    DashScopeConfigError,
    DashScopeError,
    FineTuneJobCancelledError,
    FineTuneJobFailedError,
    FineTuneJobNotFoundError,
    FineTuneJobTimeoutError,
    NotFoundError,
)
from airflow_provider_dashscope.models import FineTuneJob, JobStatus

#: Each sleep between polls is the poll interval times a factor drawn from this range, so waits started
#: together drift apart instead of polling in lock-step.
POLL_JITTER = (0.9, 1.1)

EVENT_STATUSES = frozenset({"success", "failed", "cancelled", "error", "timeout"})

DEFAULT_POLL_INTERVAL = 60.0
DEFAULT_TIMEOUT = 7 * 24 * 3600.0
DEFAULT_MAX_CONSECUTIVE_FAILURES = 5

#: XCom keys pushed by the operators.
XCOM_JOB_ID = "job_id"
XCOM_STATUS = "status"
XCOM_FINETUNED_OUTPUT = "finetuned_output"
XCOM_USAGE = "usage"
XCOM_JOB_URL = "job_url"

RESULT_KEYS = ("job_id", "status", "finetuned_output", "usage", "model", "base_model", "create_time", "end_time")


def _event(
    status: str,
    job_id: str,
    message: str,
    *,
    job: FineTuneJob | None = None,
    job_status: str | None = None,
    http_status: int | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    return {
        "status": status,
        "job_id": job_id,
        "job_status": job.status_text if job is not None else job_status,
        "message": message,
        "job": job.summary() if job is not None else None,
        "http_status": http_status,
        "request_id": request_id if request_id is not None else (job.request_id if job is not None else None),
    }


def describe_job_end(job: FineTuneJob) -> str:
    """One line about how a job ended: status, the job's own code/message, and the request id."""
    text = f"Fine-tune job {job.job_id} ended with status {job.status_text}"
    details = []
    if job.code:
        details.append(f"code={job.code}")
    if job.message:
        details.append(f"message={job.message}")
    if details:
        text += " (" + ", ".join(details) + ")"
    return text + f" [request_id={job.request_id or 'unknown'}]"


def event_for_job(job: FineTuneJob) -> dict[str, Any] | None:
    """The event that ends a wait on ``job``, or ``None`` while it is not terminal."""
    if job.status == JobStatus.SUCCEEDED:
        return _event(
            "success",
            job.job_id,
            f"Fine-tune job {job.job_id} succeeded: finetuned_output={job.finetuned_output}, usage={job.usage}",
            job=job,
        )
    if job.status == JobStatus.FAILED:
        return _event("failed", job.job_id, describe_job_end(job), job=job)
    if job.status == JobStatus.CANCELED:
        return _event("cancelled", job.job_id, describe_job_end(job), job=job)
    return None


def error_event(job_id: str, error: BaseException, *, last_job: FineTuneJob | None = None) -> dict[str, Any]:
    if isinstance(error, DashScopeAPIError):
        return _event(
            "error",
            job_id,
            str(error),
            job=last_job,
            http_status=error.status_code,
            request_id=error.request_id,
        )
    text = str(error) if isinstance(error, DashScopeError) else f"{type(error).__name__}: {error}"
    return _event("error", job_id, text, job=last_job, request_id=getattr(error, "request_id", None))


def timeout_event(job_id: str, deadline: float, last_job: FineTuneJob | None) -> dict[str, Any]:
    status = last_job.status_text if last_job is not None else "unknown"
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(deadline))
    return _event(
        "timeout",
        job_id,
        f"Timed out waiting for fine-tune job {job_id}: still {status} at the deadline {when}",
        job=last_job,
    )


def validate_event(event: Any) -> dict[str, Any]:
    """Check the event ``execute_complete`` received; raise a clear error for ``None`` or an unknown status."""
    if not isinstance(event, dict):
        raise DashScopeError(f"execute_complete expected a trigger event dict, got {event!r}")
    status = event.get("status")
    if status not in EVENT_STATUSES:
        raise DashScopeError(
            f"execute_complete got an event with unknown status {status!r} (expected one of "
            f"{', '.join(sorted(EVENT_STATUSES))}): {event!r}"
        )
    if not isinstance(event.get("job_id"), str):
        raise DashScopeError(f"execute_complete got an event without a job_id: {event!r}")
    return event


def raise_for_event(event: dict[str, Any]) -> None:
    """Raise what an event that is not ``success`` means for the task."""
    status = event["status"]
    job_id = event["job_id"]
    message = event.get("message") or f"fine-tune job {job_id}: {status}"
    if status == "success":
        return
    if status == "failed":
        raise FineTuneJobFailedError(message, job_id=job_id, job_status=event.get("job_status"))
    if status == "cancelled":
        raise FineTuneJobCancelledError(message, job_id=job_id, job_status=event.get("job_status"))
    if status == "timeout":
        raise FineTuneJobTimeoutError(message, job_id=job_id, job_status=event.get("job_status"))
    if event.get("http_status") == 404:
        raise not_found_error(job_id, event.get("request_id"))
    raise DashScopeError(message)


def not_found_error(job_id: str, request_id: str | None) -> FineTuneJobNotFoundError:
    return FineTuneJobNotFoundError(
        f"Fine-tune job {job_id} was not found (HTTP 404, request_id={request_id or 'unknown'}); "
        "check the job id and that the connection points at the job's region and workspace",
        job_id=job_id,
    )


def result_of(job: FineTuneJob) -> dict[str, Any]:
    """The small dict an operator returns (its ``return_value`` XCom)."""
    summary = job.summary()
    return {key: summary[key] for key in RESULT_KEYS}


class PollTracker:
    """The rules of one wait, shared by the trigger (async) and the operators' worker-side loop (sync).

    Feed it each poll's outcome; it logs one INFO line per status change, counts consecutive failures and says
    when the wait is over by returning the event that ends it.
    """

    __slots__ = ("job_id", "max_failures", "started_at", "status", "failures", "last_job", "log")

    def __init__(
        self,
        job_id: str,
        *,
        max_failures: int,
        started_at: float,
        last_status: str | None,
        log: logging.Logger,
    ) -> None:
        self.job_id = job_id
        self.max_failures = max_failures
        self.started_at = started_at
        self.status = last_status
        self.failures = 0
        self.last_job: FineTuneJob | None = None
        self.log = log

    def on_job(self, job: FineTuneJob) -> dict[str, Any] | None:
        """A poll answered: log a status change; return the ending event if the job is terminal."""
        self.failures = 0
        self.last_job = job
        if job.status_text != self.status:
            self.log.info(
                "Fine-tune job %s: %s -> %s after %.0f s",
                self.job_id,
                self.status or "?",
                job.status_text,
                time.time() - self.started_at,
            )
            self.status = job.status_text
        return event_for_job(job)

    def on_error(self, error: BaseException) -> dict[str, Any] | None:
        """A poll failed: return the ending error event, or ``None`` while the failure budget lasts."""
        if isinstance(error, DashScopeError) and is_transient(error) and not isinstance(error, NotFoundError):
            self.failures += 1
            if self.failures < self.max_failures:
                self.log.warning(
                    "Fine-tune job %s: poll failed (%d of %d tolerated in a row): %s",
                    self.job_id,
                    self.failures,
                    self.max_failures,
                    error,
                )
                return None
            self.log.error("Fine-tune job %s: %d polls failed in a row; giving up: %s", self.job_id, self.failures, error)
        return error_event(self.job_id, error, last_job=self.last_job)

    def timeout(self, deadline: float) -> dict[str, Any]:
        return timeout_event(self.job_id, deadline, self.last_job)


def log_training_tail(hook: Any, job_id: str, log: logging.Logger, lines: int = 20) -> None:
    """Log the last lines of a failed job's training log (best effort: the failure matters more than its log)."""
    try:
        tail = hook.tail_fine_tune_job_logs(job_id, lines=lines)
    except Exception as err:
        log.warning("Could not read the training log of fine-tune job %s: %s", job_id, err)
        return
    if tail:
        log.error("Last lines of the training log of fine-tune job %s:\n%s", job_id, "\n".join(tail))


def retry_after_of(error: BaseException, cap: float) -> float | None:
    """A server's ``Retry-After`` carried by ``error``, capped like the hook's retries (``retry_max_delay``)."""
    retry_after = getattr(error, "retry_after", None)
    return None if retry_after is None else min(retry_after, cap)


def next_poll_delay(poll_interval: float, now: float, deadline: float | None, retry_after: float | None = None) -> float:
    """Seconds to the next poll: the interval with jitter, at least a server's ``Retry-After``, never past the
    deadline."""
    delay = poll_interval * random.uniform(*POLL_JITTER)
    if retry_after is not None:
        delay = max(delay, retry_after)
    if deadline is not None:
        delay = min(delay, max(0.0, deadline - now))
    return delay


# ------------------------------------------------------------------------------------------------------------
# Argument checks shared by the sensor and the operators
# ------------------------------------------------------------------------------------------------------------
def is_templated(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def check_job_id_arg(job_id: Any) -> None:
    """At DAG parse: a literal job id must be valid now; a template or an XComArg is checked in ``execute``."""
    if job_id is None or isinstance(job_id, (int, float, bool, bytes, list, dict, tuple)):
        validate_job_id(job_id)
    if isinstance(job_id, str) and not is_templated(job_id):
        validate_job_id(job_id)


def check_seconds(name: str, value: Any, *, allow_zero: bool, allow_none: bool = False) -> float | None:
    """Return ``value`` as seconds, or raise a ``ValueError`` naming the argument and the fix."""
    if value is None and allow_none:
        return None
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        raise DashScopeConfigError(f"{name} must be a number of seconds or a timedelta, got {value!r}")
    if not math.isfinite(seconds) or seconds < 0 or (seconds == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise DashScopeConfigError(f"{name} must be {bound} seconds, got {value!r}")
    return seconds


def check_max_failures(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise DashScopeConfigError(
            f"max_consecutive_failures must be an integer >= 1 (failed polls tolerated in a row), got {value!r}"
        )
    return value


def deadline_from(timeout: float | None, execution_timeout: timedelta | None, now: float | None = None) -> float | None:
    """Absolute epoch deadline of a wait: the earlier of ``timeout`` and the task's ``execution_timeout``."""
    now = time.time() if now is None else now
    candidates = []
    if timeout is not None:
        candidates.append(now + timeout)
    if execution_timeout is not None:
        candidates.append(now + execution_timeout.total_seconds())
    return min(candidates) if candidates else None
