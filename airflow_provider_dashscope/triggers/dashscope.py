"""The trigger that waits, in the triggerer, until a fine-tune job reaches a terminal status."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

# Imported here, not inside run(): an import on the triggerer's event loop would block every other trigger.
from airflow_provider_dashscope import _waiting
from airflow_provider_dashscope._aio import shared_session
from airflow_provider_dashscope._wire import validate_job_id
from airflow_provider_dashscope.exceptions import DashScopeError, UnsupportedOperationError
from airflow_provider_dashscope.hooks.dashscope import DashScopeHook


class DashScopeFineTuneJobTrigger(BaseTrigger):
    """
    Poll a fine-tune job until it is SUCCEEDED, FAILED or CANCELED, then fire exactly one event.

    Only small primitives are serialized: never a key, a header or a client. All triggers on one event loop
    share one HTTP session. Transient failures (network, 429, 5xx) are tolerated until
    ``max_consecutive_failures`` polls in a row have failed; a 404 ends the wait at once.

    :param job_id: The fine-tune job id.
    :param dashscope_conn_id: The connection id (resolved in the triggerer, the async-safe way).
    :param poll_interval: Seconds between polls (jittered by +/-10 %).
    :param deadline: Absolute epoch seconds after which a ``timeout`` event fires; ``None`` waits forever.
    :param max_consecutive_failures: Failed polls in a row tolerated before an ``error`` event.
    :param cancel_on_kill: Cancel the job when a user kills the deferred task (Airflow 3.3+).
    :param started_at: Epoch seconds when the wait began, for the elapsed time in log lines.
    :param last_status: The status the task saw before deferring, so the first poll logs only a change.
    """

    def __init__(
        self,
        job_id: str,
        dashscope_conn_id: str = "dashscope_default",
        poll_interval: float = _waiting.DEFAULT_POLL_INTERVAL,
        deadline: float | None = None,
        max_consecutive_failures: int = _waiting.DEFAULT_MAX_CONSECUTIVE_FAILURES,
        cancel_on_kill: bool = False,
        started_at: float | None = None,
        last_status: str | None = None,
    ) -> None:
        super().__init__()
        self.job_id = validate_job_id(job_id)
        self.dashscope_conn_id = dashscope_conn_id
        self.poll_interval = float(_waiting.check_seconds("poll_interval", poll_interval, allow_zero=False))
        self.deadline = None if deadline is None else float(deadline)
        self.max_consecutive_failures = _waiting.check_max_failures(max_consecutive_failures)
        self.cancel_on_kill = bool(cancel_on_kill)
        self.started_at = float(started_at) if started_at is not None else time.time()
        self.last_status = last_status

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "job_id": self.job_id,
                "dashscope_conn_id": self.dashscope_conn_id,
                "poll_interval": self.poll_interval,
                "deadline": self.deadline,
                "max_consecutive_failures": self.max_consecutive_failures,
                "cancel_on_kill": self.cancel_on_kill,
                "started_at": self.started_at,
                "last_status": self.last_status,
            },
        )

    def _hook(self) -> DashScopeHook:
        # One attempt per poll: the trigger's own failure budget and poll schedule do the retrying.
        return DashScopeHook(self.dashscope_conn_id, max_retries=0)

    def _first_sleep(self) -> float:
        delay = self.poll_interval * random.random()
        if self.deadline is not None:
            delay = min(delay, max(0.0, self.deadline - time.time()))
        return delay

    def _next_sleep(self, now: float, retry_after: float | None) -> float:
        return _waiting.next_poll_delay(self.poll_interval, now, self.deadline, retry_after)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        async with shared_session():
            event = await self._wait()
        yield TriggerEvent(event)

    async def _wait(self) -> dict[str, Any]:
        hook = self._hook()
        tracker = _waiting.PollTracker(
            self.job_id,
            max_failures=self.max_consecutive_failures,
            started_at=self.started_at,
            last_status=self.last_status,
            log=self.log,
        )
        if self.last_status is not None:
            # The task polled just before deferring (or this is a restart of many triggers at once): spread the
            # first poll over one interval.
            await asyncio.sleep(self._first_sleep())
        while True:
            if self.deadline is not None and time.time() >= self.deadline:
                return tracker.timeout(self.deadline)
            retry_after = None
            try:
                job = await hook.aget_fine_tune_job(self.job_id)
            except Exception as err:  # a bug must end the wait with an error event, not kill the trigger silently
                if not isinstance(err, DashScopeError):
                    self.log.exception("Fine-tune job %s: unexpected error while polling", self.job_id)
                event = tracker.on_error(err)
                if hook.resolved_config is not None:
                    retry_after = _waiting.retry_after_of(err, hook.resolved_config.retry.max_delay)
            else:
                if tracker.last_job is None:
                    self.log.info(
                        "Waiting for fine-tune job %s (status %s, polling every %g s): %s",
                        self.job_id,
                        job.status_text,
                        self.poll_interval,
                        hook.console_url(self.job_id),
                    )
                event = tracker.on_job(job)
            if event is not None:
                return event
            await asyncio.sleep(self._next_sleep(time.time(), retry_after))

    async def on_kill(self) -> None:
        """Cancel the job when a user kills the deferred task (Airflow 3.3+); never on a triggerer restart."""
        if not self.cancel_on_kill:
            return
        async with shared_session():
            try:
                await DashScopeHook(self.dashscope_conn_id).acancel_fine_tune_job(self.job_id)
            except UnsupportedOperationError:
                self.log.info("Fine-tune job %s already ended; nothing to cancel.", self.job_id)
                return
        self.log.info("Requested cancellation of fine-tune job %s because the task was killed.", self.job_id)
