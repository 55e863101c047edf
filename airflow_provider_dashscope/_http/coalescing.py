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
* **Lifetime.** Requests are shared and kept per group (e.g. connection and job) while at least two waits hold
  the group (:meth:`SharedRequests.hold`, :meth:`~SharedRequests.release`). A wait alone on its job sends its
  requests directly, as if nothing were shared (no task, nothing kept: a lone wait costs what it did before; it
  still takes a fresh answer left by a wait that just ended), and a job nobody waits on leaves nothing behind.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

from airflow_provider_dashscope._http.async_transport import loop_cache

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
        #: Per group: how many waits hold it (a plain count while one does), or a :class:`_Group` from two on.
        self._groups: dict[Hashable, int | _Group] = {}
        #: Requests sent and answers reused, for benchmarks and tests.
        self.sent = 0
        self.reused = 0

    def hold(self, group: Hashable) -> None:
        """A wait starts on the group: share and keep its answers while two or more waits hold it. Pair with
        :meth:`release`."""
        entry = self._groups.get(group, 0)
        if isinstance(entry, _Group):
            entry.holders += 1
        elif entry == 0:
            self._groups[group] = 1  # a wait alone: a count is all it costs
        else:
            shared = self._groups[group] = _Group()
            shared.holders = entry + 1

    def release(self, group: Hashable) -> None:
        """A wait on the group ended: the last one to leave drops the group's api_response."""
        entry = self._groups.get(group)
        if isinstance(entry, _Group):
            entry.holders -= 1
            if entry.holders <= 0:
                del self._groups[group]
        elif entry is not None:
            if entry <= 1:
                del self._groups[group]
            else:
                self._groups[group] = entry - 1

    def holders(self, group: Hashable) -> int:
        entry = self._groups.get(group, 0)
        return entry.holders if isinstance(entry, _Group) else entry

    def fetch(
        self,
        group: Hashable,
        key: Hashable,
        send: Callable[[], Awaitable[T]],
        *,
        now: float,
        max_age: float | None,
    ) -> Awaitable[T]:
        """What to await for the answer of ``send()``, or of a request for the same key sent less than ``max_age``
        before ``now``. (A plain method: a wait alone on its job awaits ``send()`` itself, with nothing around it.)"""
        entry = self._groups.get(group)
        shared = entry if isinstance(entry, _Group) else None
        latest = shared.latest.get(key) if shared is not None else None
        if latest is not None and (max_age is None or now - latest.sent_at < max_age):
            self.reused += 1
        elif shared is None or shared.holders < 2:  # nobody to share with: just send it, keep nothing
            if shared is not None and latest is not None:
                del shared.latest[key]
            self.sent += 1
            return send()
        else:
            task: asyncio.Future[T] = asyncio.ensure_future(send())
            task.add_done_callback(_mark_retrieved)
            latest = shared.latest[key] = _Latest(task, now)
            self.sent += 1
        return asyncio.shield(latest.task)


def shared_requests() -> SharedRequests:
    """The running event loop's :class:`SharedRequests` (one per loop, like the HTTP session)."""
    cache = loop_cache()
    found = cache.get(SharedRequests)
    if found is None:
        found = cache[SharedRequests] = SharedRequests()
    return found
