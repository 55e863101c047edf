"""Request counters: how many requests each route and each resource id received.

Every API request is counted once, after routing and before fault injection and auth, by
``(method, route template, id in the path)``; unmatched paths count under ``<unmatched>``.
"""

from __future__ import annotations

import threading
from typing import Any

#: First segment of a route template -> the counter of the ids in its paths.
_ID_BUCKETS = {"fine-tunes": "by_job", "files": "by_file", "deployments": "by_deployment"}


class RequestStats:
    """Thread-safe counters, with their own lock (so an emulator clock may read them at any time)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str, str | None], int] = {}
        self._total = 0

    def record(self, method: str, route: str, resource_id: str | None) -> None:
        key = (method, route, resource_id)
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1
            self._total += 1

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()
            self._total = 0

    def count(self, method: str = "*", route: str = "*", resource_id: str | None = None) -> int:
        """Requests matching a method and a route template (``"*"`` = any) and, if given, an id."""
        with self._lock:
            return sum(
                n
                for (m, r, rid), n in self._counts.items()
                if method in ("*", m) and route in ("*", r) and (resource_id is None or rid == resource_id)
            )

    def summary(self) -> dict[str, Any]:
        """``{"total", "by_route": {"GET /fine-tunes/{job_id}": n}, "by_job": {job_id: n}, "by_file": {...},
        "by_deployment": {...}}`` (the id counters only name ids that were asked about)."""
        out: dict[str, Any] = {"total": 0, "by_route": {}, "by_job": {}, "by_file": {}, "by_deployment": {}}
        with self._lock:
            items = list(self._counts.items())
            out["total"] = self._total
        for (method, route, rid), n in items:
            key = f"{method} {route}"
            out["by_route"][key] = out["by_route"].get(key, 0) + n
            bucket = _ID_BUCKETS.get(route.split("/")[1] if route.startswith("/") else "")
            if rid is not None and bucket is not None:
                out[bucket][rid] = out[bucket].get(rid, 0) + n
        return out
