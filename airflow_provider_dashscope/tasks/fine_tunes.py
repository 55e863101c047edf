"""What a task that waits on a fine-tune job needs to know of it: :data:`FINE_TUNE_JOB_WAIT`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_dashscope._checks.resources import JOB_ID_HINT, validate_job_id
from airflow_provider_dashscope.links import XCOM_JOB_URL
from airflow_provider_dashscope.tasks.wait import WaitSpec

if TYPE_CHECKING:
    from airflow_provider_dashscope.hooks.dashscope import DashScopeHook
    from airflow_provider_dashscope.models import FineTuneJob
    from airflow_provider_dashscope.triggers.fine_tunes import DashScopeFineTuneJobTrigger
    from airflow_provider_dashscope.wait.machine import FetchLogs
    from airflow_provider_dashscope.wait.outcomes import WaitEvent
    from airflow_provider_dashscope.wait.policy import WaitPolicy
    from airflow_provider_dashscope.wait.progress import TrainingProgress
    from airflow_provider_dashscope.wait.training_log import LogSlice

#: Lines of a failed job's training log quoted in the task log.
FAILED_TAIL_LINES = 20


def _policy() -> WaitPolicy[FineTuneJob]:
    from airflow_provider_dashscope.wait.fine_tunes import FINE_TUNE_JOB

    return FINE_TUNE_JOB


def _trigger() -> type[DashScopeFineTuneJobTrigger]:
    from airflow_provider_dashscope.triggers.fine_tunes import DashScopeFineTuneJobTrigger

    return DashScopeFineTuneJobTrigger


def _progress(job_id: str, every_polls: int) -> TrainingProgress:
    from airflow_provider_dashscope.wait.progress import TrainingProgress

    return TrainingProgress(job_id, every_polls=every_polls)


def _fetch_logs(hook: DashScopeHook, job_id: str, read: FetchLogs) -> LogSlice:
    from airflow_provider_dashscope.wait.training_log import LogSlice

    logs = hook.get_fine_tune_job_logs(job_id, offset=read.offset, line=read.lines)
    return LogSlice(read.offset, logs.total, logs.lines)


def _quote_training_log(task: Any, event: WaitEvent) -> None:
    """Log the last lines of a failed job's training log (best effort: the failure matters more)."""
    try:
        tail = task.hook.tail_fine_tune_job_logs(event.resource_id, lines=FAILED_TAIL_LINES)
    except Exception as err:
        task.log.warning("Could not read the training log of fine-tune job %s: %s", event.resource_id, err)
        return
    if tail:
        task.log.error(
            "Last lines of the training log of fine-tune job %s (its times are the API's clock, %s):\n%s",
            event.resource_id,
            zone_label(task.hook.config.time_zone),
            "\n".join(tail),
        )


def zone_label(time_zone: str) -> str:
    """``Asia/Shanghai, UTC+08:00``: a zone's name and its offset now (lines quoted from the API carry no zone)."""
    import pendulum

    offset = pendulum.now(time_zone).format("Z")
    return "UTC" if time_zone.upper() == "UTC" else f"{time_zone}, UTC{offset}"


#: A fine-tune job: waited on until it ends (SUCCEEDED, FAILED, CANCELED), its training progress read from its log.
FINE_TUNE_JOB_WAIT: WaitSpec = WaitSpec(
    id_field="job_id",
    id_hint=JOB_ID_HINT,
    url_xcom_key=XCOM_JOB_URL,
    validate_id=validate_job_id,
    fetch=lambda hook, job_id: hook.get_fine_tune_job(job_id),
    console_url=lambda hook, job_id: hook.console_url(job_id),
    policy=_policy,
    trigger=_trigger,
    progress=_progress,
    fetch_logs=_fetch_logs,
    on_failed=_quote_training_log,
)
