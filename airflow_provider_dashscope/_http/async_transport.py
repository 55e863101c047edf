"""The async transport used by triggers: aiohttp, one client session per event loop, never blocking the loop.

The triggerer runs all triggers on one loop, so thousands of waits share one connection pool. ``dag.test()`` runs
each trigger under a fresh ``asyncio.run()``: the session is reference-counted and closed when the last user on its
loop leaves, so it never outlives (or leaks past) the loop that created it. What to send, how to read the answer
and whether to retry are decided by :mod:`.api_request`, :mod:`.api_response` and :mod:`.retry`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import aiohttp
from tenacity import AsyncRetrying
from yarl import URL

from airflow_provider_dashscope._config import ClientConfig
from airflow_provider_dashscope._http import api_request, api_response
from airflow_provider_dashscope._http.api_response import Parser
from airflow_provider_dashscope._http.retry import retry_kwargs
from airflow_provider_dashscope.exceptions import DashScopeTransportError

T = TypeVar("T")

#: Connections kept to the API per event loop. Polls are short; a few hundred sockets serve thousands of waits.
CONNECTION_POOL_LIMIT = 256
_CHUNK = 65536


class _LoopSession:
    __slots__ = ("session", "users")

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self.session = session
        self.users = 0


_sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopSession] = weakref.WeakKeyDictionary()
_loop_values: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Any, Any]] = weakref.WeakKeyDictionary()


def _new_session() -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=CONNECTION_POOL_LIMIT, ttl_dns_cache=300, enable_cleanup_closed=True)
    # Timeouts are set per request; cookies are never needed by the API.
    return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar(), raise_for_status=False)


def _borrow(loop: asyncio.AbstractEventLoop) -> _LoopSession:
    entry = _sessions.get(loop)
    if entry is None or entry.session.closed:
        entry = _LoopSession(_new_session())
        _sessions[loop] = entry
    entry.users += 1
    return entry


async def _give_back(loop: asyncio.AbstractEventLoop, entry: _LoopSession) -> None:
    entry.users -= 1
    if entry.users == 0 and _sessions.get(loop) is entry:
        del _sessions[loop]
        await entry.session.close()


@asynccontextmanager
async def shared_session() -> AsyncIterator[aiohttp.ClientSession]:
    """Borrow the running loop's session, creating it on first use and closing it after the last user."""
    loop = asyncio.get_running_loop()
    entry = _borrow(loop)
    try:
        yield entry.session
    finally:
        await _give_back(loop, entry)


def loop_cache() -> dict[Any, Any]:
    """A dict that lives as long as the running event loop (e.g. connection settings shared by its triggers)."""
    loop = asyncio.get_running_loop()
    cache = _loop_values.get(loop)
    if cache is None:
        cache = _loop_values[loop] = {}
    return cache


def open_session_count() -> int:
    """Sessions currently open across all loops (for tests and benchmarks)."""
    return sum(1 for entry in list(_sessions.values()) if not entry.session.closed)


@functools.lru_cache(maxsize=16)
def _ssl_context(ca_bundle: str) -> ssl.SSLContext:
    """One context per CA bundle for the whole process (building one reads and parses the file)."""
    return ssl.create_default_context(cafile=ca_bundle)


def ssl_setting(config: ClientConfig) -> ssl.SSLContext | bool:
    """What aiohttp's ``ssl=`` gets: the bundle's context, ``False`` when verification is off, else its default
    (which reads ``SSL_CERT_FILE``/``SSL_CERT_DIR`` as OpenSSL defines them)."""
    if config.ca_bundle:
        return _ssl_context(config.ca_bundle)
    return config.verify


class AsyncTransport:
    """Sends requests on the running loop's shared session."""

    def __init__(
        self,
        config: ClientConfig,
        user_agent: str,
        log: logging.Logger | Any,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.config = config
        self.user_agent = user_agent
        self.log = log
        self.sleep = sleep
        self.ssl = ssl_setting(config)
        # The same for every request of this transport (a triggerer sends thousands a minute).
        self.timeout = aiohttp.ClientTimeout(
            total=config.connect_timeout + config.read_timeout,
            sock_connect=config.connect_timeout,
            sock_read=config.read_timeout,
        )

    async def send(self, request: api_request.ApiRequest, parse: Parser[T]) -> T:
        if request.stream is not None:
            raise TypeError(f"{request.label}: a streamed upload is sent with the sync hook, not from a trigger")
        loop = asyncio.get_running_loop()
        entry = _borrow(loop)  # like shared_session(), without a generator per request
        try:
            if self.config.retry.max_attempts == 1:  # a wait's poll: one attempt, the wait counts failures
                return await self._send_once(entry.session, request, parse)
            retrying = AsyncRetrying(sleep=self.sleep, **retry_kwargs(request, self.config, self.log))
            return await retrying(self._send_once, entry.session, request, parse)
        finally:
            await _give_back(loop, entry)

    async def _send_once(self, session: aiohttp.ClientSession, request: api_request.ApiRequest, parse: Parser[T]) -> T:
        config = self.config
        url = request.url(config)
        started = time.monotonic()
        timeout = self.timeout
        request_id = None
        try:
            async with session.request(
                request.method,
                URL(url, encoded=True),  # the path is quoted already; keep ';', '=', '@' quoted
                params=request.params,
                data=api_request.encode_body(request),
                headers=api_request.build_headers(config, request, self.user_agent),
                timeout=timeout,
                ssl=self.ssl,
            ) as response:
                request_id = response.headers.get("x-request-id")
                collector = api_response.BodyCollector(config, request, url, started, request_id)
                collector.check_declared(response.content_length)
                async for chunk in response.content.iter_chunked(_CHUNK):
                    collector.feed(chunk, time.monotonic())
                status, headers = response.status, response.headers
        except aiohttp.ClientConnectorCertificateError as err:
            raise api_response.tls_error(request, config, url, str(err.certificate_error)) from None
        except (aiohttp.ClientError, asyncio.TimeoutError) as err:
            raise _transport_error(err, request, url, request_id) from None
        payload, request_id = api_response.parse_response(status, headers, collector.body(), request)
        return parse(payload, request_id, config)


def _transport_error(
    err: BaseException, request: api_request.ApiRequest, url: str, request_id: str | None
) -> DashScopeTransportError:
    timeout = isinstance(err, (asyncio.TimeoutError, TimeoutError, aiohttp.ServerTimeoutError))
    connect_failed = isinstance(err, aiohttp.ClientConnectorError)
    return api_response.transport_error(
        request,
        url,
        kind=type(err).__name__,
        reason=str(err) or type(err).__name__,
        timeout=timeout,
        connect_failed=connect_failed,
        request_id=request_id,
    )
