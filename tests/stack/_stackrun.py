"""Helpers for the real-stack tests: run Airflow 3 components headless in a temporary AIRFLOW_HOME.

Follows ``../shared/reference/airflow-runtime.md`` (api-server ``--apps execution``, scheduler, dag-processor and
triggerer, each in its own session so that its whole process group can be stopped; LocalExecutor on SQLite with
``[core] parallelism`` 4 and ``[workers] min_heartbeat_interval`` 1 against the 3.3.2 deferral race).

Nothing here imports Airflow: the pytest process only reads the SQLite database (read-only, through ``sqlite3``)
to poll states quickly; the assertions that matter go through Airflow's ORM in a subprocess (:meth:`orm_snapshot`).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from airflow_provider_dashscope.emulator import EmulatorState


# ---------------------------------------------------------------------------------------------- small utilities
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
    on_poll: Callable[[], None] | None = None,
) -> Any:
    """Call ``predicate`` until it returns something truthy (returned) or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        if on_poll is not None:
            on_poll()
        try:
            result = predicate()
        except sqlite3.OperationalError as err:  # "database is locked" while a component writes: try again
            last_error, result = err, None
        if result:
            return result
        if time.monotonic() >= deadline:
            extra = f" (last error: {last_error})" if last_error else ""
            raise StackTimeout(f"timed out after {timeout:.0f} s waiting for {what}{extra}")
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


# ----------------------------------------------------------------------------------------------- the emulator side
class OffsetClock:
    """Wall-clock time plus an offset the test can move forward: the job finishes when the test says so."""

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


# ----------------------------------------------------------------------------------------------- the Airflow side
@dataclass
class Component:
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
    """Pids of non-zombie processes in process group ``pgid`` (Linux /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        info = _proc_pgrp_and_state(int(entry))
        if info is not None and info[0] == pgid and info[1] != "Z":
            found.append(int(entry))
    return found


def pid_alive(pid: int) -> bool:
    info = _proc_pgrp_and_state(pid)
    return info is not None and info[1] != "Z"


class AirflowStack:
    """One temporary AIRFLOW_HOME and the Airflow processes started in it. Every process is stopped by its pid."""

    def __init__(self, root: Path, *, airflow_bin: Path, extra_env: dict[str, str], secrets_to_hide: Iterable[str] = ()):
        self.root = root
        self.home = root / "airflow-home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.component_logs = root / "component-logs"
        self.component_logs.mkdir(exist_ok=True)
        self.airflow_bin = airflow_bin
        self.api_port = free_port()
        self.db_path = self.home / "airflow.db"
        self.components: dict[str, Component] = {}
        self.all_started: list[Component] = []
        self._secrets = [s for s in secrets_to_hide if s]
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AIRFLOW", "DASHSCOPE_", "_AIRFLOW")) and k not in ("PYTEST_CURRENT_TEST",)
        }
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.db_path}",
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
                "AIRFLOW__CORE__PARALLELISM": "4",
                "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "1",
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.api_port),
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{self.api_port}/execution/",
                "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(64),
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(extra_env)
        self.env = env

    # ------------------------------------------------------------------ processes
    def start(self, name: str, *args: str) -> Component:
        if name in self.components and self.components[name].process.poll() is None:
            raise RuntimeError(f"{name} is already running")
        log_path = self.component_logs / f"{name}.log"
        argv = [str(self.airflow_bin), *args]
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                argv,
                env=self.env,
                cwd=self.root,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        component = Component(name, argv, process, log_path)
        self.components[name] = component
        self.all_started.append(component)
        print(f"[stack] started {name} pid={process.pid}: {' '.join(args)}", flush=True)
        return component

    def check_running(self, *names: str) -> None:
        """Fail at once (with the log tail) if a component has exited."""
        for name in names or list(self.components):
            component = self.components[name]
            rc = component.process.poll()
            if rc is not None and component.stop_report is None:
                raise AssertionError(f"{name} (pid {component.pid}) exited with {rc}:\n{self.tail(name)}")

    def stop(self, name: str, *, grace: float = 5.0) -> dict[str, Any]:
        """SIGTERM the component's process group, wait up to ``grace`` s for its main pid, then SIGKILL the group."""
        component = self.components[name]
        return self._stop_components([component], grace=grace)[name]

    def stop_all(self, *, grace: float = 5.0) -> dict[str, dict[str, Any]]:
        return self._stop_components([c for c in self.all_started if c.stop_report is None], grace=grace)

    def _stop_components(self, components: list[Component], *, grace: float) -> dict[str, dict[str, Any]]:
        started = time.monotonic()
        for component in components:
            _signal_group(component.pid, signal.SIGTERM)
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
                _signal_group(component.pid, signal.SIGKILL)
                try:
                    component.process.wait(timeout=10)
                except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL does not fail
                    pass
            # orphaned children of a killed group are reaped by init; give it a moment
            leftover = wait_quietly(lambda: not live_members_of_group(component.pid), 5.0)
            component.stop_report = {
                "seconds": round(time.monotonic() - started, 1),
                "returncode": component.process.returncode,
                "sigkill": killed,
                "leftover": [] if leftover else live_members_of_group(component.pid),
            }
            reports[component.name] = component.stop_report
            print(f"[stack] stopped {component.name} pid={component.pid}: {component.stop_report}", flush=True)
        return reports

    def live_pids(self) -> dict[str, list[int]]:
        """Started components with a live main pid or live process-group members."""
        alive = {}
        for component in self.all_started:
            members = live_members_of_group(component.pid)
            if pid_alive(component.pid) and component.pid not in members:
                members.append(component.pid)
            if members:
                alive[f"{component.name} (pid {component.pid})"] = members
        return alive

    # ----------------------------------------------------------------------- CLI
    def cli(self, *args: str, timeout: float = 120.0, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [str(self.airflow_bin), *args],
            env=self.env,
            cwd=self.root,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        with open(self.component_logs / "cli.log", "a", encoding="utf-8") as log:
            log.write(f"$ airflow {' '.join(args)}  -> rc {result.returncode}\n{result.stdout}{result.stderr}\n")
        if check and result.returncode != 0:
            raise AssertionError(
                f"airflow {' '.join(args)} exited with {result.returncode}:\n{result.stdout[-3000:]}"
                f"\n{result.stderr[-3000:]}"
            )
        return result

    def python(self, code: str, *, timeout: float = 120.0) -> subprocess.CompletedProcess:
        """Run a Python snippet with the stack's environment (same AIRFLOW_HOME and DB)."""
        return subprocess.run(
            [sys.executable, "-c", code],
            env=self.env,
            cwd=self.root,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    # ------------------------------------------------------------------------ DB
    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        """A read-only query on the SQLite DB (fast: no Airflow import)."""
        if not self.db_path.exists():
            return []
        conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        rows = self.query(
            "SELECT task_id, state FROM task_instance WHERE dag_id = ? AND run_id = ? AND map_index = -1",
            (dag_id, run_id),
        )
        return dict(rows)

    def dag_run_state(self, dag_id: str, run_id: str) -> str | None:
        rows = self.query("SELECT state FROM dag_run WHERE dag_id = ? AND run_id = ?", (dag_id, run_id))
        return rows[0][0] if rows else None

    def trigger_row(self, dag_id: str, run_id: str, task_id: str) -> tuple | None:
        """(trigger id, classpath, triggerer_id) of the trigger the task instance waits on, if any."""
        rows = self.query(
            "SELECT t.id, t.classpath, t.triggerer_id FROM trigger t JOIN task_instance ti ON ti.trigger_id = t.id "
            "WHERE ti.dag_id = ? AND ti.run_id = ? AND ti.task_id = ? AND ti.map_index = -1",
            (dag_id, run_id, task_id),
        )
        return rows[0] if rows else None

    def alive_triggerer_jobs(self) -> list[tuple]:
        return self.query(
            "SELECT id, state, latest_heartbeat FROM job WHERE job_type = 'TriggererJob' AND end_date IS NULL "
            "AND state = 'running'"
        )

    def orm_snapshot(self, dag_id: str, run_id: str) -> dict[str, Any]:
        """DagRun state, task instance states and every XCom of the run, read through Airflow's ORM."""
        code = f"""
import json
from sqlalchemy import select
from airflow.models.dagrun import DagRun
from airflow.models.taskinstance import TaskInstance
from airflow.models.xcom import XComModel
from airflow.utils.session import create_session

dag_id, run_id = {dag_id!r}, {run_id!r}
with create_session() as session:
    run = session.scalar(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
    tis = session.scalars(
        select(TaskInstance).where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id)
    ).all()
    xcoms = session.scalars(
        select(XComModel).where(XComModel.dag_id == dag_id, XComModel.run_id == run_id)
    ).all()
    out = {{
        "dag_run_state": None if run is None else str(run.state),
        "conf": None if run is None else run.conf,
        "tasks": {{ti.task_id: {{"state": None if ti.state is None else str(ti.state), "try_number": ti.try_number}}
                   for ti in tis}},
        "xcom": [
            {{"task_id": x.task_id, "key": x.key, "map_index": x.map_index, "raw": x.value,
              "value": XComModel.deserialize_value(x)}}
            for x in xcoms
        ],
    }}
print("STACK_SNAPSHOT=" + json.dumps(out, default=str))
"""
        result = self.python(code)
        for line in result.stdout.splitlines():
            if line.startswith("STACK_SNAPSHOT="):
                return json.loads(line[len("STACK_SNAPSHOT=") :])
        raise AssertionError(f"ORM snapshot failed (rc {result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")

    # ----------------------------------------------------------------------- logs
    def task_log_files(self) -> list[Path]:
        logs = self.home / "logs"
        return sorted(p for p in logs.rglob("*") if p.is_file()) if logs.exists() else []

    def tail(self, name: str, lines: int = 40) -> str:
        path = self.components[name].log_path if name in self.components else self.component_logs / f"{name}.log"
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return f"(no log at {path})"
        return self._hide("\n".join(text.splitlines()[-lines:]))

    def dump_logs(self, lines: int = 40) -> None:
        """Print the tail of every component log and every Airflow task/trigger log (key masked)."""
        seen = set()
        for component in self.all_started:
            if component.log_path in seen:
                continue
            seen.add(component.log_path)
            print(f"\n===== {component.name} (pid {component.pid}) : last {lines} lines of {component.log_path} =====")
            print(self.tail(component.name, lines))
        cli_log = self.component_logs / "cli.log"
        if cli_log.exists():
            print(f"\n===== airflow CLI calls : {cli_log} =====")
            print(self._hide("\n".join(cli_log.read_text(errors="replace").splitlines()[-lines:])))
        for path in self.task_log_files():
            print(f"\n===== {path.relative_to(self.home)} (last {lines} lines) =====")
            print(self._hide("\n".join(path.read_text(errors="replace").splitlines()[-lines:])))

    def _hide(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***TEST-KEY***")
        return text


def _signal_group(pid: int, sig: int) -> None:
    """Signal the process group led by ``pid`` (each component is a session leader: pgid == pid)."""
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:  # pragma: no cover - a recycled pgid owned by someone else: signal only the pid
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def wait_quietly(predicate: Callable[[], bool], timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def http_ok(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return 200 <= response.status < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False
