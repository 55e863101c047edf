"""An event trigger for asset watchers (Airflow 3): one asset event per fine-tune job that ends the way you watch for.

    Asset("dashscope_finetune_succeeded", watchers=[AssetWatcher(
        name="qwen3_finetunes", trigger=DashScopeFineTuneJobEventTrigger(model="qwen3-14b"))])

The list of jobs is read newest first, only back to the oldest job that had not ended at the previous look (see
:mod:`airflow_provider_dashscope.watch.scan`); what is reported, and what happens across a triggerer restart, is the
rule of :mod:`airflow_provider_dashscope.watch.cursor`. On Airflow 3.3+ watchers on the same connection and
interval share one look through the triggerer's shared streams; before, each runs its own.

This module is imported when a DAG file builds the trigger, so the hook, the HTTP transport and the models load only
when the trigger runs (once per triggerer process).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterable
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.triggers import BaseEventTrigger
from airflow.triggers.base import TriggerEvent

from airflow_provider_dashscope._checks.arguments import DEFAULT_POLL_INTERVAL, check_interval
from airflow_provider_dashscope._regions import DEFAULT_CONN_ID
from airflow_provider_dashscope.exceptions import DashScopeConfigError

if TYPE_CHECKING:
    from airflow_provider_dashscope.hooks.dashscope import DashScopeHook
    from airflow_provider_dashscope.watch.cursor import JobFilter, Step, WatchCursor
    from airflow_provider_dashscope.watch.scan import Snapshot

#: Statuses a watcher may report: the ended ones (a job reaches them once and keeps them).
ENDED_STATUSES = ("SUCCEEDED", "FAILED", "CANCELED")
_log = logging.getLogger(__name__)


def _statuses(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple, set, frozenset)) or not value:
        raise DashScopeConfigError(f"statuses must name at least one of {', '.join(ENDED_STATUSES)}, got {value!r}")
    names = []
    for item in value:
        name = item.strip().upper() if isinstance(item, str) else item
        if name not in ENDED_STATUSES:
            raise DashScopeConfigError(
                f"statuses may only hold ended statuses ({', '.join(ENDED_STATUSES)}), got {item!r}: a job passes "
                "through the others between two looks, so they cannot be reported reliably"
            )
        names.append(name)
    return sorted(set(names))


def _optional_text(name: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise DashScopeConfigError(f"{name} must be a non-empty string or None, got {value!r}")
    return value.strip()


class DashScopeFineTuneJobEventTrigger(BaseEventTrigger):
    """
    Fire one event per fine-tune job that reaches one of ``statuses``, for an ``AssetWatcher`` (Airflow 3).

    The event's payload is the job's summary: ``job_id``, ``job_name``, ``status``, ``finetuned_output``,
    ``usage``, ``model``, ``base_model``, ``create_time``, ``end_time``, ``code``, ``message`` and
    ``dashscope_conn_id``; a DAG scheduled on the asset reads it as ``event.extra["payload"]``.

    Jobs that had already ended when the watcher first looked are not reported. On Airflow 3.3+ the watcher keeps
    its cursor in the asset state store: after a triggerer restart it reports the jobs that ended meanwhile, and
    never a job twice. Without the store (Airflow 3.0-3.2) every triggerer start is a first look, which a WARNING
    says: a job that ends while no triggerer runs the watcher is not reported.

    :param dashscope_conn_id: The DashScope connection.
    :param statuses: The ended statuses to report (``SUCCEEDED``, ``FAILED``, ``CANCELED``); default SUCCEEDED.
    :param model: Report only jobs whose ``model`` or ``base_model`` is this (e.g. ``"qwen3-14b"``).
    :param job_name_prefix: Report only jobs whose name starts with this.
    :param poll_interval: Seconds between two looks at the list of jobs (default 60).
    """

    #: The clock and the sleep of the looks (replaceable, e.g. by a test's virtual time).
    clock: Callable[[], float] = staticmethod(time.time)
    sleep: Callable[[float], Awaitable[Any]] = staticmethod(asyncio.sleep)

    def __init__(
        self,
        *,
        dashscope_conn_id: str = DEFAULT_CONN_ID,
        statuses: Iterable[str] | str = ("SUCCEEDED",),
        model: str | None = None,
        job_name_prefix: str | None = None,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
    ) -> None:
        super().__init__()
        if not isinstance(dashscope_conn_id, str) or not dashscope_conn_id.strip():
            raise DashScopeConfigError(
                f"dashscope_conn_id must be a non-empty connection id, got {dashscope_conn_id!r}"
            )
        self.dashscope_conn_id = dashscope_conn_id
        self.statuses = _statuses(statuses)
        self.model = _optional_text("model", model)
        self.job_name_prefix = _optional_text("job_name_prefix", job_name_prefix)
        self.poll_interval = float(check_interval(poll_interval))

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "dashscope_conn_id": self.dashscope_conn_id,
                "statuses": list(self.statuses),
                "model": self.model,
                "job_name_prefix": self.job_name_prefix,
                "poll_interval": self.poll_interval,
            },
        )

    def describe(self) -> str:
        what = "/".join(self.statuses)
        if self.model:
            what += f" of model {self.model}"
        if self.job_name_prefix:
            what += f" named {self.job_name_prefix}*"
        return f"fine-tune jobs {what} on connection {self.dashscope_conn_id!r}"

    # ------------------------------------------------------------------------------------------------------------
    # One look for every watcher on the same connection and interval (Airflow 3.3+), or one each (before)
    # ------------------------------------------------------------------------------------------------------------
    def shared_stream_key(self) -> Hashable | None:
        return ("dashscope-fine-tune-jobs", self.dashscope_conn_id, self.poll_interval)

    @classmethod
    async def open_shared_stream(cls, kwargs: dict[str, Any]) -> AsyncIterator[Any]:
        """Look at the list every ``poll_interval`` seconds and yield each :class:`~..watch.scan.Snapshot`."""
        async for snapshot in _looks(kwargs["dashscope_conn_id"], float(kwargs["poll_interval"]), cls.clock, cls.sleep):
            yield snapshot

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """On its own (Airflow 3.0-3.2, or when the triggerer does not share): the same looks, not shared."""
        looks = _looks(self.dashscope_conn_id, self.poll_interval, self.clock, self.sleep)
        async for event in self.filter_shared_stream(looks):
            yield event

    async def filter_shared_stream(self, shared_stream: AsyncIterator[Any]) -> AsyncIterator[TriggerEvent]:
        """Turn each look into this watcher's events; keep its cursor (stored before the events are fired)."""
        from airflow_provider_dashscope.watch.cursor import JobFilter, event_payload, store_key

        job_filter = JobFilter(frozenset(self.statuses), self.model, self.job_name_prefix)
        # Set by the triggerer before the trigger runs (Airflow 3.3+); absent before 3.0's BaseEventTrigger.
        state_store = getattr(self, "asset_state_store", None)
        store = _CursorStore.of(state_store, store_key(self.dashscope_conn_id, job_filter))
        cursor = await self._load_cursor(store)
        async for snapshot in shared_stream:
            result = await self._step(cursor, snapshot, job_filter)
            if result is None:
                continue
            cursor = result.cursor
            if result.changed and store is not None:
                await self._save_cursor(store, cursor)
            for job in result.report:
                self.log.info("Fine-tune job %s is %s: reporting it (%s)", job.job_id, job.status_text, self.describe())
                yield TriggerEvent(event_payload(job, self.dashscope_conn_id))

    async def _step(self, cursor: WatchCursor, snapshot: Snapshot, job_filter: JobFilter) -> Step | None:
        """What one look means for this watcher; ``None`` when it could not read back to its own horizon."""
        from airflow_provider_dashscope.watch.cursor import needs_catch_up, step

        if needs_catch_up(cursor, snapshot):
            since = cursor.horizon.isoformat() if cursor.horizon is not None else "the first job"
            self.log.info("Reading back to %s, where this watcher last looked (%s)", since, self.describe())
            try:
                snapshot = await _look(_hook(self.dashscope_conn_id), cursor.horizon)
            except Exception as err:
                self.log.warning("Could not read back to %s; trying again at the next look: %s", since, err)
                return None
        if snapshot.truncated:
            self.log.warning(
                "The look stopped after %d jobs (newest first): jobs created before %s are not watched",
                len(snapshot.jobs),
                snapshot.covers_after.isoformat() if snapshot.covers_after is not None else "-",
            )
        result = step(cursor, snapshot, job_filter)
        if not cursor.started:
            self.log.info(
                "Watching %s from now on; %d matching job(s) that had already ended are not reported",
                self.describe(),
                result.history,
            )
        return result

    async def _load_cursor(self, store: _CursorStore | None) -> WatchCursor:
        from airflow_provider_dashscope.watch.cursor import WatchCursor

        if store is None:
            self.log.warning(
                "No asset state store for this watcher (it needs Airflow 3.3+ and a watched asset): the watch of %s "
                "starts afresh at every triggerer start. A job that ends while no triggerer runs this watcher is not "
                "reported; a job already reported is not reported again.",
                self.describe(),
            )
            return WatchCursor()
        try:
            stored = await store.load()
        except Exception as err:
            self.log.warning(
                "Could not read this watcher's cursor from the asset state store (%s): starting afresh, so jobs "
                "that ended while no triggerer ran it are not reported",
                err,
            )
            return WatchCursor()
        cursor = WatchCursor.from_json(stored) if stored is not None else None
        if cursor is None:
            if stored is not None:
                self.log.warning("The stored cursor of this watcher is not readable: starting afresh")
            return WatchCursor()
        since = cursor.horizon.isoformat() if cursor.horizon is not None else "the first job"
        self.log.info(
            "Resuming the watch of %s from %s (%d ended job(s) accounted for)", self.describe(), since, len(cursor.done)
        )
        return cursor

    async def _save_cursor(self, store: _CursorStore, cursor: WatchCursor) -> None:
        try:
            await store.save(cursor.to_json())
        except Exception as err:
            self.log.warning(
                "Could not store this watcher's cursor (%s): after a triggerer restart, jobs reported since the "
                "last stored cursor may be reported again",
                err,
            )


class _CursorStore:
    """One watcher's cursor in the asset state store, under its own key, on every asset the watcher is linked to."""

    def __init__(self, accessors: list[Any], key: str) -> None:
        self.accessors = accessors
        self.key = key

    @classmethod
    def of(cls, store: Any, key: str) -> _CursorStore | None:
        if store is None:
            return None
        # Watchers with identical arguments on several assets are one trigger linked to each; keep the cursor on
        # each asset (the store's single-asset shortcut refuses several).
        by_name, by_uri = getattr(store, "_by_name", None), getattr(store, "_by_uri", None)
        if isinstance(by_name, dict) and isinstance(by_uri, dict) and len(by_name) + len(by_uri) > 1:
            return cls([*by_name.values(), *by_uri.values()], key)
        return cls([store], key)

    async def load(self) -> Any:
        for accessor in self.accessors:
            value = await accessor.aget(self.key, None)
            if value is not None:
                return value
        return None

    async def save(self, value: Any) -> None:
        for accessor in self.accessors:
            await accessor.aset(self.key, value)


def _hook(conn_id: str) -> DashScopeHook:
    from airflow_provider_dashscope.hooks.dashscope import DashScopeHook

    return DashScopeHook(conn_id)


async def _look(hook: DashScopeHook, stop_before: Any) -> Snapshot:
    """One look: page after page, newest first, until the scan has what it needs."""
    from airflow_provider_dashscope.watch.scan import ListScan

    scan = ListScan(stop_before)
    page_no = scan.next_page()
    while page_no is not None:
        scan.on_page(await hook.alist_fine_tune_jobs(page_no=page_no, page_size=scan.page_size))
        page_no = scan.next_page()
    return scan.snapshot()


async def _looks(
    conn_id: str, poll_interval: float, clock: Callable[[], float], sleep: Callable[[float], Awaitable[Any]]
) -> AsyncIterator[Snapshot]:
    """A look every ``poll_interval`` seconds, forever; a failed look is logged and skipped (never raised, so the
    watcher does not crash-loop on an outage or a bad key; it heals when the API or the connection does)."""
    from airflow_provider_dashscope._http.async_transport import shared_session

    hook = _hook(conn_id)
    horizon: Any = None
    first = True
    failures = 0
    async with shared_session():
        while True:
            started = clock()
            try:
                snapshot = await _look(hook, None if first else horizon)
            except Exception as err:
                failures += 1
                if failures == 1 or failures % 10 == 0:
                    _log.warning(
                        "Listing the fine-tune jobs of connection %r failed (%d look(s) in a row); trying again "
                        "every %g s: %s",
                        conn_id,
                        failures,
                        poll_interval,
                        err,
                    )
            else:
                if failures:
                    _log.info(
                        "Listing the fine-tune jobs of connection %r works again after %d failed look(s)",
                        conn_id,
                        failures,
                    )
                failures, first, horizon = 0, False, snapshot.horizon
                yield snapshot
            await sleep(max(0.0, started + poll_interval - clock()))
