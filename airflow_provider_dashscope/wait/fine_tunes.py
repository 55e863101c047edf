"""Waiting on a fine-tune job: done when SUCCEEDED, FAILED or CANCELED (see :data:`FINE_TUNE_JOB`)."""

from __future__ import annotations

from airflow_provider_dashscope.exceptions import (
    DashScopeError,
    FineTuneJobCancelledError,
    FineTuneJobFailedError,
    FineTuneJobNotFoundError,
    FineTuneJobTimeoutError,
    request_id_note,
)
from airflow_provider_dashscope.models import FineTuneJob, JobStatus
from airflow_provider_dashscope.wait.outcomes import JOB_EVENT_KEYS, Outcome, WaitEvent
from airflow_provider_dashscope.wait.policy import WaitPolicy

_OUTCOMES = {
    JobStatus.SUCCEEDED.value: Outcome.SUCCESS,
    JobStatus.FAILED.value: Outcome.FAILED,
    JobStatus.CANCELED.value: Outcome.CANCELLED,
}

#: What a fine-tune wait returns (its ``return_value`` XCom) and which of those keys are XComs of their own.
RESULT_KEYS = ("job_id", "status", "finetuned_output", "usage", "model", "base_model", "create_time", "end_time")
XCOM_KEYS = ("job_id", "status", "finetuned_output", "usage")


def describe_job_end(job: FineTuneJob) -> str:
    """One line about how a job ended: status, the job's own code/message, and the request id."""
    text = f"Fine-tune job {job.job_id} ended with status {job.status_text}"
    details = [f"{name}={value}" for name, value in (("code", job.code), ("message", job.message)) if value]
    if details:
        text += " (" + ", ".join(details) + ")"
    return text + request_id_note(job.request_id)


def _end_message(job: FineTuneJob, outcome: Outcome) -> str:
    if outcome is Outcome.SUCCESS:
        return f"Fine-tune job {job.job_id} succeeded: finetuned_output={job.finetuned_output}, usage={job.usage}"
    return describe_job_end(job)


def not_found_error(job_id: str, request_id: str | None) -> FineTuneJobNotFoundError:
    return FineTuneJobNotFoundError(
        f"Fine-tune job {job_id} was not found (HTTP 404, request_id={request_id or 'unknown'}); "
        "check the job id and that the connection points at the job's region and workspace",
        job_id=job_id,
    )


def _error_of(event: WaitEvent) -> Exception:
    job_id, status = event.resource_id, event.resource_status
    if event.outcome is Outcome.FAILED:
        return FineTuneJobFailedError(event.message, job_id=job_id, job_status=status)
    if event.outcome is Outcome.CANCELLED:
        return FineTuneJobCancelledError(event.message, job_id=job_id, job_status=status)
    if event.outcome is Outcome.TIMEOUT:
        return FineTuneJobTimeoutError(event.message, job_id=job_id, job_status=status)
    if event.http_status == 404:
        return not_found_error(job_id, event.request_id)
    return DashScopeError(event.message)


FINE_TUNE_JOB: WaitPolicy[FineTuneJob] = WaitPolicy(
    kind="Fine-tune job",
    event_keys=JOB_EVENT_KEYS,
    status_of=lambda job: job.status_text,
    outcome_of=_OUTCOMES.get,
    summary_of=FineTuneJob.summary,
    end_message=_end_message,
    request_id_of=lambda job: job.request_id,
    result_keys=RESULT_KEYS,
    xcom_keys=XCOM_KEYS,
    error_of=_error_of,
)
