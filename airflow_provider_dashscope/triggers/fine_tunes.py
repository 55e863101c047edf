"""The trigger that waits, in the triggerer, until a fine-tune job ends, reading its training progress on the way."""

from __future__ import annotations

from typing import Any

# Imported here, not inside run(): an import on the triggerer's event loop would block every other trigger.
from airflow_provider_dashscope._http.async_transport import loop_cache
from airflow_provider_dashscope._settings import every_polls_setting
from airflow_provider_dashscope.hooks.dashscope import DashScopeHook
from airflow_provider_dashscope.models import FineTuneJob
from airflow_provider_dashscope.resources.fine_tunes import validate_job_id
from airflow_provider_dashscope.triggers.base import DashScopeWaitTrigger
from airflow_provider_dashscope.wait.fine_tunes import FINE_TUNE_JOB
from airflow_provider_dashscope.wait.machine import FetchLogs
from airflow_provider_dashscope.wait.progress import TrainingProgress
from airflow_provider_dashscope.wait.training_log import LogSlice

__all__ = ["DashScopeFineTuneJobTrigger"]


class DashScopeFineTuneJobTrigger(DashScopeWaitTrigger[FineTuneJob]):
    """
    Poll a fine-tune job until it is SUCCEEDED, FAILED or CANCELED, then fire exactly one event.

    Transient failures (network, 429, 5xx) are tolerated until ``max_consecutive_failures`` polls in a row have
    failed; a 404 ends the wait at once. The event's payload: ``status`` (``success``, ``failed``, ``cancelled``,
    ``error`` or ``timeout``), ``job_id``, ``job_status``, ``message``, ``job`` (the job's summary),
    ``http_status`` and ``request_id``.

    :param job_id: The fine-tune job id.
    :param dashscope_conn_id: The connection id (resolved in the triggerer, the async-safe way).
    :param poll_interval: Seconds between polls (jittered by +/-10 %).
    :param deadline: Absolute epoch seconds after which a ``timeout`` event fires; ``None`` waits forever.
    :param max_consecutive_failures: Failed polls in a row tolerated before an ``error`` event.
    :param cancel_on_kill: Cancel the job when a user kills the deferred task (Airflow 3.3+).
    :param started_at: Epoch seconds when the wait began, for the elapsed time in log lines.
    :param last_status: The status the task saw before deferring: the first poll is spread over one interval and
        logs only a change.
    :param log_training_progress: While the job is RUNNING, read its new training log lines every few polls and
        log the epoch, step, loss and time left when training moved on; on success, one summary line. Kwargs
        serialized before this parameter existed rebuild the trigger with it on.
    """

    policy = FINE_TUNE_JOB
    id_kwarg = "job_id"

    def __init__(self, job_id: str, log_training_progress: bool = True, **kwargs: Any) -> None:
        super().__init__(validate_job_id(job_id), **kwargs)
        self.log_training_progress = bool(log_training_progress)

    @property
    def job_id(self) -> str:
        return self.resource_id

    def _extra_kwargs(self) -> dict[str, Any]:
        return {"log_training_progress": self.log_training_progress}

    async def _fetch(self, hook: DashScopeHook) -> FineTuneJob:
        return await hook.aget_fine_tune_job(self.resource_id)

    def _progress(self) -> TrainingProgress | None:
        if not self.log_training_progress:
            return None
        cache = loop_cache()  # the setting is read once per event loop, not once per wait
        every = cache.get(every_polls_setting)
        if every is None:
            every = cache[every_polls_setting] = every_polls_setting()
        return TrainingProgress(self.resource_id, every_polls=every)

    async def _fetch_logs(self, hook: DashScopeHook, read: FetchLogs) -> LogSlice:
        logs = await hook.aget_fine_tune_job_logs(self.resource_id, offset=read.offset, line=read.lines)
        return LogSlice(read.offset, logs.total, logs.lines)

    async def _cancel(self, hook: DashScopeHook) -> None:
        await hook.acancel_fine_tune_job(self.resource_id)

    def _console_url(self, hook: DashScopeHook) -> str:
        return hook.console_url(self.resource_id)
