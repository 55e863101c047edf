"""Fixtures of the reliability and security tests: the emulator over loopback, connections with a fast retry budget,
recorders of the hook's and trigger's sleeps, and a migrated AIRFLOW_HOME for real ``airflow dags test`` runs.

Nothing of the package is mocked: every test talks real HTTP (to the emulator or to a tiny server on 127.0.0.1).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_dashscope.emulator.testing import EmulatorThread
from tests._airflow_db import copy_migrated_db

from ._faults import HOOK_ATTEMPTS, READ_TIMEOUT

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DAG_FILES = HERE / "dag_files"
EXAMPLE_DAGS = REPO / "example_dags"
DAG_RUNNER = HERE.parent / "_dag_runner.py"
AIRFLOW = Path(sys.executable).parent / "airflow"

#: The recognisable API key of every test here; the secret tests search for it everywhere.
KEY = "sk-CANARY-7f3a9c"
GET_JOB = "/fine-tunes/{job_id}"
UNRESOLVABLE_BASE_URL = "https://no-such-host.invalid/api/v1"


def conn_json(host: str, *, password: str | None = KEY, **extra: Any) -> str:
    """The connection of these tests: ``max_retries=3`` (4 attempts), tiny backoff, 1 s read timeout."""
    options: dict[str, Any] = {
        "retry_base_delay": 0.01,
        "retry_max_delay": 0.05,
        "max_retries": HOOK_ATTEMPTS - 1,
        "timeout": READ_TIMEOUT,
        "connect_timeout": 2,
    }
    options.update(extra)
    conn: dict[str, Any] = {"conn_type": "dashscope", "host": host, "extra": options}
    if password is not None:
        conn["password"] = password
    return json.dumps(conn)


def closed_port() -> int:
    """A loopback port nothing listens on (bound once, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def emu():
    """The emulator on 127.0.0.1 (one per test module, reset before each test); jobs never end on their own."""
    with EmulatorThread(api_key=KEY, pending_seconds=0, running_seconds=3600, canceling_seconds=0) as server:
        yield server


@pytest.fixture
def conn(emu: EmulatorThread, monkeypatch: pytest.MonkeyPatch) -> EmulatorThread:
    """Reset the emulator and point ``dashscope_default`` at it (and ``refused``/``dns`` at nothing)."""
    emu.reset()
    monkeypatch.setenv("AIRFLOW_CONN_DASHSCOPE_DEFAULT", conn_json(emu.base_url))
    monkeypatch.setenv("AIRFLOW_CONN_REFUSED", conn_json(f"http://127.0.0.1:{closed_port()}/api/v1"))
    monkeypatch.setenv("AIRFLOW_CONN_DNS", conn_json(UNRESOLVABLE_BASE_URL))
    return emu


def seed_job(emu: EmulatorThread, job_id: str, status: str = "SUCCEEDED", **settings: Any) -> dict[str, Any]:
    """Seed a job pinned at ``status`` and return it as the API renders it (finetuned_output, usage...)."""
    settings.setdefault("model", "qwen3-14b")
    settings.setdefault("usage", 4321)
    emu.seed([{"job_id": job_id, "status": status, "pin": True, **settings}])
    return emu.state.get_job(job_id)


def assert_no_key(*texts: Any) -> None:
    for text in texts:
        assert KEY not in str(text), f"the API key leaked into: {str(text)[:500]}"
        assert "Bearer" not in str(text) and "Authorization" not in str(text), f"a header leaked: {str(text)[:500]}"


def error_texts(error: BaseException) -> list[str]:
    """str, repr and the formatted traceback (what a task log shows) of an error, and of every error it chains."""
    import traceback

    texts = ["".join(traceback.format_exception(type(error), error, error.__traceback__))]
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        texts += [str(current), repr(current)]
        current = current.__cause__ or current.__context__
    return texts


def raised(error_type: type[BaseException], call: Callable[[], Any]) -> BaseException:
    """The error ``call`` raises, checked to be an ``error_type`` whose texts show no key."""
    with pytest.raises(error_type) as info:
        call()
    assert_no_key(*error_texts(info.value))
    return info.value


# ------------------------------------------------------------------------------------------------------------------
# DAG runs: a migrated AIRFLOW_HOME per session, `airflow dags test` in a subprocess
# ------------------------------------------------------------------------------------------------------------------
def base_env(home: Path, dags_folder: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "DASHSCOPE_"))}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False",
        AIRFLOW__CORE__DAGS_FOLDER=str(dags_folder),
    )
    return env


def migrated_home(path: Path) -> Path:
    """``path`` with a migrated SQLite DB: a copy of the test run's one ``airflow db migrate`` (tests/_airflow_db.py)."""
    return copy_migrated_db(path)


class DagRun:
    """What one ``airflow dags test`` run left: exit code, output, task states, XComs, rendered fields..."""

    def __init__(self, returncode: int, stdout: str, stderr: str, report: dict[str, Any]) -> None:
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.report = report
        self.states: dict[str, str] = report.get("states", {})
        self.xcom: dict[str, dict[str, Any]] = report.get("xcom", {})

    @property
    def output(self) -> str:
        return self.stdout + "\n" + self.stderr

    def __str__(self) -> str:
        return f"rc={self.returncode} states={self.states}\n--- output (tail) ---\n{self.output[-8000:]}"


def run_dag(
    home: Path, dags_folder: Path, dag_id: str, conf: dict | None = None, *, timeout: float = 400, **env: str
) -> DagRun:
    environment = base_env(home, dags_folder)
    environment.update(env)
    done = subprocess.run(
        [sys.executable, str(DAG_RUNNER), dag_id, json.dumps(conf) if conf else ""],
        env=environment,
        cwd=str(home),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("DAG_RESULT ")]
    assert lines, f"no DAG_RESULT line (rc={done.returncode}):\n{(done.stdout + done.stderr)[-8000:]}"
    return DagRun(done.returncode, done.stdout, done.stderr, json.loads(lines[-1][len("DAG_RESULT ") :]))
