"""What every task that waits on a fine-tune job shares: the operators and the sensor."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_dashscope.links import XCOM_JOB_URL
from airflow_provider_dashscope.resources.fine_tunes import JOB_ID_HINT, validate_job_id
from airflow_provider_dashscope.tasks.wait import ResourceWaitMixin

if TYPE_CHECKING:
    from airflow.triggers.base import BaseTrigger

    from airflow_provider_dashscope.hooks.dashscope import DashScopeHook
    from airflow_provider_dashscope.models import FineTuneJob
    from airflow_provider_dashscope.wait.machine import FetchLogs
    from airflow_provider_dashscope.wait.outcomes import WaitEvent
    from airflow_provider_dashscope.wait.policy import WaitPolicy
    from airflow_provider_dashscope.wait.progress import TrainingProgress
    from airflow_provider_dashscope.wait.training_log import LogSlice


class FineTuneJobWaitMixin(ResourceWaitMixin["FineTuneJob"]):
    """What every task that waits on a fine-tune job shares (the operators here and the sensor)."""

    id_field = "job_id"
    id_hint = JOB_ID_HINT
    url_xcom_key = XCOM_JOB_URL
    #: Whether the trigger cancels the job when a user kills the deferred task (the create operator's choice).
    cancel_on_kill = False
    #: Log the training progress read from the job's log while waiting (the tasks' ``log_training_progress``).
    log_training_progress = True
    job_id: Any

    @property
    def wait_policy(self) -> WaitPolicy[FineTuneJob]:
        from airflow_provider_dashscope.wait.fine_tunes import FINE_TUNE_JOB

        return FINE_TUNE_JOB

    def _validate_id(self, value: Any) -> str:
        return validate_job_id(value)

    def _fetch(self, hook: DashScopeHook, resource_id: str) -> FineTuneJob:
        return hook.get_fine_tune_job(resource_id)

    def _progress(self, resource_id: str) -> TrainingProgress | None:
        if not self.log_training_progress:
            return None
        from airflow_provider_dashscope._settings import every_polls_setting
        from airflow_provider_dashscope.wait.progress import TrainingProgress

        return TrainingProgress(resource_id, every_polls=every_polls_setting())

    def _fetch_logs(self, hook: DashScopeHook, resource_id: str, read: FetchLogs) -> LogSlice:
        from airflow_provider_dashscope.wait.training_log import LogSlice

        logs = hook.get_fine_tune_job_logs(resource_id, offset=read.offset, line=read.lines)
        return LogSlice(read.offset, logs.total, logs.lines)

    def _console_url(self, resource_id: str) -> str:
        return self.hook.console_url(resource_id)

    def _make_trigger(
        self, resource_id: str, *, deadline: float | None, started_at: float, last_status: str | None
    ) -> BaseTrigger:
        from airflow_provider_dashscope.triggers.fine_tunes import DashScopeFineTuneJobTrigger

        return DashScopeFineTuneJobTrigger(
            job_id=resource_id,
            dashscope_conn_id=self.dashscope_conn_id,
            poll_interval=self.poll_interval,
            deadline=deadline,
            max_consecutive_failures=self.max_consecutive_failures,
            cancel_on_kill=self.cancel_on_kill,
            started_at=started_at,
            last_status=last_status,
            log_training_progress=self.log_training_progress,
        )

    def _on_failed(self, event: WaitEvent) -> None:
        """Log the last lines of a failed job's training log (best effort: the failure matters more)."""
        try:
            tail = self.hook.tail_fine_tune_job_logs(event.resource_id, lines=20)
        except Exception as err:
            self.log.warning("Could not read the training log of fine-tune job %s: %s", event.resource_id, err)
            return
        if tail:
            self.log.error(
                "Last lines of the training log of fine-tune job %s (its times are the API's clock, %s):\n%s",
                event.resource_id,
                zone_label(self.hook.config.time_zone),
                "\n".join(tail),
            )


def zone_label(time_zone: str) -> str:
    """``Asia/Shanghai, UTC+08:00``: a zone's name and its offset now (lines quoted from the API carry no zone)."""
    import pendulum

    offset = pendulum.now(time_zone).format("Z")
    return "UTC" if time_zone.upper() == "UTC" else f"{time_zone}, UTC{offset}"
