"""Process control for the real-stack tests: bounded waits, timelines, process groups (Linux ``/proc``).

Every server a stack test starts runs in its own session (``start_new_session=True``), so its pid is also its
process-group id and the whole group (a component and the children it forks) can be signalled and checked gone.
Nothing here imports Airflow.
"""

from __future__ import annotations

import functools
import os
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:  # the PostgreSQL stack test reads the metadata DB with psycopg2; the SQLite one does not need it
    import psycopg2 as _psycopg2  # type: ignore[import-untyped]

    _TRANSIENT_DB_ERRORS: tuple[type[BaseException], ...] = (sqlite3.OperationalError, _psycopg2.OperationalError)
except ImportError:  # pragma: no cover - psycopg2-binary is in the test extra
    _TRANSIENT_DB_ERRORS = (sqlite3.OperationalError,)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class StackTimeout(AssertionError):
    """A bounded wait ran out."""


def wait_for(
    predicate: Callable[[], Any],
    *,
    timeout: float,
    what: str,
    interval: float = 0.5,
    on_poll: Callable[[], Any] | None = None,
) -> Any:
    """Call ``predicate`` until it returns something truthy (returned) or ``timeout`` seconds pass.

    A database error that a busy component can cause ("database is locked", a dropped connection) counts as
    "not yet"; the last one is quoted if the wait runs out.
    """
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        if on_poll is not None:
            on_poll()
        try:
            result = predicate()
        except _TRANSIENT_DB_ERRORS as err:
            last_error, result = err, None
        if result:
            return result
        if time.monotonic() >= deadline:
            extra = f" (last error: {last_error})" if last_error else ""
            raise StackTimeout(f"timed out after {timeout:.0f} s waiting for {what}{extra}")
        time.sleep(interval)


class Budget:
    """The time a stack test's run may take from its trigger: ``budget.remaining(cap)`` is the time left (at most
    ``cap``) for the next wait, and raises :class:`StackTimeout` naming ``what`` once it is spent."""

    def __init__(self, seconds: float, what: str) -> None:
        self.seconds = seconds
        self.what = what
        self.end = time.monotonic() + seconds

    def remaining(self, cap: float) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise StackTimeout(f"{self.what} did not finish within {self.seconds:.0f} s of the trigger")
        return min(cap, left)


def wait_quietly(predicate: Callable[[], bool], timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


class Timeline:
    """Named moments, in seconds since the test started."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.marks: list[tuple[str, float]] = []

    def mark(self, name: str) -> float:
        at = time.monotonic() - self.t0
        self.marks.append((name, at))
        print(f"[stack] +{at:6.1f} s  {name}", flush=True)
        return at

    def __getitem__(self, name: str) -> float:
        for key, at in self.marks:
            if key == name:
                return at
        raise KeyError(name)

    def render(self) -> str:
        return "\n".join(f"  +{at:6.1f} s  {name}" for name, at in self.marks)


def http_ok(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


# ------------------------------------------------------------------------------------------------ process groups
@dataclass
class Component:
    """One started server process (a session leader: its pid is its process-group id)."""

    name: str
    argv: list[str]
    process: subprocess.Popen
    log_path: Path
    started: float = field(default_factory=time.monotonic)
    stop_report: dict[str, Any] | None = None

    @property
    def pid(self) -> int:
        return self.process.pid


def _proc_pgrp_and_state(pid: int) -> tuple[int, str] | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as fh:
            data = fh.read()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # comm may hold spaces or parentheses: the fields after the last ')' are fixed
    rest = data.rsplit(")", 1)[1].split()
    return int(rest[2]), rest[0]


def live_members_of_group(pgid: int) -> list[int]:
    """Pids of non-zombie processes in process group ``pgid``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        info = _proc_pgrp_and_state(int(entry))
        if info is not None and info[0] == pgid and info[1] != "Z":
            found.append(int(entry))
    return found


def group_gone(pgid: int) -> bool:
    return not live_members_of_group(pgid)


def pid_alive(pid: int) -> bool:
    info = _proc_pgrp_and_state(pid)
    return info is not None and info[1] != "Z"


def signal_group(pid: int, sig: int) -> None:
    """Signal the process group led by ``pid`` (a session leader: pgid == pid)."""
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:  # pragma: no cover - a recycled pgid owned by someone else: signal only the pid
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def kill_group_now(component: Component) -> dict[str, Any]:
    """SIGKILL the component's whole process group at once (a crash, not a shutdown) and wait until it is gone."""
    started = time.monotonic()
    signal_group(component.pid, signal.SIGKILL)
    try:
        component.process.wait(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL does not fail
        pass
    gone = wait_quietly(functools.partial(group_gone, component.pid), 10.0)
    component.stop_report = {
        "seconds": round(time.monotonic() - started, 1),
        "returncode": component.process.returncode,
        "sigkill": True,
        "leftover": [] if gone else live_members_of_group(component.pid),
    }
    print(f"[stack] killed {component.name} pid={component.pid}: {component.stop_report}", flush=True)
    return component.stop_report


def stop_groups(components: list[Component], *, grace: float) -> dict[str, dict[str, Any]]:
    """SIGTERM each component's group, wait up to ``grace`` s for the main pids, then SIGKILL what is left."""
    started = time.monotonic()
    for component in components:
        signal_group(component.pid, signal.SIGTERM)
    deadline = started + grace
    for component in components:
        try:
            component.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    reports = {}
    for component in components:
        graceful = component.process.poll() is not None and not live_members_of_group(component.pid)
        killed = False
        if not graceful:
            killed = bool(live_members_of_group(component.pid)) or component.process.poll() is None
            signal_group(component.pid, signal.SIGKILL)
            try:
                component.process.wait(timeout=10)
            except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL does not fail
                pass
        # orphaned children of a killed group are reaped by init; give it a moment
        gone = wait_quietly(functools.partial(group_gone, component.pid), 5.0)
        component.stop_report = {
            "seconds": round(time.monotonic() - started, 1),
            "returncode": component.process.returncode,
            "sigkill": killed,
            "leftover": [] if gone else live_members_of_group(component.pid),
        }
        reports[component.name] = component.stop_report
        print(f"[stack] stopped {component.name} pid={component.pid}: {component.stop_report}", flush=True)
    return reports
