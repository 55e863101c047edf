"""The DashScope wire protocol with no I/O: configuration, requests, response parsing and retry decisions.

The sync hook (``requests``) and the async path used by triggers (``aiohttp``) both call these functions and only
move bytes, so a fix in parsing or in the retry policy holds for both, and all of it is testable without a network.
"""

from __future__ import annotations

import email.utils
import ipaddress
import json
import math
import random
import re
import time
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from airflow_provider_dashscope._constants import DEFAULT_BASE_URL, REGIONS
from airflow_provider_dashscope.exceptions import (
    AuthenticationError,
    ConflictError,
    DashScopeAPIError,
    DashScopeConfigError,
    DashScopeTransportError,
    InternalServerError,
    InvalidParameterError,
    InvalidResponseError,
    NotFoundError,
    ResponseTooLargeError,
    ServiceUnavailableError,
    ThrottlingError,
    UnsupportedOperationError,
)
from airflow_provider_dashscope.models import DEFAULT_API_TIME_ZONE

MAX_JOB_ID_LENGTH = 256
_PLAIN_JOB_ID = re.compile(r"[A-Za-z0-9._~-]{1,%d}" % MAX_JOB_ID_LENGTH)
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
_ERROR_EXCERPT_CHARS = 200

# HTTP statuses worth another attempt. 400, 401, 403, 404 and 409 never are.
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


# --------------------------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry a transient failure.

    ``max_attempts`` counts the first try; ``max_delay`` caps both the exponential backoff and a server's
    ``Retry-After``.
    """

    max_attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 30.0

    def __post_init__(self) -> None:
        if not isinstance(self.max_attempts, int) or isinstance(self.max_attempts, bool) or self.max_attempts < 1:
            raise DashScopeConfigError(
                f"max_attempts must be an integer >= 1 (1 means no retry), got {self.max_attempts!r}"
            )
        for name in ("base_delay", "max_delay"):
            value = getattr(self, name)
            if not _is_number(value) or value < 0 or not math.isfinite(value):
                raise DashScopeConfigError(f"{name} must be a number of seconds >= 0, got {value!r}")


@dataclass(frozen=True)
class ClientConfig:
    """Everything needed to talk to the API. The key is excluded from ``repr``."""

    base_url: str
    api_key: str = field(repr=False)
    workspace: str | None = None
    region: str | None = None
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    time_zone: str = DEFAULT_API_TIME_ZONE
    max_response_bytes: int = MAX_RESPONSE_BYTES
    source: str = ""

    @property
    def origin(self) -> str:
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normalize_base_url(value: str, *, port: int | None = None, field_name: str = "host") -> str:
    """Turn a connection's host (a URL or a bare host name) into ``scheme://host[:port]/path``.

    A bare host gets ``https://`` (``http://`` for a loopback address, where the local emulator listens) and the
    path ``/api/v1``. Plain HTTP is refused for anything but loopback: the key would cross the network in clear.
    """
    raw = (value or "").strip()
    if not raw:
        raise DashScopeConfigError(f"{field_name} is empty; give the API base URL, e.g. {DEFAULT_BASE_URL}")
    if "://" not in raw:
        bare_host = raw.split("/", 1)[0].rsplit(":", 1)[0] if not raw.startswith("[") else raw.split("]")[0]
        raw = ("http://" if is_loopback_host(bare_host) else "https://") + raw
    parts = urlsplit(raw)
    if "@" in parts.netloc:  # checked first: every later message repeats the value
        raise DashScopeConfigError(
            f"{field_name} must not carry credentials; put the API key in the connection's password field"
        )
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise DashScopeConfigError(
            f"{field_name} {value!r} has scheme {parts.scheme!r}; use https:// (for example {DEFAULT_BASE_URL})"
        )
    try:
        host = parts.hostname
        url_port = parts.port
    except ValueError as err:
        raise DashScopeConfigError(f"{field_name} {value!r} is not a valid URL: {err}") from None
    if not host:
        raise DashScopeConfigError(f"{field_name} {value!r} has no host name; e.g. {DEFAULT_BASE_URL}")
    if parts.query or parts.fragment:
        raise DashScopeConfigError(f"{field_name} {value!r} must not have a query or fragment")
    if scheme == "http" and not is_loopback_host(host):
        raise DashScopeConfigError(
            f"{field_name} {value!r} uses plain http:// to a non-loopback host, which would send the API key "
            "unencrypted; use https:// (plain http is accepted only for 127.0.0.1/localhost, e.g. the emulator)"
        )
    if port is not None and url_port is None:
        url_port = port
    netloc = f"[{host}]" if ":" in host else host
    if url_port is not None:
        netloc += f":{url_port}"
    path = parts.path.rstrip("/") or "/api/v1"
    return urlunsplit((scheme, netloc, path, "", ""))


def resolve_region(region: str | None) -> str | None:
    if region is None or region == "":
        return None
    if not isinstance(region, str) or region.strip().lower() not in REGIONS:
        raise DashScopeConfigError(
            f"unknown region {region!r} in the connection's extra 'region'; known regions: "
            + ", ".join(sorted(REGIONS))
        )
    return region.strip().lower()


def _float_extra(extra: Mapping[str, Any], key: str, default: float, *, minimum: float = 0.0) -> float:
    value = extra.get(key)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or number < minimum:
        bound = "> 0" if minimum > 0 else ">= 0"
        raise DashScopeConfigError(f"connection extra {key!r} must be a number of seconds {bound}, got {value!r}")
    return number


def _int_extra(extra: Mapping[str, Any], key: str, default: int, *, minimum: int) -> int:
    value = extra.get(key)
    if value is None or value == "":
        return default
    try:
        number = int(value)
        if isinstance(value, float) and not value.is_integer():
            raise ValueError
    except (TypeError, ValueError):
        raise DashScopeConfigError(
            f"connection extra {key!r} must be an integer >= {minimum}, got {value!r}"
        ) from None
    if number < minimum:
        raise DashScopeConfigError(f"connection extra {key!r} must be an integer >= {minimum}, got {value!r}")
    return number


def build_config(
    *,
    api_key: str | None,
    host: str | None = None,
    port: int | None = None,
    extra: Mapping[str, Any] | None = None,
    source: str,
    key_field: str,
) -> ClientConfig:
    """Validate connection fields into a :class:`ClientConfig`.

    ``source`` and ``key_field`` name where the values came from, so every error says which field to fix.
    """
    extra = dict(extra or {})
    if not api_key or not str(api_key).strip():
        raise DashScopeConfigError(f"{source} has no API key: set {key_field}")
    region = resolve_region(extra.get("region"))
    if host and str(host).strip():
        base_url = normalize_base_url(str(host), port=port, field_name=f"{source} host")
    elif region:
        base_url = REGIONS[region]
    else:
        base_url = DEFAULT_BASE_URL
    workspace = extra.get("workspace")
    if workspace is not None and not isinstance(workspace, str):
        raise DashScopeConfigError(f"connection extra 'workspace' must be a string, got {workspace!r}")
    if workspace and any(ch.isspace() for ch in workspace):
        raise DashScopeConfigError("connection extra 'workspace' must not contain whitespace")
    time_zone = extra.get("time_zone") or DEFAULT_API_TIME_ZONE
    try:
        import pendulum

        pendulum.timezone(time_zone)
    except Exception:
        raise DashScopeConfigError(
            f"connection extra 'time_zone' {time_zone!r} is not a known IANA zone (e.g. Asia/Shanghai, UTC)"
        ) from None
    retry = RetryPolicy(
        max_attempts=_int_extra(extra, "max_retries", RetryPolicy.max_attempts - 1, minimum=0) + 1,
        base_delay=_float_extra(extra, "retry_base_delay", RetryPolicy.base_delay),
        max_delay=_float_extra(extra, "retry_max_delay", RetryPolicy.max_delay),
    )
    return ClientConfig(
        base_url=base_url,
        api_key=str(api_key).strip(),
        workspace=workspace or None,
        region=region,
        connect_timeout=_float_extra(extra, "connect_timeout", 10.0, minimum=0.001),
        read_timeout=_float_extra(extra, "timeout", 60.0, minimum=0.001),
        retry=retry,
        time_zone=time_zone,
        source=source,
    )


# --------------------------------------------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ApiRequest:
    """One API call, before any I/O. ``idempotent`` decides which failures may be retried."""

    method: str
    path: str
    params: dict[str, Any] | None = None
    body: dict[str, Any] | None = None
    idempotent: bool = True
    job_id: str | None = None

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    def url(self, config: ClientConfig) -> str:
        return config.base_url + self.path


def validate_job_id(job_id: Any, *, field_name: str = "job_id") -> str:
    """Return ``job_id`` if it can safely go into a URL path, else raise a ``ValueError`` that shows it."""
    if isinstance(job_id, str) and _PLAIN_JOB_ID.fullmatch(job_id) and job_id not in (".", ".."):
        return job_id  # the common case, without the character-by-character check below
    hint = "pass the id the create call returned, e.g. 'ft-202410291653-1c7f'"
    if not isinstance(job_id, str):
        raise DashScopeConfigError(f"{field_name} must be a string, got {type(job_id).__name__} {job_id!r}; {hint}")
    if not job_id:
        raise DashScopeConfigError(f"{field_name} is empty; {hint}")
    if len(job_id) > MAX_JOB_ID_LENGTH:
        raise DashScopeConfigError(
            f"{field_name} is {len(job_id)} characters long (at most {MAX_JOB_ID_LENGTH}): {job_id[:40]!r}...; {hint}"
        )
    bad = [ch for ch in job_id if ch in "/?#\\" or ch.isspace() or unicodedata.category(ch)[0] == "C"]
    if bad or job_id in (".", ".."):
        what = "'/', '?', '#', '\\', whitespace, control or format characters" if bad else "only dots"
        raise DashScopeConfigError(f"{field_name} {job_id!r} is not a valid job id (it has {what}); {hint}")
    return job_id


def _job_path(job_id: str, suffix: str = "") -> str:
    return f"/fine-tunes/{quote(validate_job_id(job_id), safe='')}{suffix}"


def _check_int(name: str, value: Any, minimum: int, maximum: int | None = None) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum or (
        maximum is not None and value > maximum
    ):
        bounds = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise DashScopeConfigError(f"{name} must be an integer {bounds}, got {value!r}")
    return value


def get_job_request(job_id: str) -> ApiRequest:
    return ApiRequest("GET", _job_path(job_id), job_id=job_id)


def list_jobs_request(page_no: int = 1, page_size: int = 10, model: str | None = None) -> ApiRequest:
    params: dict[str, Any] = {
        "page_no": _check_int("page_no", page_no, 1),
        "page_size": _check_int("page_size", page_size, 1, 100),
    }
    if model:
        params["model"] = model
    return ApiRequest("GET", "/fine-tunes", params=params)


def create_job_request(
    *,
    model: str,
    training_file_ids: list[str] | str,
    validation_file_ids: list[str] | str | None = None,
    hyper_parameters: dict[str, Any] | None = None,
    training_type: str | None = None,
    job_name: str | None = None,
    model_name: str | None = None,
) -> ApiRequest:
    if not isinstance(model, str) or not model.strip():
        raise DashScopeConfigError(f"model must be a non-empty model id such as 'qwen3-14b', got {model!r}")

    def _ids(name: str, value: Any, required: bool) -> list[str]:
        if value is None or value == []:
            if required:
                raise DashScopeConfigError(f"{name} must list at least one uploaded file id")
            return []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v.strip() for v in value):
            raise DashScopeConfigError(f"{name} must be a list of file id strings, got {value!r}")
        return list(value)

    if hyper_parameters is not None and not isinstance(hyper_parameters, dict):
        raise DashScopeConfigError(f"hyper_parameters must be a dict, got {type(hyper_parameters).__name__}")
    body: dict[str, Any] = {
        "model": model.strip(),
        "training_file_ids": _ids("training_file_ids", training_file_ids, True),
        "validation_file_ids": _ids("validation_file_ids", validation_file_ids, False),
        "hyper_parameters": dict(hyper_parameters or {}),
    }
    if training_type:
        body["training_type"] = training_type
    if job_name:
        body["job_name"] = job_name
    if model_name:
        body["model_name"] = model_name
    return ApiRequest("POST", "/fine-tunes", body=body, idempotent=False)


def cancel_job_request(job_id: str) -> ApiRequest:
    return ApiRequest("POST", _job_path(job_id, "/cancel"), job_id=job_id)


def delete_job_request(job_id: str) -> ApiRequest:
    return ApiRequest("DELETE", _job_path(job_id), job_id=job_id)


def job_logs_request(job_id: str, offset: int = 0, line: int = 100) -> ApiRequest:
    params = {"offset": _check_int("offset", offset, 0), "line": _check_int("line", line, 1, 1000)}
    return ApiRequest("GET", _job_path(job_id, "/logs"), params=params, job_id=job_id)


def build_headers(config: ClientConfig, request: ApiRequest, user_agent: str) -> dict[str, str]:
    headers = {
        "Authorization": f"Bearer {config.api_key}",
        "Accept": "application/json",
        "User-Agent": user_agent,
    }
    if request.body is not None:
        headers["Content-Type"] = "application/json"
    if config.workspace:
        headers["X-DashScope-WorkSpace"] = config.workspace
    return headers


def encode_body(request: ApiRequest) -> bytes | None:
    if request.body is None:
        return None
    return json.dumps(request.body, separators=(",", ":")).encode()


# --------------------------------------------------------------------------------------------------------------
# Responses
# --------------------------------------------------------------------------------------------------------------
class BodyCollector:
    """Collects a response body within the size limit and the total time budget of one attempt."""

    __slots__ = ("_chunks", "_size", "_limit", "_deadline", "_budget", "_request", "_url", "_request_id")

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

    def check_declared(self, content_length: Any) -> None:
        """Refuse at once a body whose ``Content-Length`` is over the limit."""
        try:
            declared = int(content_length)
        except (TypeError, ValueError):
            return
        if declared > self._limit:
            raise ResponseTooLargeError(
                f"DashScope {self._request.label}: the response declares {declared} bytes, "
                f"over the {self._limit}-byte limit",
                method=self._request.method,
                url=self._url,
                request_id=self._request_id,
            )

    def feed(self, chunk: bytes, now: float) -> None:
        self._size += len(chunk)
        if self._size > self._limit:
            raise ResponseTooLargeError(
                f"DashScope {self._request.label}: the response is over the {self._limit}-byte limit",
                method=self._request.method,
                url=self._url,
                request_id=self._request_id,
            )
        self._chunks.append(chunk)
        if now > self._deadline:
            raise DashScopeTransportError(
                f"DashScope {self._request.label}: the response took longer than {self._budget:g} s",
                method=self._request.method,
                url=self._url,
                timeout=True,
                request_id=self._request_id,
            )

    def body(self) -> bytes:
        return b"".join(self._chunks)


_ERRORS_BY_STATUS: dict[int, type[DashScopeAPIError]] = {
    400: InvalidParameterError,
    401: AuthenticationError,
    403: AuthenticationError,
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
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def _excerpt(body: bytes) -> str:
    text = body[: _ERROR_EXCERPT_CHARS * 4].decode("utf-8", errors="replace")
    text = " ".join(text.split())
    if len(text) > _ERROR_EXCERPT_CHARS:
        text = text[:_ERROR_EXCERPT_CHARS] + "..."
    return text or "<empty body>"


def _str_or_none(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def parse_response(
    status: int, headers: Mapping[str, str], body: bytes, *, job_id: str | None = None
) -> tuple[Any, str | None]:
    """Return ``(output, request_id)`` of a success envelope, or raise the typed error the answer means."""
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
    retry_after = parse_retry_after(headers.get("Retry-After") or headers.get("retry-after"))

    if 200 <= status < 300:
        if not decoded:
            raise InvalidResponseError(
                f"the response body is not JSON: {_excerpt(body)}",
                status_code=status,
                code="InvalidResponse",
                request_id=request_id,
                job_id=job_id,
            )
        if not isinstance(document, dict):
            raise InvalidResponseError(
                f"the response body is JSON {type(document).__name__}, not an object",
                status_code=status,
                code="InvalidResponse",
                request_id=request_id,
                job_id=job_id,
            )
        code = envelope.get("code")
        if code not in (None, "", "200", 200):
            code_text = _str_or_none(code)
            cls = error_class(status, code_text)
            raise cls(
                _str_or_none(envelope.get("message")) or "the API reported an error",
                status_code=status,
                code=code_text,
                request_id=request_id,
                job_id=job_id,
            )
        if "output" not in envelope:
            raise InvalidResponseError(
                "the response has no 'output'",
                status_code=status,
                code="InvalidResponse",
                request_id=request_id,
                job_id=job_id,
            )
        return envelope["output"], request_id

    code = _str_or_none(envelope.get("code")) if decoded else None
    message = _str_or_none(envelope.get("message") or envelope.get("msg")) if decoded else None
    if not message:
        message = f"unexpected response: {_excerpt(body)}"
    cls = error_class(status, code)
    raise cls(
        message,
        status_code=status,
        code=code,
        request_id=request_id,
        retry_after=retry_after,
        job_id=job_id,
    )


# --------------------------------------------------------------------------------------------------------------
# Retries
# --------------------------------------------------------------------------------------------------------------
def is_transient(error: BaseException, *, idempotent: bool = True) -> bool:
    """True when another attempt of the same request may succeed.

    Connection failures, timeouts, 429 and 5xx gateway errors are transient. For a request that is not idempotent
    (creating a job) only failures that prove the server did not act are retried: a refused connection and 429.
    """
    if isinstance(error, ResponseTooLargeError):
        return False
    if isinstance(error, DashScopeTransportError):
        return idempotent or error.connect_failed
    if isinstance(error, InvalidResponseError):
        return idempotent
    if isinstance(error, DashScopeAPIError):
        if error.status_code == 429 or isinstance(error, ThrottlingError):
            return True
        return idempotent and error.status_code in RETRYABLE_STATUSES
    return False


def retry_delay(
    error: BaseException,
    attempt: int,
    policy: RetryPolicy,
    *,
    idempotent: bool = True,
    rand: Callable[[], float] = random.random,
) -> float | None:
    """Seconds to wait before the next attempt, or ``None`` when the error must be raised now.

    ``attempt`` is the number of attempts already made. Backoff is ``base * 2**(attempt-1)`` capped at
    ``max_delay``, with "equal jitter" (half fixed, half random); a ``Retry-After`` from the server replaces it
    (capped at ``max_delay`` too).
    """
    if attempt >= policy.max_attempts or not is_transient(error, idempotent=idempotent):
        return None
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        return min(retry_after, policy.max_delay)
    backoff = min(policy.max_delay, policy.base_delay * (2 ** (attempt - 1)))
    return backoff / 2 + rand() * backoff / 2


def describe_failure(error: BaseException) -> str:
    """A short, secret-free description of a failed attempt for a log line."""
    if isinstance(error, DashScopeAPIError):
        parts = [f"HTTP {error.status_code}" if error.status_code is not None else "HTTP ?"]
        if error.code:
            parts.append(error.code)
        parts.append(f"request_id={error.request_id or 'unknown'}")
        return " ".join(parts)
    return str(error)
