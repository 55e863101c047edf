"""aiohttp application serving the emulated DashScope fine-tunes API.

Public routes (prefix ``/api/v1``, trailing slash optional, bearer auth)::

    POST   /fine-tunes                  create
    GET    /fine-tunes                  list (page_no, page_size 1..100, model)
    GET    /fine-tunes/{job_id}         get
    DELETE /fine-tunes/{job_id}         delete (terminal jobs only)
    POST   /fine-tunes/{job_id}/cancel  cancel (non-terminal jobs only)
    GET    /fine-tunes/{job_id}/logs    logs (offset, line 1..1000)

Admin routes (no auth, loopback clients only)::

    GET/POST/DELETE /_emulator/faults   list / add / clear faults
    GET/POST        /_emulator/jobs     list statuses / seed jobs
    POST            /_emulator/plans    settings for the next created jobs
    GET             /_emulator/stats    request counters
    POST            /_emulator/reset    forget jobs, faults, plans and counters

Every API response carries an ``x-request-id`` header equal to the body's ``request_id``.
Faults are looked up after routing and before authentication (like a gateway in front of
the service), so a fault can answer even a request with a bad key.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import socket
import struct
import uuid
from typing import Any

from aiohttp import web

from .faults import Fault, default_error
from .state import ApiError, EmulatorConfig, EmulatorState

log = logging.getLogger("airflow_provider_dashscope.emulator")

API_PREFIX = "/api/v1"
STATE_KEY: web.AppKey[EmulatorState] = web.AppKey("dashscope_emulator_state", EmulatorState)

_UNMATCHED = "<unmatched>"
_LOOPBACK = {"127.0.0.1", "::1", "::ffff:127.0.0.1"}
_PRE_KINDS = {"status", "html", "malformed_json", "empty_body", "missing_output", "drop"}

_HTML_TEMPLATE = (
    "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {reason}</h1></center>\r\n<hr><center>emulated gateway</center>\r\n"
    "</body>\r\n</html>\r\n"
)


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


# ------------------------------------------------------------------ routing
def resolve(method: str, path: str) -> tuple[str, str | None, str | None]:
    """Map a request to (route template, job_id, operation). Operation None = no route."""
    sub = path[len(API_PREFIX) :] if path.startswith(API_PREFIX) else path
    parts = [p for p in sub.split("/") if p]
    if not parts or parts[0] != "fine-tunes":
        return _UNMATCHED, None, None
    n = len(parts)
    if n == 1:
        op = {"POST": "create", "GET": "list"}.get(method)
        return "/fine-tunes", None, op or "method"
    job_id = parts[1]
    if n == 2:
        op = {"GET": "get", "DELETE": "delete"}.get(method)
        return "/fine-tunes/{job_id}", job_id, op or "method"
    if n == 3 and parts[2] == "cancel":
        return "/fine-tunes/{job_id}/cancel", job_id, "cancel" if method == "POST" else "method"
    if n == 3 and parts[2] == "logs":
        return "/fine-tunes/{job_id}/logs", job_id, "logs" if method == "GET" else "method"
    return _UNMATCHED, None, None


def _int_param(request: web.Request, name: str, default: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ApiError(400, "InvalidParameter", f"Invalid {name}: {raw!r} is not an integer") from None


def _check_auth(state: EmulatorState, request: web.Request) -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "InvalidApiKey", "Invalid API-key provided.")
    expected = state.config.api_key
    if expected is not None and not hmac.compare_digest(token.encode(), expected.encode()):
        raise ApiError(401, "InvalidApiKey", "Invalid API-key provided.")


async def _run_op(state: EmulatorState, request: web.Request, op: str | None, job_id: str | None) -> Any:
    """Execute the real operation; returns ``output`` or raises ApiError."""
    if op is None:
        raise ApiError(404, "NotFound", "Not found!")
    _check_auth(state, request)
    if op == "method":
        raise ApiError(405, "MethodNotAllowed", f"Method {request.method} is not allowed for this resource.")
    if op == "get":
        return state.get_job(job_id)  # type: ignore[arg-type]
    if op == "list":
        model = request.query.get("model") or None
        return state.list_jobs(_int_param(request, "page_no", 1), _int_param(request, "page_size", 10), model)
    if op == "create":
        raw = await request.read()
        try:
            body = json.loads(raw) if raw.strip() else None
        except ValueError:
            raise ApiError(400, "InvalidParameter", "Request body is not valid JSON") from None
        return state.create_job(body, request.headers.get("X-DashScope-WorkSpace") or None)
    if op == "cancel":
        return state.cancel_job(job_id)  # type: ignore[arg-type]
    if op == "delete":
        return state.delete_job(job_id)  # type: ignore[arg-type]
    if op == "logs":
        return state.job_logs(job_id, _int_param(request, "offset", 0), _int_param(request, "line", 100))  # type: ignore[arg-type]
    raise ApiError(404, "NotFound", "Not found!")  # pragma: no cover


# ---------------------------------------------------------------- responses
def _json(status: int, body: bytes, rid: str, extra: dict[str, str] | None = None) -> web.Response:
    headers = {"x-request-id": rid}
    if extra:
        headers.update(extra)
    return web.Response(status=status, body=body, content_type="application/json", headers=headers)


def _error_envelope(rid: str, code: str, message: str) -> dict[str, Any]:
    return {"request_id": rid, "code": code, "message": message}


def _fault_headers(fault: Fault) -> dict[str, str]:
    headers = dict(fault.headers)
    if fault.retry_after is not None:
        headers["Retry-After"] = fault.retry_after
    return headers


async def _drop(request: web.Request, fault: Fault, rid: str, body: bytes) -> web.StreamResponse:
    """Close the connection abruptly (optionally after a partial response)."""
    transport = request.transport
    if fault.partial and transport is not None:
        resp = web.StreamResponse(status=200, headers={"x-request-id": rid})
        resp.content_type = "application/json"
        resp.content_length = max(len(body), 2) + 64  # promise more than we send
        await resp.prepare(request)
        await resp.write(body[: max(1, len(body) // 2)])
        await asyncio.sleep(0.01)  # let the partial bytes leave the buffer
    if transport is not None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:  # RST instead of FIN
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
        transport.abort()
    # aiohttp ignores the response once the transport is gone.
    return web.Response(status=499)


def _mutate_output(payload: dict[str, Any], fault: Fault) -> None:
    out = payload.get("output")
    targets: list[dict[str, Any]] = []
    if isinstance(out, dict):
        if isinstance(out.get("jobs"), list):  # list page: alter every job
            targets.extend(j for j in out["jobs"] if isinstance(j, dict))
        else:
            targets.append(out)
    for t in targets:
        if fault.kind == "missing_status":
            t.pop("status", None)
        else:
            t["status"] = fault.job_status


async def _fault_response(
    request: web.Request, fault: Fault, rid: str, real: tuple[int, dict[str, Any]] | None
) -> web.StreamResponse:
    kind = fault.kind
    headers = _fault_headers(fault)
    if kind == "status":
        status = fault.effective_status(500)
        code, message = default_error(status)
        body = _dumps(_error_envelope(rid, fault.code or code, fault.message or message))
        return _json(status, body, rid, headers)
    if kind == "html":
        status = fault.effective_status(502)
        text = fault.message or _HTML_TEMPLATE.format(status=status, reason=_reason(status))
        headers["x-request-id"] = rid
        return web.Response(status=status, text=text, content_type="text/html", headers=headers)
    if kind == "malformed_json":
        body = ('{"request_id": "' + rid + '", "output": {job_id: ft-, "status": RUNNING,,}').encode()
        return _json(fault.effective_status(200), body, rid, headers)
    if kind == "empty_body":
        return _json(fault.effective_status(200), b"", rid, headers)
    if kind == "missing_output":
        return _json(fault.effective_status(200), _dumps({"request_id": rid}), rid, headers)
    status, payload = real if real is not None else (200, {"request_id": rid, "output": None})
    if kind == "drop":
        return await _drop(request, fault, rid, _dumps(payload))
    if kind == "truncated_json":
        body = _dumps(payload)
        return _json(fault.effective_status(status), body[: max(1, len(body) // 2)], rid, headers)
    if kind in ("missing_status", "unknown_status"):
        if status == 200:
            _mutate_output(payload, fault)
        return _json(fault.effective_status(status), _dumps(payload), rid, headers)
    # "slow" (delay already applied): answer normally
    return _json(status, _dumps(payload), rid, headers)


async def _real(state: EmulatorState, request: web.Request, op: str | None, job_id: str | None, rid: str):
    try:
        output = await _run_op(state, request, op, job_id)
        return 200, {"request_id": rid, "output": output}
    except ApiError as err:
        return err.status, _error_envelope(rid, err.code, err.message)


async def handle_api(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    rid = str(uuid.uuid4())
    method = request.method
    try:
        route, job_id, op = resolve(method, request.path)
        state.record_request(method, route, job_id)
        fault = state.faults.take(method, route, job_id)
        if fault is None:
            status, payload = await _real(state, request, op, job_id, rid)
            return _json(status, _dumps(payload), rid)
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.kind in _PRE_KINDS and not fault.after:
            return await _fault_response(request, fault, rid, None)
        real = await _real(state, request, op, job_id, rid)
        return await _fault_response(request, fault, rid, real)
    except Exception:  # pragma: no cover - defensive
        log.exception("emulator error on %s %s", method, request.path)
        return _json(500, _dumps(_error_envelope(rid, "InternalError", "Internal server error!")), rid)


# -------------------------------------------------------------------- admin
def _admin_guard(request: web.Request) -> None:
    if request.remote not in _LOOPBACK:
        raise web.HTTPForbidden(text='{"error":"admin API is loopback-only"}', content_type="application/json")


async def _admin_body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise web.HTTPBadRequest(text='{"error":"body is not valid JSON"}', content_type="application/json") from None


def _admin(fn):
    async def wrapper(request: web.Request) -> web.StreamResponse:
        _admin_guard(request)
        try:
            result = await fn(request, request.app[STATE_KEY])
        except (ValueError, TypeError) as exc:
            return web.json_response({"error": str(exc)}, status=400, headers={"x-request-id": str(uuid.uuid4())})
        return web.json_response(result, headers={"x-request-id": str(uuid.uuid4())})

    return wrapper


@_admin
async def admin_add_faults(request: web.Request, state: EmulatorState) -> Any:
    body = await _admin_body(request)
    items = body.get("faults") if isinstance(body, dict) and "faults" in body else body
    if not isinstance(items, list):
        items = [items]
    for item in items:
        state.faults.add(item)
    return {"faults": state.faults.list()}


@_admin
async def admin_list_faults(request: web.Request, state: EmulatorState) -> Any:
    return {"faults": state.faults.list()}


@_admin
async def admin_clear_faults(request: web.Request, state: EmulatorState) -> Any:
    state.faults.clear()
    return {"faults": []}


@_admin
async def admin_seed(request: web.Request, state: EmulatorState) -> Any:
    body = await _admin_body(request)
    if body is None:
        raise ValueError("expected a job object, a list of jobs or {\"jobs\": [...]}")
    return {"job_ids": state.seed(body)}


@_admin
async def admin_jobs(request: web.Request, state: EmulatorState) -> Any:
    return {"jobs": {job_id: state.job_status(job_id) for job_id in state.job_ids()}}


@_admin
async def admin_plans(request: web.Request, state: EmulatorState) -> Any:
    body = await _admin_body(request)
    items = body if isinstance(body, list) else [body]
    state.plan_next(*items)
    return {"status": "ok"}


@_admin
async def admin_stats(request: web.Request, state: EmulatorState) -> Any:
    return state.stats()


@_admin
async def admin_reset(request: web.Request, state: EmulatorState) -> Any:
    state.reset()
    return {"status": "ok"}


# --------------------------------------------------------------------- app
def _as_state(state_or_config: Any) -> EmulatorState:
    if isinstance(state_or_config, EmulatorState):
        return state_or_config
    if state_or_config is None:
        return EmulatorState()
    if isinstance(state_or_config, EmulatorConfig):
        return EmulatorState(state_or_config)
    if isinstance(state_or_config, dict):
        return EmulatorState(**state_or_config)
    raise TypeError("create_app expects an EmulatorState, an EmulatorConfig, a dict of config values or None")


def create_app(state_or_config: "EmulatorState | EmulatorConfig | dict[str, Any] | None" = None) -> web.Application:
    """Build the emulator application. The state is available as ``app[STATE_KEY]``."""
    state = _as_state(state_or_config)
    app = web.Application()
    app[STATE_KEY] = state
    router = app.router
    for path in (API_PREFIX, API_PREFIX + "/{tail:.*}"):
        router.add_route("*", path, handle_api)
    admin = [
        ("POST", "faults", admin_add_faults),
        ("GET", "faults", admin_list_faults),
        ("DELETE", "faults", admin_clear_faults),
        ("POST", "jobs", admin_seed),
        ("GET", "jobs", admin_jobs),
        ("POST", "plans", admin_plans),
        ("GET", "stats", admin_stats),
        ("POST", "reset", admin_reset),
    ]
    for method, name, handler in admin:
        router.add_route(method, f"/_emulator/{name}", handler)
        router.add_route(method, f"/_emulator/{name}/", handler)
    return app


async def start_site(
    app: web.Application,
    host: str = "127.0.0.1",
    port: int = 8089,
    *,
    backlog: int = 4096,
    access_log: bool = False,
    shutdown_timeout: float = 3.0,
) -> tuple[web.AppRunner, int]:
    """Start ``app`` on host:port (0 = any free port). Returns (runner, bound port).

    Access logging is off unless ``access_log``; in-flight requests get
    ``shutdown_timeout`` seconds to finish on ``runner.cleanup()``.
    """
    kwargs: dict[str, Any] = {"handle_signals": False, "shutdown_timeout": shutdown_timeout}
    if not access_log:
        kwargs["access_log"] = None
    runner = web.AppRunner(app, **kwargs)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=backlog, reuse_address=True)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound = port
    for addr in runner.addresses:
        if isinstance(addr, tuple) and len(addr) >= 2:
            bound = int(addr[1])
            break
    return runner, bound
