"""The DashScope protocol with no I/O, the answering side: bodies within bounds, envelopes, and typed errors.

A success envelope gives its payload (``output``, or ``data`` for the files API); everything else becomes the
:mod:`~airflow_provider_dashscope.exceptions` class it means, carrying the status, the API's code, the message and
the request id, and naming the resource the call was about. Transport failures (no answer, an untrusted
certificate) are described here too, so both transports word them alike.
"""

from __future__ import annotations

import email.utils
import json
import math
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from airflow_provider_dashscope._config import ClientConfig
from airflow_provider_dashscope._http.api_request import ApiRequest
from airflow_provider_dashscope.exceptions import (
    AuthenticationError,
    ConflictError,
    DashScopeAPIError,
    DashScopeTimeoutError,
    DashScopeTLSError,
    DashScopeTransportError,
    InternalServerError,
    InvalidParameterError,
    InvalidResponseError,
    NotFoundError,
    PermissionDeniedError,
    ResponseTooLargeError,
    ServiceUnavailableError,
    ThrottlingError,
    UnsupportedOperationError,
)

T = TypeVar("T")
#: Turns a success payload into a model, inside each attempt (so an unusable answer is retried like any other).
Parser = Callable[[Any, "str | None", ClientConfig], T]

_ERROR_EXCERPT_CHARS = 200


class BodyCollector:
    """Collects a response body within the size limit and the total time budget of one attempt."""

    __slots__ = ("_budget", "_chunks", "_deadline", "_limit", "_request", "_request_id", "_size", "_url")

    def __init__(
        self, config: ClientConfig, request: ApiRequest, url: str, started: float, request_id: str | None = None
    ) -> None:
        self._chunks: list[bytes] = []
        self._size = 0
        self._limit = config.max_response_bytes
        self._budget = config.connect_timeout + config.read_timeout
        self._deadline = started + self._budget
        self._request = request
        self._url = url
        self._request_id = request_id

    def _too_large(self, what: str) -> ResponseTooLargeError:
        return ResponseTooLargeError(
            f"DashScope {self._request.label}: {what}",
            method=self._request.method,
            url=self._url,
            request_id=self._request_id,
        )

    def check_declared(self, content_length: Any) -> None:
        """Refuse at once a body whose ``Content-Length`` is over the limit."""
        try:
            declared = int(content_length)
        except (TypeError, ValueError):
            return
        if declared > self._limit:
            raise self._too_large(f"the response declares {declared} bytes, over the {self._limit}-byte limit")

    def feed(self, chunk: bytes, now: float) -> None:
        self._size += len(chunk)
        if self._size > self._limit:
            raise self._too_large(f"the response is over the {self._limit}-byte limit")
        self._chunks.append(chunk)
        if now > self._deadline:
            raise DashScopeTimeoutError(
                f"DashScope {self._request.label}: the response took longer than {self._budget:g} s",
                method=self._request.method,
                url=self._url,
                request_id=self._request_id,
            )

    def body(self) -> bytes:
        return b"".join(self._chunks)


_ERRORS_BY_STATUS: dict[int, type[DashScopeAPIError]] = {
    400: InvalidParameterError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: ThrottlingError,
    500: InternalServerError,
    502: ServiceUnavailableError,
    503: ServiceUnavailableError,
    504: ServiceUnavailableError,
}

_ERRORS_BY_CODE: dict[str, type[DashScopeAPIError]] = {
    "InvalidParameter": InvalidParameterError,
    "UnsupportedOperation": UnsupportedOperationError,
    "InvalidApiKey": AuthenticationError,
    "NotFound": NotFoundError,
    "Conflict": ConflictError,
    "InternalError": InternalServerError,
}


def error_class(status: int, code: str | None) -> type[DashScopeAPIError]:
    """The exception for an error answer: the API's code when it is a known one, else the HTTP status."""
    if code:
        if code in _ERRORS_BY_CODE:
            return _ERRORS_BY_CODE[code]
        if code.startswith("Throttling"):
            return ThrottlingError
    if status in _ERRORS_BY_STATUS:
        return _ERRORS_BY_STATUS[status]
    if status >= 500:
        return InternalServerError
    return DashScopeAPIError


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an HTTP date); ``None`` if absent/bad."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None or when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


_BOUNDARY = re.compile(r"[\s<>/,;:()\[\]{}\"'=]")


def shorten(text: str, limit: int) -> str:
    """``text`` on one line; when longer than ``limit``, cut at the last word boundary before it, with an ellipsis.

    Only a run of more than half the limit without any boundary (not a word a person would read) is cut inside.
    """
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    boundaries = [m.start() for m in _BOUNDARY.finditer(text, 0, limit + 1)]
    cut = boundaries[-1] if boundaries and boundaries[-1] >= limit // 2 else limit
    return text[:cut].rstrip(" ,;:") + "..."


def _excerpt(body: bytes) -> str:
    text = body[: _ERROR_EXCERPT_CHARS * 4].decode("utf-8", errors="replace")
    return shorten(text, _ERROR_EXCERPT_CHARS) or "<empty body>"


def _str_or_none(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def parse_response(status: int, headers: Mapping[str, str], body: bytes, request: ApiRequest) -> tuple[Any, str | None]:
    """Return ``(payload, request_id)`` of a success envelope, or raise the typed error the answer means."""
    header_request_id = headers.get("x-request-id") or headers.get("X-Request-Id")
    try:
        document = json.loads(body) if body else None
    except (ValueError, RecursionError):
        document = None
        decoded = False
    else:
        decoded = body != b""
    envelope = document if isinstance(document, dict) else {}
    request_id = _str_or_none(envelope.get("request_id")) or header_request_id
    about: dict[str, Any] = {
        "request_id": request_id,
        "resource_id": request.resource_id,
        "resource_key": request.resource_key,
    }

    if 200 <= status < 300:
        if not decoded:
            problem = f"the response body is not JSON: {_excerpt(body)}"
        elif not isinstance(document, dict):
            problem = f"the response body is JSON {type(document).__name__}, not an object"
        else:
            code = envelope.get("code")
            if code not in (None, "", "200", 200):
                code_text = _str_or_none(code)
                raise error_class(status, code_text)(
                    _str_or_none(envelope.get("message")) or "the API reported an error",
                    status_code=status,
                    code=code_text,
                    **about,
                )
            if request.envelope in envelope:
                return envelope[request.envelope], request_id
            if request.envelope == "data" and request.method == "DELETE":
                return None, request_id  # the files API answers a delete with the request id alone
            problem = f"the response has no {request.envelope!r}"
        raise InvalidResponseError(problem, status_code=status, code="InvalidResponse", **about)

    code = _str_or_none(envelope.get("code")) if decoded else None
    message = _str_or_none(envelope.get("message") or envelope.get("msg")) if decoded else None
    retry_after = parse_retry_after(headers.get("Retry-After") or headers.get("retry-after"))
    raise error_class(status, code)(
        message or f"unexpected response: {_excerpt(body)}",
        status_code=status,
        code=code,
        retry_after=retry_after,
        **about,
    )


def tls_error(request: ApiRequest, config: ClientConfig, url: str, reason: str) -> DashScopeTLSError:
    """The server's certificate was not trusted: say which host and how to trust it."""
    return DashScopeTLSError(
        f"DashScope {request.label}{request.about}: the TLS certificate of {config.host} could not be verified "
        f"({shorten(reason, 200)}); if the host is right and it uses a private or corporate CA, set the connection "
        f"extra 'ca_bundle' ({config.source}) to the path of a PEM file with that CA",
        method=request.method,
        url=url,
        connect_failed=True,
    )


def transport_error(
    request: ApiRequest,
    url: str,
    *,
    kind: str,
    reason: str,
    timeout: bool,
    connect_failed: bool,
    request_id: str | None = None,
) -> DashScopeTransportError:
    """The typed error for a call that got no (complete) answer; it names the call, never a header."""
    what = "timed out" if timeout else ("could not connect" if connect_failed else "failed")
    cls = DashScopeTimeoutError if timeout else DashScopeTransportError
    return cls(
        f"DashScope {request.label}{request.about} {what}: {kind}: {shorten(reason, 300) or 'no detail'}",
        method=request.method,
        url=url,
        connect_failed=connect_failed,
        request_id=request_id,
    )
