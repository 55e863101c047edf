"""The emulator side of the real-stack tests: a clock the test moves on, and a state that keeps every request."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from airflow_provider_dashscope.emulator import EmulatorConfig, EmulatorState, EmulatorThread


class OffsetClock:
    """Wall-clock time plus an offset the test can move forward: a job finishes when the test says so."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += float(seconds)


@dataclass(frozen=True)
class Request:
    at: float  # time.monotonic() when the emulator received it
    method: str
    route: str
    job_id: str | None


class RecordingState(EmulatorState):
    """An emulator state that also keeps every request with its arrival time."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._requests: list[Request] = []
        self._requests_lock = threading.Lock()

    def record_request(self, method: str, route: str, job_id: str | None) -> None:
        with self._requests_lock:
            self._requests.append(Request(time.monotonic(), method, route, job_id))
        super().record_request(method, route, job_id)

    def requests(
        self,
        method: str | None = None,
        route: str | None = None,
        job_id: str | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> list[Request]:
        with self._requests_lock:
            found = list(self._requests)
        return [
            r
            for r in found
            if (method is None or r.method == method)
            and (route is None or r.route == route)
            and (job_id is None or r.job_id == job_id)
            and (since is None or r.at >= since)
            and (until is None or r.at < until)
        ]


@contextmanager
def recording_emulator(api_key: str, **settings: Any) -> Iterator[EmulatorThread]:
    """A started emulator on a :class:`RecordingState`, its :class:`OffsetClock` as ``emu.clock``; jobs leave QUEUED
    at once unless ``settings`` (more :class:`EmulatorConfig` fields) say otherwise."""
    clock = OffsetClock()
    settings.setdefault("pending_seconds", 0.0)
    emu = EmulatorThread(RecordingState(EmulatorConfig(api_key=api_key, clock=clock, **settings)))
    emu.start()
    emu.clock = clock  # type: ignore[attr-defined]
    try:
        yield emu
    finally:
        emu.stop()
