"""Waiting on a fine-tune job: done when SUCCEEDED, FAILED or CANCELED (see :data:`FINE_TUNE_JOB`)."""

from __future__ import annotations

from airflow_provider_dashscope.exceptions import request_id_note
from airflow_provider_dashscope.models import FineTuneJob, JobStatus
from airflow_provider_dashscope.wait.outcomes import JOB_EVENT_KEYS, Outcome
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
)
