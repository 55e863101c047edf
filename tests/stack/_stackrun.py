"""Run Airflow 3 components headless in a temporary AIRFLOW_HOME, for the real-stack tests.

:class:`AirflowStack` holds the environment every component shares (one metadata DB, one JWT secret, the
api-server's port, LocalExecutor with ``[core] parallelism`` 4 and ``[workers] min_heartbeat_interval`` 1 so a
deferred task's worker reports at once), starts each component in its own session and stops every one it
started. The metadata DB is SQLite (a file in the home) or a URL given by the test (PostgreSQL).

Process control lives in :mod:`._procs`, DB reads in :mod:`._db`, the emulator helpers in :mod:`._emulated`.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ._db import MetadataReader, SqliteReader
from ._procs import Component, Timeline, free_port, kill_group_now, live_members_of_group, pid_alive, stop_groups


class AirflowStack:
    """One temporary AIRFLOW_HOME and the Airflow processes started in it. Every process is stopped by its pid."""

    def __init__(
        self,
        root: Path,
        *,
        airflow_bin: Path,
        extra_env: dict[str, str],
        secrets_to_hide: Iterable[str] = (),
        sql_alchemy_conn: str | None = None,
        db: MetadataReader | None = None,
    ):
        self.root = root
        self.home = root / "airflow-home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.component_logs = root / "component-logs"
        self.component_logs.mkdir(exist_ok=True)
        self.airflow_bin = airflow_bin
        self.api_port = free_port()
        if sql_alchemy_conn is None:
            db_path = self.home / "airflow.db"
            sql_alchemy_conn = f"sqlite:///{db_path}"
            db = db or SqliteReader(db_path)
        if db is None:
            raise ValueError("pass a MetadataReader for a database other than the default SQLite file")
        self.db = db
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
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sql_alchemy_conn,
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
        return stop_groups([self.components[name]], grace=grace)[name]

    def kill(self, name: str) -> dict[str, Any]:
        """SIGKILL the component's whole process group at once, as a crash or a lost machine would."""
        return kill_group_now(self.components[name])

    def stop_all(self, *, grace: float = 5.0) -> dict[str, dict[str, Any]]:
        return stop_groups([c for c in self.all_started if c.stop_report is None], grace=grace)

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

    def close(self, *, grace: float = 5.0) -> None:
        """Teardown: stop every started component, close the DB reader, fail if a process is left."""
        try:
            self.stop_all(grace=grace)
        finally:
            self.db.close()
        alive = self.live_pids()
        if alive:
            self.dump_logs()
        assert not alive, f"processes started by the test are still alive after teardown: {alive}"
        started = [c.pid for c in self.all_started]
        print(f"[stack] teardown: all {len(started)} started processes are gone: {started}")

    # ----------------------------------------------------------------------- CLI
    def launch(
        self,
        *,
        triggerer: str = "triggerer",
        triggerer_args: Sequence[str] = (),
        apps: str = "execution",
        migrate_timeout: float = 240.0,
    ) -> None:
        """Migrate the metadata DB, then start the api-server (serving ``apps``), scheduler, dag-processor and one
        triggerer named ``triggerer``; the caller waits for what its scenario needs."""
        self.cli("db", "migrate", timeout=migrate_timeout)
        port = str(self.api_port)
        self.start("api-server", "api-server", "--apps", apps, "-p", port, "-H", "127.0.0.1")
        self.start("scheduler", "scheduler", "--skip-serve-logs")
        self.start("dag-processor", "dag-processor")
        self.start(triggerer, "triggerer", "--skip-serve-logs", *triggerer_args)

    def cli(self, *args: str, timeout: float = 120.0, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [str(self.airflow_bin), *args],
            check=False,
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
                f"airflow {' '.join(args)} exited with {result.returncode}:\n{self._hide(result.stdout[-3000:])}"
                f"\n{self._hide(result.stderr[-3000:])}"
            )
        return result

    def python(self, code: str, *, timeout: float = 120.0) -> subprocess.CompletedProcess:
        """Run a Python snippet with the stack's environment (same AIRFLOW_HOME and DB)."""
        return subprocess.run(
            [sys.executable, "-c", code],
            check=False,
            env=self.env,
            cwd=self.root,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    # ------------------------------------------------------------------------ DB
    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        return self.db.query(sql, params)

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        return self.db.task_states(dag_id, run_id)

    def dag_run_state(self, dag_id: str, run_id: str) -> str | None:
        return self.db.dag_run_state(dag_id, run_id)

    def trigger_row(self, dag_id: str, run_id: str, task_id: str) -> tuple | None:
        return self.db.trigger_row(dag_id, run_id, task_id)

    def alive_triggerer_jobs(self) -> list[tuple]:
        return self.db.alive_triggerer_jobs()

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
                   for ti in tis if ti.map_index == -1}},
        "mapped": [
            {{"task_id": ti.task_id, "map_index": ti.map_index, "try_number": ti.try_number,
              "state": None if ti.state is None else str(ti.state)}}
            for ti in tis if ti.map_index >= 0
        ],
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
        raise AssertionError(
            f"ORM snapshot failed (rc {result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )

    # ----------------------------------------------------------------------- logs
    def task_log_files(self) -> list[Path]:
        logs = self.home / "logs"
        return sorted(p for p in logs.rglob("*") if p.is_file()) if logs.exists() else []

    def files_containing(self, needle: str) -> list[str]:
        """Task/trigger logs and component output that contain ``needle`` (for the secret scan)."""
        data = needle.encode()
        found = [str(p.relative_to(self.home)) for p in self.task_log_files() if data in p.read_bytes()]
        found += [p.name for p in self.component_logs.iterdir() if p.is_file() and data in p.read_bytes()]
        return found

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


def connection_env(root_url: str, api_key: str) -> dict[str, str]:
    """The environment that gives the stack's processes the ``dashscope_default`` connection to an emulator."""
    conn = {"conn_type": "dashscope", "password": api_key, "host": root_url}
    return {"AIRFLOW_CONN_DASHSCOPE_DEFAULT": json.dumps(conn)}


@contextmanager
def airflow_stack(
    root: Path, *, airflow_bin: Path, dags: Path, env: dict[str, str], secrets_to_hide: Iterable[str], **kwargs: Any
) -> Iterator[AirflowStack]:
    """An :class:`AirflowStack` on the DAGs in ``dags`` (not started), closed with its processes at the end."""
    stack = AirflowStack(root, airflow_bin=airflow_bin, extra_env={"AIRFLOW__CORE__DAGS_FOLDER": str(dags), **env},
                         secrets_to_hide=secrets_to_hide, **kwargs)  # fmt: skip
    print(f"\n[stack] AIRFLOW_HOME={stack.home} api port={stack.api_port}")
    try:
        yield stack
    finally:
        stack.close(grace=5.0)


@contextmanager
def reported(
    stack: AirflowStack, *, lines: int = 40, on_failure: Callable[[], None] | None = None
) -> Iterator[Timeline]:
    """A scenario's timeline, printed at the end; on a failure also ``on_failure()`` and the stack's logs."""
    timeline = Timeline()
    try:
        yield timeline
    except BaseException:
        print("\n[stack] FAILED; timeline so far:\n" + timeline.render())
        if on_failure is not None:
            on_failure()
        stack.dump_logs(lines)
        raise
    print("\n[stack] timeline:\n" + timeline.render())
