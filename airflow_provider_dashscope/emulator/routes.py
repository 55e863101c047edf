"""The route table of the emulated API and the resolution of a request path to an operation.

Paths are relative to ``/api/v1``; a trailing slash is accepted. A template names the id in
the path with one ``{placeholder}`` segment. The table is the one list of what the emulator
serves: the HTTP handlers dispatch on its operations, fault injection and request counting
speak of its templates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

API_PREFIX = "/api/v1"
#: Route "template" of a path that matches no template (counted and fault-matched as such).
UNMATCHED = "<unmatched>"
#: Operation of a known path asked with a method it does not serve (405).
WRONG_METHOD = "method"


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    operation: str


TABLE: tuple[Route, ...] = (
    Route("POST", "/fine-tunes", "create_job"),
    Route("GET", "/fine-tunes", "list_jobs"),
    Route("GET", "/fine-tunes/{job_id}", "get_job"),
    Route("DELETE", "/fine-tunes/{job_id}", "delete_job"),
    Route("POST", "/fine-tunes/{job_id}/cancel", "cancel_job"),
    Route("GET", "/fine-tunes/{job_id}/logs", "job_logs"),
    Route("GET", "/fine-tunes/{job_id}/checkpoints", "list_checkpoints"),
    Route("GET", "/fine-tunes/{job_id}/export/{checkpoint}", "export_checkpoint"),
    Route("POST", "/files", "upload_files"),
    Route("GET", "/files", "list_files"),
    Route("GET", "/files/{file_id}", "get_file"),
    Route("DELETE", "/files/{file_id}", "delete_file"),
    Route("POST", "/deployments", "create_deployment"),
    Route("GET", "/deployments", "list_deployments"),
    Route("GET", "/deployments/{deployed_model}", "get_deployment"),
    Route("DELETE", "/deployments/{deployed_model}", "delete_deployment"),
    Route("PUT", "/deployments/{deployed_model}/scale", "scale_deployment"),
)

#: (method, template) of every route, in table order.
ROUTES: tuple[tuple[str, str], ...] = tuple((r.method, r.template) for r in TABLE)


@dataclass(frozen=True)
class Match:
    """What a request resolved to: the template, the id in the path, and the operation.

    ``resource_id`` is the first placeholder's value (the job, file or deployment); ``path_args``
    all of them (``(job_id, checkpoint)`` for an export). ``operation`` is None when no template
    matches and :data:`WRONG_METHOD` when one does but not with this method.
    """

    template: str
    resource_id: str | None
    operation: str | None
    path_args: tuple[str, ...] = field(default=(), compare=False)


def _segments(path: str) -> list[str]:
    return [part for part in path.split("/") if part]


def _is_placeholder(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")


def _templates() -> list[str]:
    seen: list[str] = []
    for route in TABLE:
        if route.template not in seen:
            seen.append(route.template)
    return seen


def _bind(template: str, parts: list[str]) -> tuple[bool, tuple[str, ...]]:
    """Whether ``parts`` fit ``template`` (placeholders take any one segment), and the values they bind."""
    pattern = _segments(template)
    if len(pattern) != len(parts):
        return False, ()
    bound: list[str] = []
    for want, got in zip(pattern, parts, strict=True):
        if _is_placeholder(want):
            bound.append(got)
        elif want != got:
            return False, ()
    return True, tuple(bound)


def resolve(method: str, path: str) -> Match:
    """Map a request path (with or without ``/api/v1``) and method to its route."""
    parts = _segments(path.removeprefix(API_PREFIX))
    for template in _templates():
        fits, bound = _bind(template, parts)
        if not fits:
            continue
        resource_id = bound[0] if bound else None
        for route in TABLE:
            if route.template == template and route.method == method:
                return Match(template, resource_id, route.operation, bound)
        return Match(template, resource_id, WRONG_METHOD, bound)
    return Match(UNMATCHED, None, None)


def canonical_template(template: str) -> str:
    """The table's spelling of a template, whatever its placeholder is called (``{id}`` included)."""
    parts = _segments(template)
    for known in _templates():
        pattern = _segments(known)
        if len(pattern) == len(parts) and all(
            (_is_placeholder(a) and _is_placeholder(b)) or a == b for a, b in zip(pattern, parts, strict=True)
        ):
            return known
    return template


def normalize_route(route: str | None, method: str | None = None) -> tuple[str, str]:
    """Split ``"GET /fine-tunes/{id}"`` style routes into (METHOD, template).

    Accepts an ``/api/v1`` prefix, a trailing slash and any placeholder name (``{id}``).
    ``None``/``"*"`` mean any method or route.
    """
    m = (method or "*").strip().upper() or "*"
    r = (route or "*").strip() or "*"
    if " " in r:
        head, _, rest = r.partition(" ")
        m = head.strip().upper() or "*"
        r = rest.strip() or "*"
    if r not in ("*", UNMATCHED):
        r = r.removeprefix(API_PREFIX)
        if not r.startswith("/"):
            r = "/" + r
        if len(r) > 1:
            r = r.rstrip("/")
        r = canonical_template(r)
    return m, r
