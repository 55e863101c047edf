"""One aiohttp client session per event loop, shared by every hook and trigger running on that loop.

The triggerer runs all triggers on one loop, so thousands of waits share one connection pool. ``dag.test()`` runs
each trigger under a fresh ``asyncio.run()``: the session is reference-counted and closed when the last user on
its loop leaves, so it never outlives (or leaks past) the loop that created it.
"""

from __future__ import annotations

import asyncio
import weakref
from contextlib import asynccontextmanager
from typing import AsyncIterator

import aiohttp

#: Connections kept to the API per event loop. Polls are short; a few hundred sockets serve thousands of waits.
CONNECTION_POOL_LIMIT = 256


class _LoopSession:
    __slots__ = ("session", "users")

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session
        self.users = 0


_sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopSession] = weakref.WeakKeyDictionary()


def _new_session() -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=CONNECTION_POOL_LIMIT, ttl_dns_cache=300, enable_cleanup_closed=True)
    # Timeouts are set per request; cookies are never needed by the API.
    return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar(), raise_for_status=False)


@asynccontextmanager
async def shared_session() -> AsyncIterator[aiohttp.ClientSession]:
    """Borrow the running loop's session, creating it on first use and closing it after the last user."""
    loop = asyncio.get_running_loop()
    entry = _sessions.get(loop)
    if entry is None or entry.session.closed:
        entry = _LoopSession(_new_session())
        _sessions[loop] = entry
    entry.users += 1
    try:
        yield entry.session
    finally:
        entry.users -= 1
        if entry.users == 0 and _sessions.get(loop) is entry:
            del _sessions[loop]
            await entry.session.close()


_loop_values: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict] = weakref.WeakKeyDictionary()


def loop_cache() -> dict:
    """A dict that lives as long as the running event loop (e.g. connection settings shared by its triggers)."""
    loop = asyncio.get_running_loop()
    cache = _loop_values.get(loop)
    if cache is None:
        cache = _loop_values[loop] = {}
    return cache


def open_session_count() -> int:
    """Sessions currently open across all loops (for tests and benchmarks)."""
    return sum(1 for entry in list(_sessions.values()) if not entry.session.closed)
