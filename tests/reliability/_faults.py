"""The fault matrix: one list, used by every fault test (hook, trigger, DAG run) and by the check of the table in
``docs/reliability.md``, so the tests and the documented outcomes cannot drift apart.

Budgets used everywhere in these tests:

* the sync hook: ``max_retries=3`` in the connection, so at most ``HOOK_ATTEMPTS`` = 4 attempts per call;
* the trigger: one attempt per poll (its hook has ``max_retries=0``) and ``max_consecutive_failures=4``, so it gives
  up after ``TRIGGER_POLLS`` = 4 failed polls in a row.

A "recover" case injects the fault ``recover_times`` times (fewer than the budget): the call must then return the
right job. An "exhaust" case injects it forever: the call must end with a typed error after exactly the budget.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_dashscope.exceptions import (
    DashScopeAPIError,
    DashScopeTransportError,
    InternalServerError,
    InvalidResponseError,
    ServiceUnavailableError,
    ThrottlingError,
)

HOOK_ATTEMPTS = 4  # max_retries=3 -> budget + 1 attempts
TRIGGER_POLLS = 4  # max_consecutive_failures=4
READ_TIMEOUT = 1.0  # the connection's "timeout" extra in these tests


class Checks(dict[str, Callable[..., None]]):
    """The check of each row of a fault table, by its key: ``@CHECKS.register("key")`` on the check."""

    def register(self, key: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
        def register(function: Callable[..., None]) -> Callable[..., None]:
            self[key] = function
            return function

        return register


@dataclass(frozen=True)
class Fault:
    """One row of the fault table."""

    key: str  #: short id: test ids, DAG task ids
    name: str  #: the row's name in docs/reliability.md (must appear there verbatim)
    fault: dict[str, Any] | None = None  #: emulator add_fault() keywords (None: a transport fault, see ``transport``)
    transport: str | None = None  #: "refused" or "dns" for faults the emulator cannot inject
    error: type[Exception] | None = DashScopeAPIError  #: what the hook raises once the budget is spent
    http_status: int | None = None  #: the status the error carries
    request_id: bool = True  #: the API sent a request id, so the error must quote it
    recover_times: int = 3  #: injected this many times in the "recover" case (fewer than the budget)
    hook_attempts: int = HOOK_ATTEMPTS  #: HTTP requests the hook makes when the fault never stops
    trigger_requests: int = TRIGGER_POLLS  #: HTTP requests the trigger makes before its error event
    terminal_error: bool = True  #: False: the fault is not an error (unknown status): the wait goes on
    xfail: dict[str, str] = field(default_factory=dict)  #: "<path>-<case>" -> reason (known bug)

    def __str__(self) -> str:
        return self.key


FAULTS: tuple[Fault, ...] = (
    Fault(
        "429_retry_after",
        "429 Throttling, 3 in a row, with Retry-After",
        {"kind": "status", "status": 429, "retry_after": "0.04"},
        error=ThrottlingError,
        http_status=429,
    ),
    Fault(
        "429_no_retry_after",
        "429 Throttling, 3 in a row, without Retry-After",
        {"kind": "status", "status": 429},
        error=ThrottlingError,
        http_status=429,
    ),
    Fault(
        "429_huge_retry_after",
        "429 Throttling with Retry-After: 86400",
        {"kind": "status", "status": 429, "retry_after": "86400"},
        error=ThrottlingError,
        http_status=429,
    ),
    Fault(
        "500", "HTTP 500 InternalError", {"kind": "status", "status": 500}, error=InternalServerError, http_status=500
    ),
    Fault(
        "502", "HTTP 502 BadGateway", {"kind": "status", "status": 502}, error=ServiceUnavailableError, http_status=502
    ),
    Fault(
        "503",
        "HTTP 503 ServiceUnavailable",
        {"kind": "status", "status": 503},
        error=ServiceUnavailableError,
        http_status=503,
    ),
    Fault(
        "504",
        "HTTP 504 GatewayTimeout",
        {"kind": "status", "status": 504},
        error=ServiceUnavailableError,
        http_status=504,
    ),
    Fault(
        "html",
        "HTML error page (502 from a gateway)",
        {"kind": "html"},
        error=ServiceUnavailableError,
        http_status=502,
    ),
    Fault(
        "malformed_json",
        "200 with malformed JSON",
        {"kind": "malformed_json"},
        error=InvalidResponseError,
        http_status=200,
    ),
    Fault(
        "truncated_json",
        "200 with truncated JSON",
        {"kind": "truncated_json"},
        error=InvalidResponseError,
        http_status=200,
    ),
    Fault("empty_body", "200 with an empty body", {"kind": "empty_body"}, error=InvalidResponseError, http_status=200),
    Fault(
        "missing_output",
        "200 without output",
        {"kind": "missing_output"},
        error=InvalidResponseError,
        http_status=200,
    ),
    Fault(
        "missing_status",
        "200 without output.status",
        {"kind": "missing_status"},
        error=InvalidResponseError,
        http_status=200,
    ),
    Fault(
        "unknown_status",
        "Unknown status value (PAUSED)",
        {"kind": "unknown_status", "job_status": "PAUSED"},
        error=None,
        terminal_error=False,
        hook_attempts=1,
    ),
    Fault(
        "refused",
        "Connection refused",
        transport="refused",
        error=DashScopeTransportError,
        request_id=False,
        recover_times=2,
    ),
    Fault(
        "reset_before_response",
        "Connection reset before any response",
        {"kind": "drop"},
        error=DashScopeTransportError,
        request_id=False,
        # aiohttp re-sends an idempotent request once by itself when the connection drops before any byte.
        trigger_requests=2 * TRIGGER_POLLS,
    ),
    Fault(
        "reset_mid_response",
        "Connection reset mid-response",
        {"kind": "drop", "partial": True},
        error=DashScopeTransportError,
        request_id=True,  # the headers (with x-request-id) arrived before the reset
    ),
    Fault(
        "read_timeout",
        "Read timeout (answer 1.5 s late, timeout 1 s)",
        {"kind": "slow", "delay": 1.5},
        error=DashScopeTransportError,
        request_id=False,
        recover_times=2,
    ),
    Fault(
        "very_slow",
        "Very slow response (answer 8 s late, timeout 1 s)",
        {"kind": "slow", "delay": 8.0},
        error=DashScopeTransportError,
        request_id=False,
        recover_times=1,
    ),
    Fault(
        "dns",
        "Host that does not resolve",
        transport="dns",
        error=DashScopeTransportError,
        request_id=False,
        recover_times=2,
    ),
)

FAULTS_BY_KEY = {fault.key: fault for fault in FAULTS}


@dataclass(frozen=True)
class Bound:
    """One row of the "Bounded responses" table (a tiny misbehaving server, sync and async hook)."""

    key: str
    name: str  #: the row's name in docs/reliability.md
    xfail: dict[str, str] = field(default_factory=dict)  #: "<sync|async>-<bound|request_id>" -> reason

    def __str__(self) -> str:
        return self.key


#: Rows of the "Bounded responses" table, each checked by tests/reliability/test_bounded_responses.py.
BOUNDS: tuple[Bound, ...] = (
    Bound("oversize_declared", "Response declaring more than the size limit (Content-Length)"),
    Bound("oversize_chunked", "Endless chunked response (no Content-Length)"),
    Bound("gzip_bomb", "gzip bomb (50 KB that inflates to 50 MB)"),
    Bound(
        "drip_content_length",
        "Slow drip with Content-Length (1 byte every 0.3 s)",
    ),
    Bound("drip_chunked", "Slow drip, chunked (1 byte every 0.3 s)"),
)


@dataclass(frozen=True)
class RouteFault:
    """One row of the "Files and deployments" table: a fault on one of those routes and what a user sees.

    Each row is checked by the test of the same ``key`` in tests/reliability/test_route_faults.py.
    """

    key: str
    name: str  #: the row's name in docs/reliability.md

    def __str__(self) -> str:
        return self.key


#: Rows of the "Files and deployments" table.
ROUTE_FAULTS: tuple[RouteFault, ...] = (
    RouteFault("upload_503", "Upload answered 503"),
    RouteFault("upload_429", "Upload throttled (429), 2 in a row"),
    RouteFault("upload_refused", "Upload to a port nothing listens on"),
    RouteFault("upload_reset", "Upload: connection reset before any response"),
    RouteFault("upload_stored_then_dropped", "Upload stored, then the connection dropped (and the task retried)"),
    RouteFault("upload_malformed", "Upload answered 200 with malformed JSON"),
    RouteFault("upload_quota", "Upload over the account's storage (failed_uploads)"),
    RouteFault("get_file_503", "File get answered 503, 3 in a row"),
    RouteFault("file_not_found", "Get or delete of an unknown file (400 File not found.)"),
    RouteFault("create_deployment_503", "Deployment create answered 503"),
    RouteFault("create_deployment_429", "Deployment create throttled (429), 3 in a row"),
    RouteFault("create_deployment_500_after", "Deployment created, then answered 500 (and the task retried)"),
    RouteFault("create_deployment_conflict", "Deployment create of a model deployed already (409)"),
    RouteFault("create_deployment_unknown_model", "Deployment create of an unknown model (404)"),
    RouteFault("wait_503_recover", "Deployment wait: 503, 3 in a row"),
    RouteFault("wait_503_forever", "Deployment wait: 503 forever"),
    RouteFault("wait_retry_after", "Deployment wait: 429 with Retry-After: 86400"),
    RouteFault("wait_missing_status", "Deployment wait: 200 without output.status"),
    RouteFault("wait_unknown_status", "Deployment wait: unknown status (HIBERNATING)"),
    RouteFault("wait_failed", "Deployment ends FAILED"),
    RouteFault("wait_not_found", "Deployment wait on an unknown deployment (404)"),
    RouteFault("delete_503", "Deployment delete answered 503, 3 in a row"),
    RouteFault("delete_gone", "Delete of a deployment that is gone already (404)"),
    RouteFault("deletion_wait_503", "Deletion wait: 503, 3 in a row, then gone"),
)


#: Rows of the "Checkpoints and exports" table, each checked by tests/reliability/test_checkpoint_faults.py.
CHECKPOINT_FAULTS: tuple[RouteFault, ...] = (
    RouteFault("list_429", "Checkpoint list throttled (429), 3 in a row, with Retry-After"),
    RouteFault("list_503_forever", "Checkpoint list answered 503 forever"),
    RouteFault("list_404", "Checkpoint list of a job that has none (404)"),
    RouteFault("list_not_json", "Checkpoint list answered 200 with a body that is not JSON"),
    RouteFault("list_html", "Checkpoint list answered 502 with an HTML page"),
    RouteFault("list_object", "Checkpoint list whose output is an object, not an array"),
    RouteFault("export_500", "Export answered 500"),
    RouteFault("export_429", "Export throttled (429), 2 in a row, with Retry-After"),
    RouteFault("export_refused", "Export to a port nothing listens on"),
    RouteFault("export_500_after", "Export started, then answered 500 (and the task retried)"),
    RouteFault("export_wait_503", "Export wait: 503, 3 in a row"),
    RouteFault("export_wait_unknown_status", "Export wait: a status that is not an export's (NOT_EXPORTED)"),
    RouteFault("export_failed", "Export ends FAILED"),
)
