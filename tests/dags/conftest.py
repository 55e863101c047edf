"""DAG tests: real ``airflow dags test`` runs in subprocesses, against the emulator running in this process.

The subprocesses share one migrated SQLite DB per session (a copy of the test run's one ``airflow db migrate``:
tests/_airflow_db.py) and reach the emulator over 127.0.0.1. The emulator's clock moves one second per job poll, so a job seeded with ``running_seconds=k`` is still
running at the sensor's first check and ends on the trigger's poll ``k-1``: the sensor really defers, in every run,
however slowly the machine starts Airflow.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_dashscope.emulator import EmulatorConfig, EmulatorState
from airflow_provider_dashscope.emulator.testing import EmulatorThread
from tests._airflow_db import copy_migrated_db

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
EXAMPLE_DAGS = REPO / "example_dags"
DAG_FILES = HERE / "dag_files"
RUNNER = HERE.parent / "_dag_runner.py"
API_KEY = "sk-dag-tests-SECRET-51d2"
GET_JOB = "/fine-tunes/{job_id}"
AIRFLOW = Path(sys.executable).parent / "airflow"


class PollClock:
    """Emulator clock: one second per ``GET /fine-tunes/{job_id}``."""

    def __init__(self) -> None:
        self.start = time.time()
        self.state: EmulatorState | None = None

    def __call__(self) -> float:
        return self.start + (self.state.request_count("GET", GET_JOB) if self.state is not None else 0)


_AIRFLOW2_STAMP = re.compile(r"^\[(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)[.,](\d{3})[^\]]*\]\s*(.*)$")


@dataclass
class DagRunResult:
    returncode: int
    run_state: str | None
    states: dict[str, str]
    tries: dict[str, int]
    xcom: dict[str, dict[str, Any]]
    links: dict[str, str]
    output: str

    def times_logged(self, text: str) -> int:
        """How many log records hold ``text``: Airflow 2's ``dags test`` prints each task log record twice, once
        as ``[2026-11-30 04:07:46,659]`` and once as ``[2026-11-30T04:07:46.659+0000]``; those count once."""
        records = set()
        for line in self.output.splitlines():
            if text in line:
                stamped = _AIRFLOW2_STAMP.match(line)
                records.add(stamped.groups() if stamped else line)
        return len(records)

    def __str__(self) -> str:  # what pytest shows when an assertion about the run fails
        return f"rc={self.returncode} states={self.states}\n--- output (tail) ---\n{self.output[-6000:]}"


def _base_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "DASHSCOPE_"))}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False",
        AIRFLOW__CORE__DAGS_FOLDER=str(DAG_FILES),
    )
    return env


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh AIRFLOW_HOME with a migrated SQLite DB, shared by every DAG run of the session."""
    return copy_migrated_db(tmp_path_factory.mktemp("dag-tests-airflow-home"))


@pytest.fixture
def emulator():
    clock = PollClock()
    state = EmulatorState(EmulatorConfig(api_key=API_KEY, clock=clock, pending_seconds=0, canceling_seconds=0))
    clock.state = state
    emu = EmulatorThread(state).start()
    yield emu
    emu.stop()


@pytest.fixture
def run_dag(airflow_home: Path, emulator: EmulatorThread):
    """``run_dag(dag_id, conf, dags_folder=DAG_FILES, **env)`` -> :class:`DagRunResult` of one ``dags test`` run."""

    def run(dag_id: str, conf: dict[str, Any], *, dags_folder: Path = DAG_FILES, **env: str) -> DagRunResult:
        environment = _base_env(airflow_home)
        environment.update(
            AIRFLOW__CORE__DAGS_FOLDER=str(dags_folder),
            AIRFLOW_CONN_DASHSCOPE_DEFAULT=json.dumps(
                {
                    "conn_type": "dashscope",
                    "password": API_KEY,
                    "host": emulator.base_url,
                    "extra": {"retry_base_delay": 0.01, "max_retries": 1},
                }
            ),
            DASHSCOPE_TEST_POLL_INTERVAL="0.5",
            **env,
        )
        done = subprocess.run(
            [sys.executable, str(RUNNER), dag_id, json.dumps(conf)],
            env=environment,
            cwd=str(airflow_home),
            capture_output=True,
            text=True,
            timeout=300,
        )
        output = done.stdout + "\n" + done.stderr
        lines = [line for line in done.stdout.splitlines() if line.startswith("DAG_RESULT ")]
        assert lines, f"no DAG_RESULT line (rc={done.returncode}):\n{output[-6000:]}"
        report = json.loads(lines[-1][len("DAG_RESULT ") :])
        fields = ("run_state", "states", "tries", "xcom", "links")
        return DagRunResult(returncode=done.returncode, output=output, **{key: report[key] for key in fields})

    return run
