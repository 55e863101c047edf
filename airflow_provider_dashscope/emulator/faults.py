"""Fault injection for the DashScope emulator.

A fault describes how the emulator should misbehave for the next matching request(s).
Faults live in a :class:`FaultSet`; the first fault (in insertion order) that matches a
request is applied and its ``times`` counter is decremented. A fault whose counter
reaches zero is removed. ``times=-1`` keeps a fault forever.

Fault dict format (all keys but ``kind`` optional; ``kind`` defaults to ``"status"``)::

    {
        "kind": "status",            # see KINDS
        "method": "GET",             # HTTP method or "*" (default "*")
        "route": "/fine-tunes/{job_id}",  # route template or "*"; may embed the method:
                                     #   "GET /fine-tunes/{job_id}", "DELETE /files/{file_id}",
                                     #   "PUT /deployments/{deployed_model}/scale" (see ROUTES)
        "job_id": "ft-...",          # only requests for this id in the path (a job id, or a
                                     #   file id / deployed model: "file_id"/"deployed_model")
        "status": 429,               # HTTP status ("status"/"html"/body kinds)
        "code": "Throttling",        # error code for kind "status" (default from status)
        "message": "...",            # error message for kind "status"; page body for "html"
        "retry_after": "1",          # Retry-After header value (seconds or HTTP date)
        "delay": 0.5,                # seconds to wait before answering (any kind)
        "times": 1,                  # matching requests it applies to; -1 = forever
        "job_status": "PAUSED",      # value used by kind "unknown_status"
        "after": false,              # run the real handler first (side effects happen),
                                     # then replace its response with the fault
        "partial": false,            # kind "drop": send headers + half a body, then reset
        "headers": {"X-A": "b"},     # extra response headers
    }

Kinds:

* ``status``: JSON error envelope with the given HTTP status (default 500).
* ``html``: ``text/html`` gateway error page (default status 502).
* ``malformed_json``: ``application/json`` body that is not valid JSON (default 200).
* ``truncated_json``: the real response body cut in half (default 200 / real status).
* ``empty_body``: empty ``application/json`` body (default 200).
* ``missing_output``: HTTP 200 envelope without ``output`` (or ``data``): ``{request_id}``.
* ``missing_status``: the real response with ``status`` removed from its object (every
  item of a list page).
* ``unknown_status``: the real response with that ``status`` set to ``job_status``.
* ``object_output``: the real response with an array ``output`` (the checkpoint list) wrapped
  in an object, ``{"items": [...]}``.
* ``slow``: wait ``delay`` seconds (default 1), then answer normally.
* ``drop``: close the connection without any response (``partial``: after a
  partial response, with a Content-Length larger than what was sent).

The CLI spelling is ``ROUTE[:key=value]...``, e.g.
``GET /fine-tunes/{job_id}:status=429:times=3:retry_after=1``, or a JSON object.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

from .routes import ROUTES, normalize_route

__all__ = [
    "DEFAULT_ERRORS",
    "ID_ALIASES",
    "KINDS",
    "ROUTES",
    "Fault",
    "FaultSet",
    "as_fault",
    "default_error",
    "normalize_route",
    "parse_fault_spec",
]

KINDS = frozenset(
    {
        "status",
        "html",
        "malformed_json",
        "truncated_json",
        "empty_body",
        "missing_output",
        "missing_status",
        "unknown_status",
        "object_output",
        "slow",
        "drop",
    }
)

#: Default error code and message per HTTP status, for kind "status".
DEFAULT_ERRORS: dict[int, tuple[str, str]] = {
    400: ("InvalidParameter", "Invalid parameter."),
    401: ("InvalidApiKey", "Invalid API-key provided."),
    403: ("AccessDenied", "Access denied."),
    404: ("NotFound", "Not found!"),
    408: ("RequestTimeOut", "Request timed out."),
    409: ("Conflict", "Conflict."),
    429: ("Throttling", "Requests throttling triggered."),
    500: ("InternalError", "Internal server error!"),
    502: ("BadGateway", "Bad gateway."),
    503: ("ServiceUnavailable", "Service unavailable."),
    504: ("GatewayTimeout", "Gateway timeout."),
}

#: Other names of ``job_id`` (the id in the path), for faults on file and deployment routes.
ID_ALIASES = ("file_id", "deployed_model")

_INT_KEYS = {"status", "times"}
_FLOAT_KEYS = {"delay"}
_BOOL_KEYS = {"after", "partial"}


def default_error(status: int) -> tuple[str, str]:
    """Error code and message used for an HTTP status when a fault gives none."""
    if status in DEFAULT_ERRORS:
        return DEFAULT_ERRORS[status]
    if status >= 500:
        return ("InternalError", "Internal server error!")
    return ("InvalidParameter", "Request failed.")


@dataclass
class Fault:
    """One injected fault. See the module docstring for the field meanings."""

    kind: str = "status"
    method: str = "*"
    route: str = "*"
    job_id: str | None = None
    status: int | None = None
    code: str | None = None
    message: str | None = None
    #: Seconds or an HTTP date; kept as the header's text.
    retry_after: str | float | None = None
    delay: float = 0.0
    times: int = 1
    job_status: str = "PAUSED"
    after: bool = False
    partial: bool = False
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {sorted(KINDS)}")
        self.method, self.route = normalize_route(self.route, self.method)
        if self.status is not None:
            self.status = int(self.status)
            if not 100 <= self.status <= 599:
                raise ValueError(f"fault status out of range: {self.status}")
        self.times = int(self.times)
        if self.times == 0 or self.times < -1:
            raise ValueError("fault times must be >= 1 or -1 (forever)")
        self.delay = float(self.delay or 0.0)
        if self.delay < 0:
            raise ValueError("fault delay must be >= 0")
        if self.kind == "slow" and not self.delay:
            self.delay = 1.0
        if self.retry_after is not None:
            ra = self.retry_after
            if isinstance(ra, float) and ra.is_integer():
                ra = int(ra)
            self.retry_after = str(ra)
        self.headers = {str(k): str(v) for k, v in (self.headers or {}).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fault:
        if not isinstance(data, dict):
            raise TypeError("a fault must be a JSON object")
        data = dict(data)
        aliases = [key for key in ID_ALIASES if key in data]
        if len(aliases) + ("job_id" in data) > 1:
            raise ValueError(f"give one of job_id, {', '.join(ID_ALIASES)}, not several")
        for key in aliases:
            data["job_id"] = data.pop(key)
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault keys: {sorted(unknown)}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def effective_status(self, default: int) -> int:
        return self.status if self.status is not None else default

    def matches(self, method: str, route: str, job_id: str | None) -> bool:
        if self.method != "*" and self.method != method:
            return False
        if self.route != "*" and self.route != route:
            return False
        return self.job_id is None or self.job_id == job_id


def _coerce(key: str, value: str) -> Any:
    if key in _INT_KEYS:
        return int(value)
    if key in _FLOAT_KEYS:
        return float(value)
    if key in _BOOL_KEYS:
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return value


def parse_fault_spec(spec: str) -> Fault:
    """Parse a CLI fault: JSON object, or ``ROUTE[:key=value]...``.

    Colons inside a value (e.g. an HTTP-date ``retry_after``) are kept: a segment
    without ``=`` is glued back to the previous one. When ``status`` is given and
    ``kind`` is not, the kind is ``status``.
    """
    text = spec.strip()
    if text.startswith("{"):
        return Fault.from_dict(json.loads(text))
    segments = text.split(":")
    route = segments[0]
    pairs: list[str] = []
    for seg in segments[1:]:
        if "=" in seg or not pairs:
            pairs.append(seg)
        else:
            pairs[-1] += ":" + seg
    data: dict[str, Any] = {"route": route}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"bad fault segment {pair!r} in {spec!r}")
        if (key not in Fault.__dataclass_fields__ and key not in ID_ALIASES) or key == "headers":
            raise ValueError(f"unknown fault key {key!r} in {spec!r}")
        data[key] = _coerce(key, value.strip())
    return Fault.from_dict(data)


def as_fault(value: Fault | dict[str, Any] | str) -> Fault:
    if isinstance(value, Fault):
        return value
    if isinstance(value, str):
        return parse_fault_spec(value)
    return Fault.from_dict(dict(value))


class FaultSet:
    """Thread-safe ordered collection of faults."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault | dict[str, Any] | str) -> Fault:
        f = as_fault(fault)
        with self._lock:
            self._faults.append(f)
        return f

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.to_dict() for f in self._faults]

    def __len__(self) -> int:
        with self._lock:
            return len(self._faults)

    def take(self, method: str, route: str, job_id: str | None) -> Fault | None:
        """Return (and consume one use of) the first fault matching the request."""
        if not self._faults:  # fast path, no lock needed for an empty list
            return None
        with self._lock:
            for i, f in enumerate(self._faults):
                if f.matches(method, route, job_id):
                    if f.times > 0:
                        f.times -= 1
                        if f.times == 0:
                            del self._faults[i]
                    return f
        return None
