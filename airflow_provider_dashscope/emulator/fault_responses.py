"""How an injected fault turns into what the client receives (see :mod:`.faults` for the kinds).

Kinds that need no real answer (``status``, ``html``, ``malformed_json``, ``empty_body``,
``missing_output``, ``drop``) are rendered before the real handler runs, unless the fault says
``after``; the others alter the real answer.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from http import HTTPStatus
from typing import Any

from aiohttp import web

from .faults import Fault, default_error

#: Kinds answered without running the real handler (unless the fault has ``after``).
BEFORE_HANDLER_KINDS = frozenset({"status", "html", "malformed_json", "empty_body", "missing_output", "drop"})

#: Keys of the item lists of list pages.
_LIST_KEYS = ("jobs", "deployments", "files")

_HTML_TEMPLATE = (
    "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {reason}</h1></center>\r\n<hr><center>emulated gateway</center>\r\n"
    "</body>\r\n</html>\r\n"
)


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_response(status: int, body: bytes, rid: str, extra: dict[str, str] | None = None) -> web.Response:
    headers = {"x-request-id": rid}
    if extra:
        headers.update(extra)
    return web.Response(status=status, body=body, content_type="application/json", headers=headers)


def error_envelope(rid: str, code: str, message: str) -> dict[str, Any]:
    return {"request_id": rid, "code": code, "message": message}


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _fault_headers(fault: Fault) -> dict[str, str]:
    headers = dict(fault.headers)
    if fault.retry_after is not None:
        headers["Retry-After"] = str(fault.retry_after)
    return headers


async def _drop(request: web.Request, fault: Fault, rid: str, body: bytes) -> web.StreamResponse:
    """Close the connection abruptly (optionally after a partial response)."""
    transport = request.transport
    if fault.partial and transport is not None:
        resp = web.StreamResponse(status=200, headers={"x-request-id": rid})
        resp.content_type = "application/json"
        resp.content_length = max(len(body), 2) + 64  # promise more than is sent
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
    """Remove or replace ``status`` in the answer's object, or in every item of a list page."""
    out = payload.get("output", payload.get("data"))
    targets: list[dict[str, Any]] = []
    if isinstance(out, list):  # an array answer (the checkpoint list): every item
        targets.extend(item for item in out if isinstance(item, dict))
    elif isinstance(out, dict):
        items = next((out[k] for k in _LIST_KEYS if isinstance(out.get(k), list)), None)
        if items is not None:
            targets.extend(item for item in items if isinstance(item, dict))
        else:
            targets.append(out)
    for target in targets:
        if fault.kind == "missing_status":
            target.pop("status", None)
        else:
            target["status"] = fault.job_status


async def fault_response(
    request: web.Request, fault: Fault, rid: str, real: tuple[int, dict[str, Any]] | None
) -> web.StreamResponse:
    """The response for ``fault``; ``real`` is the real (status, payload) when the handler ran."""
    kind = fault.kind
    headers = _fault_headers(fault)
    if kind == "status":
        status = fault.effective_status(500)
        code, message = default_error(status)
        body = dumps(error_envelope(rid, fault.code or code, fault.message or message))
        return json_response(status, body, rid, headers)
    if kind == "html":
        status = fault.effective_status(502)
        text = fault.message or _HTML_TEMPLATE.format(status=status, reason=_reason(status))
        headers["x-request-id"] = rid
        return web.Response(status=status, text=text, content_type="text/html", headers=headers)
    if kind == "malformed_json":
        body = ('{"request_id": "' + rid + '", "output": {job_id: ft-, "status": RUNNING,,}').encode()
        return json_response(fault.effective_status(200), body, rid, headers)
    if kind == "empty_body":
        return json_response(fault.effective_status(200), b"", rid, headers)
    if kind == "missing_output":
        return json_response(fault.effective_status(200), dumps({"request_id": rid}), rid, headers)
    status, payload = real if real is not None else (200, {"request_id": rid, "output": None})
    if kind == "drop":
        return await _drop(request, fault, rid, dumps(payload))
    if kind == "truncated_json":
        body = dumps(payload)
        return json_response(fault.effective_status(status), body[: max(1, len(body) // 2)], rid, headers)
    if kind in ("missing_status", "unknown_status"):
        if status == 200:
            _mutate_output(payload, fault)
        return json_response(fault.effective_status(status), dumps(payload), rid, headers)
    if kind == "object_output":
        wrapped: dict[str, Any] = dict(payload)
        if status == 200 and isinstance(payload.get("output"), list):
            wrapped["output"] = {"items": payload["output"]}
        return json_response(fault.effective_status(status), dumps(wrapped), rid, headers)
    # "slow" (its delay already applied): answer normally
    return json_response(status, dumps(payload), rid, headers)
