"""Requests that several waits on one event loop share: the same question asked again soon gets the same answer.

A triggerer often holds several waits on one job (a deploy, an evaluation and a report all gate on it). Each wait
keeps its own schedule, deadline, failure budget and log lines; only the request below them is shared:

* **When an answer is reused.** A wait asks for a key (e.g. "GET this job") at time ``now`` on its own clock. If
  the latest request for that key was *sent* less than ``max_age`` seconds before ``now``, the wait gets that
  request's answer, awaiting it if it is still in flight; otherwise a new request is sent and becomes the latest.
  So requests for one key are at least ``max_age`` apart: with ``max_age`` just under the poll interval, N waits
  on one job cost one GET per interval, and a wait never reuses the answer to its own previous poll (it slept at
  least that long in between). ``max_age=None`` reuses any earlier answer (for questions whose answer no longer
  changes, e.g. the end of a finished job's log).
* **Freshness cost.** An answer may be up to ``max_age`` old when a wait reads it, so a wait may learn of a change
  up to that much later than if it had asked on its own.
* **Errors are shared like answers**: a 429 reaches every wait that asked within ``max_age`` and is sent once.
* **Cancellation.** The shared request runs as a task of its own (``ensure_future`` + ``shield``): a wait that is
  cancelled (a user kill, a timeout, a trigger moved to another triggerer) stops waiting for it, and the request
  goes on for the others.
* **Lifetime.** Answers are kept per group (e.g. connection and job) while at least one wait holds the group
  (:meth:`SharedRequests.hold`), so a job nobody waits on any more leaves nothing behind.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from airflow_provider_dashscope._async_transport import loop_cache

T = TypeVar("T")


class _Latest:
    __slots__ = ("sent_at", "task")

    def __init__(self, task: asyncio.Future[Any], sent_at: float) -> None:
        self.task = task
        self.sent_at = sent_at


class _Group:
    __slots__ = ("holders", "latest")

    def __init__(self) -> None:
        self.holders = 0
        self.latest: dict[Hashable, _Latest] = {}


def _mark_retrieved(task: asyncio.Future[Any]) -> None:
    """An answer nobody awaits any more (every asking wait was cancelled) must not be reported as unretrieved."""
    if not task.cancelled():
        task.exception()


class SharedRequests:
    """The requests of one event loop that waits share (see the module docstring). Use :func:`shared_requests`."""

    def __init__(self) -> None:
        self._groups: dict[Hashable, _Group] = {}
        #: Requests sent and answers reused, for benchmarks and tests.
        self.sent = 0
        self.reused = 0

    @contextmanager
    def hold(self, group: Hashable) -> Iterator[None]:
        """Keep the group's answers while the caller waits; the last holder to leave drops them."""
        entry = self._groups.get(group)
        if entry is None:
            entry = self._groups[group] = _Group()
        entry.holders += 1
        try:
            yield
        finally:
            entry.holders -= 1
            if entry.holders == 0 and self._groups.get(group) is entry:
                del self._groups[group]

    def holders(self, group: Hashable) -> int:
        entry = self._groups.get(group)
        return 0 if entry is None else entry.holders

    async def fetch(
        self,
        group: Hashable,
        key: Hashable,
        send: Callable[[], Awaitable[T]],
        *,
        now: float,
        max_age: float | None,
    ) -> T:
        """The answer of ``send()``, or of a request for the same key sent less than ``max_age`` before ``now``."""
        entry = self._groups.get(group)
        latest = entry.latest.get(key) if entry is not None else None
        if latest is not None and (max_age is None or now - latest.sent_at < max_age):
            self.reused += 1
        else:
            task: asyncio.Future[T] = asyncio.ensure_future(send())
            task.add_done_callback(_mark_retrieved)
            latest = _Latest(task, now)
            self.sent += 1
            if entry is not None:  # outside a hold nothing is kept: the request is just sent
                entry.latest[key] = latest
        result: T = await asyncio.shield(latest.task)
        return result


def shared_requests() -> SharedRequests:
    """The running event loop's :class:`SharedRequests` (one per loop, like the HTTP session)."""
    cache = loop_cache()
    found = cache.get(SharedRequests)
    if found is None:
        found = cache[SharedRequests] = SharedRequests()
    return found
