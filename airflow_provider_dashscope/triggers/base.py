"""The trigger every DashScope wait is: drive the wait engine on the triggerer's loop and fire one event.

Each resource's trigger (:mod:`.fine_tunes`, :mod:`.deployments`) says what to fetch and which policy applies.

Waits on one event loop that poll the same resource over the same connection share their requests (see
:mod:`~airflow_provider_dashscope._http.coalescing`): N waits on one job make one GET per poll interval, each with
its own schedule, deadline, failure budget, log lines and event.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, ClassVar, Generic, TypeVar

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_dashscope._checks.arguments import (
    DEFAULT_MAX_CONSECUTIVE_FAILURES,
    DEFAULT_POLL_INTERVAL,
    check_interval,
    check_max_failures,
)
from airflow_provider_dashscope._http.async_transport import loop_cache, shared_session
from airflow_provider_dashscope._http.coalescing import SharedRequests, shared_requests

# Imported here, not inside run(): an import on the triggerer's event loop would block every other trigger.
from airflow_provider_dashscope._regions import DEFAULT_CONN_ID
from airflow_provider_dashscope.exceptions import UnsupportedOperationError
from airflow_provider_dashscope.hooks.dashscope import CONFIG_CACHE_SECONDS, DashScopeHook
from airflow_provider_dashscope.wait.drivers import run_async
from airflow_provider_dashscope.wait.machine import JITTER, FetchLogs, Progress, WaitMachine
from airflow_provider_dashscope.wait.outcomes import WaitEvent
from airflow_provider_dashscope.wait.policy import WaitPolicy
from airflow_provider_dashscope.wait.training_log import LogSlice

R = TypeVar("R")


class DashScopeWaitTrigger(BaseTrigger, Generic[R]):
    """Drive a :class:`~airflow_provider_dashscope.wait.machine.WaitMachine` on the triggerer's loop; fire one event.

    Only small primitives are serialized: never a key, a header or a client. All triggers on one event loop share
    one HTTP session; each poll is one HTTP attempt (the machine's failure budget does the retrying). Polls of the
    same resource over the same connection are shared: an answer whose request was sent less than
    ``0.9 * poll_interval`` ago is reused (the least a wait sleeps between its own polls, so a lone wait never reuses
    its own answer).
    """

    policy: ClassVar[WaitPolicy[Any]]
    #: The keyword that carries the resource id in the serialized kwargs (``job_id``).
    id_kwarg: ClassVar[str]
    #: The clock and the sleep the wait runs on (replaceable, e.g. by a test's fake time).
    clock: Callable[[], float] = staticmethod(time.time)
    sleep: Callable[[float], Awaitable[Any]] = staticmethod(asyncio.sleep)

    def __init__(
        self,
        resource_id: str,
        dashscope_conn_id: str = DEFAULT_CONN_ID,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        deadline: float | None = None,
        max_consecutive_failures: int = DEFAULT_MAX_CONSECUTIVE_FAILURES,
        cancel_on_kill: bool = False,
        started_at: float | None = None,
        last_status: str | None = None,
    ) -> None:
        super().__init__()
        self.resource_id = resource_id
        self.dashscope_conn_id = dashscope_conn_id
        self.poll_interval = float(check_interval(poll_interval))
        self.deadline = None if deadline is None else float(deadline)
        self.max_consecutive_failures = check_max_failures(max_consecutive_failures)
        self.cancel_on_kill = bool(cancel_on_kill)
        self.started_at = float(started_at) if started_at is not None else time.time()
        self.last_status = last_status

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                self.id_kwarg: self.resource_id,
                "dashscope_conn_id": self.dashscope_conn_id,
                "poll_interval": self.poll_interval,
                "deadline": self.deadline,
                "max_consecutive_failures": self.max_consecutive_failures,
                "cancel_on_kill": self.cancel_on_kill,
                "started_at": self.started_at,
                "last_status": self.last_status,
                **self._extra_kwargs(),
            },
        )

    def _extra_kwargs(self) -> dict[str, Any]:
        """Serialized kwargs a resource's trigger adds to the eight common ones."""
        return {}

    async def _fetch(self, hook: DashScopeHook) -> R:
        raise NotImplementedError

    def _progress(self) -> Progress[R] | None:
        """Reads of the resource's log between polls (``None``: none)."""
        return None

    async def _fetch_logs(self, hook: DashScopeHook, read: FetchLogs) -> LogSlice:
        raise NotImplementedError

    async def _cancel(self, hook: DashScopeHook) -> None:
        raise NotImplementedError

    def _console_url(self, hook: DashScopeHook) -> str:
        raise NotImplementedError

    async def run(self) -> AsyncIterator[TriggerEvent]:
        async with shared_session():
            event = await self.wait()
        yield TriggerEvent(event.to_payload(self.policy.event_keys))

    async def wait(self) -> WaitEvent:
        """Poll until the machine says the wait is over; return its event."""
        shared = shared_requests()
        group = (self.dashscope_conn_id, self.policy.kind, self.resource_id)
        shared.hold(group)  # at once: waits started together share their first polls too
        try:
            hook = _poll_hook(self.dashscope_conn_id)
            try:
                config = await hook.aget_config()
            except Exception:  # the first poll meets the same error and ends the wait with it
                config = None
            else:
                self.log.info(
                    "Waiting for %s %s (polling every %g s): %s",
                    self.policy.kind.lower(),
                    self.resource_id,
                    self.poll_interval,
                    self._console_url(hook),
                )
            progress = self._progress()
            machine: WaitMachine[R] = WaitMachine(
                self.policy,
                self.resource_id,
                poll_interval=self.poll_interval,
                deadline=self.deadline,
                max_consecutive_failures=self.max_consecutive_failures,
                started_at=self.started_at,
                last_status=self.last_status,
                retry_after_cap=config.retry.max_delay if config is not None else None,
                progress=progress,
            )
            polls = _SharedPolls(self, hook, shared, group, getattr(progress, "every_polls", 1))
            return await run_async(
                machine,
                polls.get,
                self.log,
                clock=self.clock,
                sleep=self.sleep,
                fetch_logs=polls.logs if progress is not None else None,
            )
        finally:
            shared.release(group)

    async def on_kill(self) -> None:
        """Cancel the resource's work when a user kills the deferred task (Airflow 3.3+); never on a restart."""
        if not self.cancel_on_kill:
            return
        kind = self.policy.kind
        async with shared_session():
            try:
                await self._cancel(DashScopeHook(self.dashscope_conn_id))
            except UnsupportedOperationError:
                self.log.info("%s %s already ended; nothing to cancel.", kind, self.resource_id)
                return
        self.log.info("Requested cancellation of %s %s because the task was killed.", kind.lower(), self.resource_id)


def _poll_hook(conn_id: str, now: float | None = None) -> DashScopeHook:
    """The hook the waits on this event loop poll through (one attempt per request): one per connection for the
    waits started within :data:`~..hooks.dashscope.CONFIG_CACHE_SECONDS` of each other, so a triggerer holding
    thousands of waits does not hold thousands of hooks, and a wait started later sees a changed connection."""
    cache = loop_cache()
    key = ("poll-hook", conn_id)
    entry = cache.get(key)
    now = time.monotonic() if now is None else now
    if entry is None or entry[0] <= now:
        entry = cache[key] = (now + CONFIG_CACHE_SECONDS, DashScopeHook(conn_id, max_retries=0))
    hook: DashScopeHook = entry[1]
    return hook


class _SharedPolls:
    """One wait's fetches, through the loop's shared requests (a small object rather than closures: a triggerer
    holds thousands of waits). A GET is reused when sent less than 0.9 poll interval ago; a log read when sent less
    than that many intervals ago as the progress reads every; the end of a finished job's log whenever it was read
    (it is asked for only once the job ended)."""

    __slots__ = ("fresh", "group", "hook", "reads_fresh", "shared", "trigger")

    def __init__(
        self,
        trigger: DashScopeWaitTrigger[Any],
        hook: DashScopeHook,
        shared: SharedRequests,
        group: tuple[str, str, str],
        reads_every: int,
    ) -> None:
        self.trigger = trigger
        self.hook = hook
        self.shared = shared
        self.group = group
        self.fresh = JITTER[0] * trigger.poll_interval
        self.reads_fresh = self.fresh * reads_every

    def get(self) -> Awaitable[Any]:
        return self.shared.fetch(self.group, "get", self._send_get, now=self.trigger.clock(), max_age=self.fresh)

    def _send_get(self) -> Awaitable[Any]:
        return self.trigger._fetch(self.hook)

    def logs(self, read: FetchLogs) -> Awaitable[LogSlice]:
        return self.shared.fetch(
            self.group,
            ("logs", read.lines, read.final),
            functools.partial(self.trigger._fetch_logs, self.hook, read),
            now=self.trigger.clock(),
            max_age=None if read.final else self.reads_fresh,
        )
