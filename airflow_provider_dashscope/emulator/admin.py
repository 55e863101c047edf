"""The emulator's own control routes under ``/_emulator`` (no auth, loopback clients only).

::

    GET/POST/DELETE /_emulator/faults   list / add / clear faults
    GET/POST        /_emulator/jobs     list statuses / seed jobs
    GET/POST/DELETE /_emulator/plans    list / queue / forget (``?plan_id=``) plans for jobs not created yet
    GET/POST        /_emulator/files    list file names / seed files
    GET/POST        /_emulator/deployments       list statuses / seed deployments
    POST            /_emulator/deployment-plans  settings for the next created deployments
    GET             /_emulator/stats    request counters
    POST            /_emulator/reset    forget jobs, files, deployments, faults, plans and counters

Answers are plain JSON (no DashScope envelope); a bad body is a 400 ``{"error": ...}``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from .store import EmulatorState

ADMIN_PREFIX = "/_emulator"
STATE_KEY: web.AppKey[EmulatorState] = web.AppKey("dashscope_emulator_state", EmulatorState)

_LOOPBACK = {"127.0.0.1", "::1", "::ffff:127.0.0.1"}

AdminOp = Callable[[web.Request, EmulatorState], Awaitable[Any]]


def _guard(request: web.Request) -> None:
    if request.remote not in _LOOPBACK:
        raise web.HTTPForbidden(text='{"error":"admin API is loopback-only"}', content_type="application/json")


async def _body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise web.HTTPBadRequest(text='{"error":"body is not valid JSON"}', content_type="application/json") from None


def _handler(op: AdminOp) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        _guard(request)
        try:
            result = await op(request, request.app[STATE_KEY])
        except (ValueError, TypeError) as exc:
            return web.json_response({"error": str(exc)}, status=400, headers={"x-request-id": str(uuid.uuid4())})
        return web.json_response(result, headers={"x-request-id": str(uuid.uuid4())})

    return handle


async def add_faults(request: web.Request, state: EmulatorState) -> Any:
    body = await _body(request)
    items = body.get("faults") if isinstance(body, dict) and "faults" in body else body
    if not isinstance(items, list):
        items = [items]
    for item in items:
        state.faults.add(item)
    return {"faults": state.faults.list()}


async def list_faults(request: web.Request, state: EmulatorState) -> Any:
    return {"faults": state.faults.list()}


async def clear_faults(request: web.Request, state: EmulatorState) -> Any:
    state.faults.clear()
    return {"faults": []}


async def seed_jobs(request: web.Request, state: EmulatorState) -> Any:
    body = await _body(request)
    if body is None:
        raise ValueError('expected a job object, a list of jobs or {"jobs": [...]}')
    return {"job_ids": state.seed(body)}


async def job_statuses(request: web.Request, state: EmulatorState) -> Any:
    return {"jobs": {job_id: state.job_status(job_id) for job_id in state.job_ids()}}


async def add_plans(request: web.Request, state: EmulatorState) -> Any:
    body = await _body(request)
    items = body if isinstance(body, list) else [body]
    return {"status": "ok", "plan_ids": state.plan_next(*items)}


async def list_plans(request: web.Request, state: EmulatorState) -> Any:
    return {"plans": state.pending_plans()}


async def forget_plans(request: web.Request, state: EmulatorState) -> Any:
    plan_id = request.query.get("plan_id")
    try:
        state.forget_plans(plan_id)
    except KeyError:
        raise ValueError(f"no pending plan {plan_id}") from None
    return {"plans": state.pending_plans()}


def _entries(body: Any, key: str) -> list[Any]:
    """``{key: [...]}``, a list, or one object, as a list of seed entries."""
    if body is None:
        raise ValueError(f'expected an object, a list of them or {{"{key}": [...]}}')
    if isinstance(body, dict) and key in body:
        body = body[key]
    return body if isinstance(body, list) else [body]


async def seed_files(request: web.Request, state: EmulatorState) -> Any:
    return {"file_ids": state.files.seed(_entries(await _body(request), "files"))}


async def file_names(request: web.Request, state: EmulatorState) -> Any:
    return {"files": state.files.names()}


async def seed_deployments(request: web.Request, state: EmulatorState) -> Any:
    return {"deployed_models": state.deployments.seed(_entries(await _body(request), "deployments"))}


async def deployment_statuses(request: web.Request, state: EmulatorState) -> Any:
    return {"deployments": {name: state.deployments.status(name) for name in state.deployments.names()}}


async def add_deployment_plans(request: web.Request, state: EmulatorState) -> Any:
    body = await _body(request)
    state.deployments.plan_next(*(body if isinstance(body, list) else [body]))
    return {"status": "ok"}


async def stats(request: web.Request, state: EmulatorState) -> Any:
    return state.stats()


async def reset(request: web.Request, state: EmulatorState) -> Any:
    state.reset()
    return {"status": "ok"}


#: (method, name under /_emulator, operation)
ADMIN_ROUTES: tuple[tuple[str, str, AdminOp], ...] = (
    ("POST", "faults", add_faults),
    ("GET", "faults", list_faults),
    ("DELETE", "faults", clear_faults),
    ("POST", "jobs", seed_jobs),
    ("GET", "jobs", job_statuses),
    ("POST", "plans", add_plans),
    ("GET", "plans", list_plans),
    ("DELETE", "plans", forget_plans),
    ("POST", "files", seed_files),
    ("GET", "files", file_names),
    ("POST", "deployments", seed_deployments),
    ("GET", "deployments", deployment_statuses),
    ("POST", "deployment-plans", add_deployment_plans),
    ("GET", "stats", stats),
    ("POST", "reset", reset),
)


def add_admin_routes(router: web.UrlDispatcher) -> None:
    for method, name, op in ADMIN_ROUTES:
        handler = _handler(op)
        router.add_route(method, f"{ADMIN_PREFIX}/{name}", handler)
        router.add_route(method, f"{ADMIN_PREFIX}/{name}/", handler)
