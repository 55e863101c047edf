"""aiohttp application serving the emulated DashScope API.

Public routes (prefix ``/api/v1``, trailing slash optional, bearer auth); the table is
:data:`.routes.TABLE`::

    POST   /fine-tunes                  create
    GET    /fine-tunes                  list (page_no, page_size 1..100, model)
    GET    /fine-tunes/{job_id}         get
    DELETE /fine-tunes/{job_id}         delete (terminal jobs only)
    POST   /fine-tunes/{job_id}/cancel  cancel (non-terminal jobs only)
    GET    /fine-tunes/{job_id}/logs    logs (offset, line 1..1000)
    GET    /fine-tunes/{job_id}/checkpoints             checkpoints (an array, newest step first)
    GET    /fine-tunes/{job_id}/export/{checkpoint}     export a checkpoint (model_name)
    POST   /files                       upload (multipart: files, descriptions, purpose)
    GET    /files                       list (page_no, page_size 1..100)
    GET    /files/{file_id}             get
    DELETE /files/{file_id}             delete
    POST   /deployments                 create (model_name, capacity, plan, suffix)
    GET    /deployments                 list (page_no, page_size 1..200, default 50)
    GET    /deployments/{deployed_model}        get
    PUT    /deployments/{deployed_model}/scale  scale (capacity)
    DELETE /deployments/{deployed_model}        delete

Fine-tune and deployment routes answer ``{request_id, output}``; file routes
``{request_id, data}`` (a file delete: ``{request_id}`` alone).

Admin routes are in :mod:`.admin`.

Every API response carries an ``x-request-id`` header equal to the body's ``request_id``.
Faults are looked up after routing and before authentication (like a gateway in front of
the service), so a fault can answer even a request with a bad key.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import ssl
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .admin import STATE_KEY, add_admin_routes
from .config import EmulatorConfig
from .errors import ApiError, invalid, not_found
from .fault_responses import BEFORE_HANDLER_KINDS, dumps, error_envelope, fault_response, json_response
from .plans import PLAN_HEADER, parse_plan_header
from .routes import API_PREFIX, WRONG_METHOD, Match, resolve
from .store import EmulatorState
from .uploads import read_upload

log = logging.getLogger("airflow_provider_dashscope.emulator")

__all__ = ["API_PREFIX", "STATE_KEY", "create_app", "resolve", "start_site"]

#: An operation returns the body of its success answer, without the request id.
Operation = Callable[[EmulatorState, web.Request, Match], Awaitable[dict[str, Any]]]


def _int_param(request: web.Request, name: str, default: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise invalid(f"Invalid {name}: {raw!r} is not an integer") from None


async def _json_body(request: web.Request) -> Any:
    raw = await request.read()
    try:
        return json.loads(raw) if raw.strip() else None
    except ValueError:
        raise invalid("Request body is not valid JSON") from None


def _check_auth(state: EmulatorState, request: web.Request) -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "InvalidApiKey", "Invalid API-key provided.")
    expected = state.config.api_key
    if expected is not None and not hmac.compare_digest(token.encode(), expected.encode()):
        raise ApiError(401, "InvalidApiKey", "Invalid API-key provided.")


# ------------------------------------------------------------------------------------------------ operations
def _workspace(request: web.Request) -> str | None:
    return request.headers.get("X-DashScope-WorkSpace") or None


def _id(match: Match) -> str:
    return str(match.resource_id)


async def _create_job(state: EmulatorState, request: web.Request, match: Match) -> dict[str, Any]:
    plan = None
    if PLAN_HEADER in request.headers:
        try:
            plan = parse_plan_header(request.headers[PLAN_HEADER])
        except ValueError as err:
            raise invalid(f"Invalid {PLAN_HEADER}: {err}") from None
    return {"output": state.create_job(await _json_body(request), _workspace(request), plan)}


async def _list_jobs(state: EmulatorState, request: web.Request, match: Match) -> dict[str, Any]:
    model = request.query.get("model") or None
    page_no, page_size = _int_param(request, "page_no", 1), _int_param(request, "page_size", 10)
    return {"output": state.list_jobs(page_no, page_size, model)}


async def _get_job(state: EmulatorState, request: web.Request, match: Match) -> dict[str, Any]:
    return {"output": state.get_job(_id(match))}


async def _delete_job(state: EmulatorState, request: web.Request, match: Match) -> dict[str, Any]:
    return {"output": state.delete_job(_id(match))}


async def _cancel_job(state: EmulatorState, request: web.Request, match: Match) -> dict[str, Any]:
    return {"output": state.cancel_job(_id(match))}


async def _job_logs(state: EmulatorState, request: web.Request, match: Match) -> dict[str, Any]:
    offset, line = _int_param(request, "offset", 0), _int_param(request, "line", 100)
    return {"output": state.job_logs(_id(match), offset, line)}


async def _list_checkpoints(state: EmulatorState, request: web.Request, match: Match) -> dict[str, Any]:
    return {"output": state.list_checkpoints(_id(match))}


async def _export_checkpoint(state: EmulatorState, request: web.Request, match: Match) -> dict[str, Any]:
    job_id, checkpoint = match.path_args
    return {"output": state.export_checkpoint(job_id, checkpoint, request.query.get("model_name"))}


async def _upload_files(state: EmulatorState, request: web.Request, match: Match) -> dict[str, Any]:
    received = await read_upload(request, state.config.max_file_bytes)
    return {"data": state.files.upload(received)}


async def _list_files(state: EmulatorState, request: web.Request, match: Match) -> dict[str, Any]:
    page_no, page_size = _int_param(request, "page_no", 1), _int_param(request, "page_size", 10)
    return {"data": state.files.page(page_no, page_size)}


async def _get_file(state: EmulatorState, request: web.Request, match: Match) -> dict[str, Any]:
    return {"data": state.files.get(_id(match))}


async def _delete_file(state: EmulatorState, request: web.Request, match: Match) -> dict[str, Any]:
    state.files.delete(_id(match))
    return {}


async def _create_deployment(state: EmulatorState, request: web.Request, match: Match) -> dict[str, Any]:
    return {"output": state.deployments.create(await _json_body(request), _workspace(request))}


async def _list_deployments(state: EmulatorState, request: web.Request, match: Match) -> dict[str, Any]:
    page_no, page_size = _int_param(request, "page_no", 1), _int_param(request, "page_size", 50)
    return {"output": state.deployments.page(page_no, page_size)}


async def _get_deployment(state: EmulatorState, request: web.Request, match: Match) -> dict[str, Any]:
    return {"output": state.deployments.get(_id(match))}


async def _scale_deployment(state: EmulatorState, request: web.Request, match: Match) -> dict[str, Any]:
    return {"output": state.deployments.scale(_id(match), await _json_body(request))}


async def _delete_deployment(state: EmulatorState, request: web.Request, match: Match) -> dict[str, Any]:
    return {"output": state.deployments.delete(_id(match))}


#: operation name of :data:`.routes.TABLE` -> its handler.
OPERATIONS: dict[str, Operation] = {
    "create_job": _create_job,
    "list_jobs": _list_jobs,
    "get_job": _get_job,
    "delete_job": _delete_job,
    "cancel_job": _cancel_job,
    "job_logs": _job_logs,
    "list_checkpoints": _list_checkpoints,
    "export_checkpoint": _export_checkpoint,
    "upload_files": _upload_files,
    "list_files": _list_files,
    "get_file": _get_file,
    "delete_file": _delete_file,
    "create_deployment": _create_deployment,
    "list_deployments": _list_deployments,
    "get_deployment": _get_deployment,
    "scale_deployment": _scale_deployment,
    "delete_deployment": _delete_deployment,
}


async def _real(state: EmulatorState, request: web.Request, match: Match, rid: str) -> tuple[int, dict[str, Any]]:
    """Run the real operation: (HTTP status, body) of its success envelope or its API error."""
    try:
        if match.operation is None:
            raise not_found()
        _check_auth(state, request)
        if match.operation == WRONG_METHOD:
            raise ApiError(405, "MethodNotAllowed", f"Method {request.method} is not allowed for this resource.")
        body = await OPERATIONS[match.operation](state, request, match)
        return 200, {"request_id": rid, **body}
    except ApiError as err:
        return err.status, error_envelope(rid, err.code, err.message)


async def handle_api(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE_KEY]
    rid = str(uuid.uuid4())
    method = request.method
    try:
        match = resolve(method, request.path)
        state.record_request(method, match.template, match.resource_id)
        fault = state.faults.take(method, match.template, match.resource_id)
        if fault is None:
            status, payload = await _real(state, request, match, rid)
            return json_response(status, dumps(payload), rid)
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.kind in BEFORE_HANDLER_KINDS and not fault.after:
            return await fault_response(request, fault, rid, None)
        real = await _real(state, request, match, rid)
        return await fault_response(request, fault, rid, real)
    except Exception:  # pragma: no cover - defensive
        log.exception("emulator error on %s %s", method, request.path)
        return json_response(500, dumps(error_envelope(rid, "InternalError", "Internal server error!")), rid)


# ------------------------------------------------------------------------------------------------------ app
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


def create_app(state_or_config: EmulatorState | EmulatorConfig | dict[str, Any] | None = None) -> web.Application:
    """Build the emulator application. The state is available as ``app[STATE_KEY]``."""
    state = _as_state(state_or_config)
    app = web.Application()
    app[STATE_KEY] = state
    for path in (API_PREFIX, API_PREFIX + "/{tail:.*}"):
        app.router.add_route("*", path, handle_api)
    add_admin_routes(app.router)
    return app


async def start_site(
    app: web.Application,
    host: str = "127.0.0.1",
    port: int = 8089,
    *,
    backlog: int = 4096,
    access_log: bool = False,
    shutdown_timeout: float = 3.0,
    ssl_context: ssl.SSLContext | None = None,
) -> tuple[web.AppRunner, int]:
    """Start ``app`` on host:port (0 = any free port). Returns (runner, bound port).

    Access logging is off unless ``access_log``; in-flight requests get
    ``shutdown_timeout`` seconds to finish on ``runner.cleanup()``. With ``ssl_context``
    the site serves HTTPS only.
    """
    kwargs: dict[str, Any] = {"handle_signals": False, "shutdown_timeout": shutdown_timeout}
    if not access_log:
        kwargs["access_log"] = None
    runner = web.AppRunner(app, **kwargs)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=backlog, reuse_address=True, ssl_context=ssl_context)
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
