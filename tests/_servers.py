"""A scripted HTTP server on 127.0.0.1 for hook tests.

Each ``(method, path)`` gets a queue of :class:`Reply` objects; a request takes the next one (the last reply of a
queue is repeated once the queue is down to it). Every request is recorded (method, raw path, query, headers,
body, client port) so a test can assert how many requests arrived and what they carried.

No Airflow and no package code here: it only speaks HTTP/1.1 (keep-alive) with the standard library.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Reply:
    """One scripted answer.

    ``body`` may be bytes, str or any JSON value (dicts and lists are JSON-encoded). ``delay`` is slept before the
    status line is sent (to trigger a client read timeout). ``content_length`` overrides the declared length;
    ``close_delimited`` sends no ``Content-Length`` and closes the connection after the body. ``drip`` sends the
    body one byte at a time, that many seconds apart: never idle long enough for a read timeout, slow overall.
    """

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    content_length: int | None = None
    close_delimited: bool = False
    drip: float = 0.0

    def encoded(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


@dataclass
class Recorded:
    """One request as the server saw it."""

    method: str
    raw_path: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    client_port: int

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def ok(output: Any, request_id: str = "req-ok") -> Reply:
    """A 200 success envelope."""
    return Reply(200, {"request_id": request_id, "output": output})


def error(status: int, code: str | None, message: str = "", request_id: str | None = None, **headers: str) -> Reply:
    """A DashScope error envelope (``{"request_id", "code", "message"}``)."""
    body: dict[str, Any] = {"message": message or code or "error"}
    if code is not None:
        body["code"] = code
    if request_id is not None:
        body["request_id"] = request_id
    return Reply(status, body, headers={k.replace("_", "-"): v for k, v in headers.items()})


class ScriptedServer:
    """``ThreadingHTTPServer`` in a daemon thread; ``base_url`` is what a connection's host should hold."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        """``tls``: a server-side SSL context to serve HTTPS instead of HTTP."""
        self._lock = threading.Lock()
        self.scheme = "https" if tls is not None else "http"
        self._scripts: dict[tuple[str, str], deque[Reply]] = defaultdict(deque)
        self.requests: list[Recorded] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                split = urlsplit(self.path)
                record = Recorded(
                    method=self.command,
                    raw_path=self.path,
                    path=split.path,
                    query=parse_qs(split.query, keep_blank_values=True),
                    headers=dict(self.headers.items()),
                    body=body,
                    client_port=self.client_address[1],
                )
                reply = server._take(record)
                if reply.delay:
                    time.sleep(reply.delay)
                payload = reply.encoded()
                try:
                    self.send_response(reply.status)
                    headers = {"Content-Type": "application/json", **reply.headers}
                    for key, value in headers.items():
                        self.send_header(key, value)
                    if reply.close_delimited:
                        self.send_header("Connection", "close")
                        self.close_connection = True
                    else:
                        declared = reply.content_length if reply.content_length is not None else len(payload)
                        self.send_header("Content-Length", str(declared))
                    self.end_headers()
                    if reply.drip:
                        self.wfile.flush()
                        for i in range(len(payload)):
                            self.wfile.write(payload[i : i + 1])
                            self.wfile.flush()
                            time.sleep(reply.drip)
                    else:
                        self.wfile.write(payload)
                    if reply.content_length is not None and reply.content_length != len(payload):
                        self.close_connection = True
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeouts, size limits)
                    self.close_connection = True

            do_GET = do_POST = do_DELETE = do_PUT = _handle

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        if tls is not None:  # the handshake happens in the accept loop; a client that refuses it just goes away
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="scripted-http", daemon=True
        )
        self._thread.start()

    # -- scripting -------------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/api/v1"

    def script(self, method: str, path: str, *replies: Reply) -> None:
        """Queue replies for ``method`` on ``path`` (the raw path, below ``/api/v1``, as sent on the wire)."""
        with self._lock:
            self._scripts[(method.upper(), "/api/v1" + path)].extend(replies)

    def _take(self, record: Recorded) -> Reply:
        with self._lock:
            self.requests.append(record)
            queue = self._scripts.get((record.method, record.path))
            if not queue:
                return error(599, "Unscripted", f"no reply scripted for {record.method} {record.path}")
            return queue.popleft() if len(queue) > 1 else queue[0]

    # -- inspection ------------------------------------------------------------------------------------------
    def requests_to(self, method: str | None = None, path: str | None = None) -> list[Recorded]:
        with self._lock:
            return [
                r
                for r in self.requests
                if (method is None or r.method == method.upper()) and (path is None or r.path == "/api/v1" + path)
            ]

    def count(self, method: str | None = None, path: str | None = None) -> int:
        return len(self.requests_to(method, path))

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def closed_port() -> int:
    """A loopback port with nothing listening (bound once, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
