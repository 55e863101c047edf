"""Responses are bounded in size and in time, sync (requests) and async (aiohttp), against a tiny misbehaving server.

The size limit is made small (1 MiB, or 50 bytes for the declared-length case) by giving the hook a
``ClientConfig`` with a smaller ``max_response_bytes`` (``dataclasses.replace`` of the resolved config, which the
hook keeps in ``_config``). Memory is measured with ``tracemalloc``: the peak while reading a response that is
endless or inflates to 50 MB stays a small multiple of the limit. Time: a body that trickles in (each byte within
the read timeout) must not hold the call past connect + read timeout (2 s here; the bound asserted is generous).
Each table row of docs/reliability.md "Bounded responses" is one ``_faults.BOUNDS`` entry.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
import threading
import time
import tracemalloc
import zlib

import pytest

from airflow_provider_dashscope.exceptions import DashScopeTransportError, ResponseTooLargeError
from airflow_provider_dashscope.hooks.dashscope import DashScopeHook

from ._faults import BOUNDS, Bound
from .conftest import assert_no_key, conn_json, error_texts

JOB_ID = "ft-bounded-1"
REQUEST_ID = "rid-bounded-7e1f"
LIMIT = 1024 * 1024
BODY = json.dumps({"request_id": REQUEST_ID, "output": {"job_id": JOB_ID, "status": "RUNNING"}}).encode()
DRIP_BYTES = 50  # * 0.3 s = 15 s if a client waited for the whole body
#: connect (1 s) + read (1 s) timeout is the budget; the assertion leaves 5 s for a loaded 2-core machine.
#: How long a call may hang before the test gives up on it (connect + read timeout is 2 s): a hang, not a speed.
HANG_BOUND = 2 + 5
MEMORY_BOUND = 16 * LIMIT


def _gzip_bomb(size: int = 50 * 1024 * 1024) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b"a" * (1024 * 1024)
    parts = [packer.compress(b'{"request_id":"' + REQUEST_ID.encode() + b'","output":{"pad":"')]
    parts += [packer.compress(chunk) for _ in range(size // len(chunk))]
    return b"".join(parts) + packer.flush()


class MisbehavingServer:
    """One raw-socket HTTP/1.1 server on 127.0.0.1 that answers every request the way ``mode`` says."""

    def __init__(self, mode: str, bomb: bytes = b"") -> None:
        self.mode = mode
        self.bomb = bomb
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections: list[socket.socket] = []
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            self.connections.append(client)
            threading.Thread(target=self._answer, args=(client,), daemon=True).start()

    def _head(self, extra: str) -> bytes:
        return (
            f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nx-request-id: {REQUEST_ID}\r\n{extra}\r\n"
        ).encode()

    def _answer(self, client: socket.socket) -> None:
        try:
            client.recv(65536)
            if self.mode == "oversize_declared":
                client.sendall(self._head(f"Content-Length: {len(BODY)}\r\n") + BODY)
            elif self.mode == "oversize_chunked":
                client.sendall(self._head("Transfer-Encoding: chunked\r\n"))
                chunk = b"x" * 65536
                while not self._stop.is_set():  # endless
                    client.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            elif self.mode == "gzip_bomb":
                client.sendall(
                    self._head(f"Content-Encoding: gzip\r\nContent-Length: {len(self.bomb)}\r\n") + self.bomb
                )
                self._stop.wait(10)
            elif self.mode.startswith("drip"):
                chunked = self.mode == "drip_chunked"
                client.sendall(
                    self._head("Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {len(BODY)}\r\n")
                )
                for byte in BODY[:DRIP_BYTES]:
                    if self._stop.wait(0.3):
                        return
                    client.sendall(b"1\r\n%s\r\n" % bytes([byte]) if chunked else bytes([byte]))
        except OSError:
            pass
        finally:
            client.close()

    def close(self) -> None:
        self._stop.set()
        self.sock.close()
        for client in self.connections:
            try:
                client.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return _gzip_bomb()


def params(check: str) -> list:
    out = []
    for row in BOUNDS:
        for mode in ("sync", "async"):
            reason = row.xfail.get(f"{mode}-{check}")
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            out.append(pytest.param(row, mode, id=f"{row.key}-{mode}", marks=marks))
    return out


@dataclasses.dataclass
class Outcome:
    error: BaseException | None
    seconds: float
    peak: int  #: tracemalloc peak, bytes
    requests: int  #: connections the server accepted (one request each: the server closes after answering)


def call(row: Bound, mode: str, bomb: bytes, monkeypatch, **extra) -> Outcome:
    """One get_fine_tune_job against the misbehaving server."""
    server = MisbehavingServer(row.key, bomb)
    options = {"max_retries": 0, "timeout": 1, "connect_timeout": 1, **extra}
    monkeypatch.setenv("AIRFLOW_CONN_BOUNDED", conn_json(server.base_url, **options))
    hook = DashScopeHook("bounded")
    outcome: dict = {}
    limit = 50 if row.key == "oversize_declared" else LIMIT
    hook._config = dataclasses.replace(hook.config, max_response_bytes=limit)

    def run() -> None:
        tracemalloc.start()
        started = time.monotonic()
        try:
            if mode == "sync":
                hook.get_fine_tune_job(JOB_ID)
            else:
                asyncio.run(hook.aget_fine_tune_job(JOB_ID))
        except BaseException as err:  # the assertions look at it
            outcome["error"] = err
        outcome["seconds"] = time.monotonic() - started
        outcome["peak"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(HANG_BOUND + 20)  # a hung call fails the test below instead of hanging the suite
    server.close()
    worker.join(10)
    assert "seconds" in outcome, "the call did not return even after the server closed its connections"
    return Outcome(outcome.get("error"), outcome["seconds"], outcome["peak"], len(server.connections))


_OUTCOMES: dict[tuple[str, str], Outcome] = {}


def outcome_of(row: Bound, mode: str, bomb: bytes, monkeypatch) -> Outcome:
    """The outcome of one call without retries, measured once per (row, mode) for the tests that share it."""
    if (row.key, mode) not in _OUTCOMES:
        _OUTCOMES[(row.key, mode)] = call(row, mode, bomb, monkeypatch)
    return _OUTCOMES[(row.key, mode)]


@pytest.mark.parametrize(("row", "mode"), params("bound"))
def test_a_misbehaving_response_ends_in_a_typed_error_within_the_bounds(row: Bound, mode: str, bomb, monkeypatch):
    outcome = outcome_of(row, mode, bomb, monkeypatch)
    error = outcome.error
    assert isinstance(error, DashScopeTransportError), repr(error)
    text = str(error)
    assert JOB_ID in text, text
    if row.key.startswith("drip"):
        assert error.timeout, text  # cut off by the total deadline: dripped in full it would have been an answer
    else:
        assert isinstance(error, ResponseTooLargeError) and "limit" in text, text
        assert outcome.peak < MEMORY_BOUND, f"peak {outcome.peak / 1e6:.1f} MB with a {LIMIT}-byte limit"
    assert_no_key(*error_texts(error))


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("row", [b for b in BOUNDS if b.key.startswith(("oversize", "gzip"))], ids=str)
def test_an_oversized_response_is_not_retried(row: Bound, mode: str, bomb, monkeypatch):
    """The same answer would come again: one request even with a retry budget of 3."""
    outcome = call(row, mode, bomb, monkeypatch, max_retries=3)
    assert isinstance(outcome.error, ResponseTooLargeError), repr(outcome.error)
    assert outcome.requests == 1


@pytest.mark.parametrize(("row", "mode"), params("request_id"))
def test_a_response_that_fails_after_its_headers_quotes_their_request_id(row: Bound, mode: str, bomb, monkeypatch):
    error = outcome_of(row, mode, bomb, monkeypatch).error
    assert isinstance(error, DashScopeTransportError), repr(error)
    assert REQUEST_ID in str(error), str(error)
