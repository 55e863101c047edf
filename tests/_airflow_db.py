"""A migrated SQLite metadata DB for tests that run Airflow in a subprocess, made once per test run and copied.

``airflow db migrate`` takes 5-15 s; the DAG tests and the CLI tests each need a fresh
migrated DB. The first caller in a test run migrates one with the real CLI (under a file lock, so parallel pytest-xdist
workers wait for it instead of migrating too); every caller then gets a copy in its own AIRFLOW_HOME. The template
lives in the directory named by ``DASHSCOPE_TESTS_DB_TEMPLATES`` (set by ``tests/conftest.py`` for the whole run,
workers included) and is keyed by the installed Airflow version.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

TEMPLATES_ENV = "DASHSCOPE_TESTS_DB_TEMPLATES"
AIRFLOW = Path(sys.executable).parent / "airflow"


def _clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "DASHSCOPE_"))}
    env.update(AIRFLOW_HOME=str(home), AIRFLOW__CORE__LOAD_EXAMPLES="False")
    return env


def template_db() -> Path:
    """The migrated template DB of this test run (migrated by the first caller)."""
    import airflow

    root = Path(os.environ.get(TEMPLATES_ENV) or tempfile.gettempdir())
    home = root / f"airflow-{airflow.__version__}"
    database = home / "airflow.db"
    done = home / "migrated"
    home.mkdir(parents=True, exist_ok=True)
    with open(root / f"airflow-{airflow.__version__}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes; a waiting worker then finds it done
        if not done.exists():
            database.unlink(missing_ok=True)
            result = subprocess.run(
                [str(AIRFLOW), "db", "migrate"],
                env=_clean_env(home),
                cwd=str(home),
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert result.returncode == 0, f"airflow db migrate failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
            done.touch()
    return database


def copy_migrated_db(home: Path) -> Path:
    """Put a copy of the migrated template at ``home/airflow.db`` (Airflow's default SQLite path); return ``home``."""
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template_db(), home / "airflow.db")
    return home
