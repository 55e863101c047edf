"""Shared fixtures. Keep this small and generic; feature-specific fixtures live next to their tests."""

from __future__ import annotations

import atexit
import json
import logging
import os
import shutil
import sys
import tempfile
from contextlib import nullcontext
from pathlib import Path

import pytest

# Airflow reads AIRFLOW_HOME when it is first imported: point it at a throw-away directory before any test module
# imports airflow, so no developer's airflow.cfg, DB or connections leak into the tests.
_AIRFLOW_HOME = tempfile.mkdtemp(prefix="dashscope-tests-airflow-home-")
atexit.register(shutil.rmtree, _AIRFLOW_HOME, ignore_errors=True)
os.environ["AIRFLOW_HOME"] = _AIRFLOW_HOME
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"

# Import Airflow (and so apply its logging configuration) once, before any test installs log capture handlers.
import airflow  # noqa: E402,F401

# `from tests._servers import ...` works however pytest is started (python -m pytest, pytest, from any cwd).
_REPO_ROOT = str(Path(__file__).resolve().parents[1])
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

#: The emulator, connection, clock, log and task-context fixtures of the trigger, sensor and operator tests.
pytest_plugins = ["tests._waiting"]

#: A recognisable fake API key: tests assert it never shows up in errors, logs or reprs.
CANARY_KEY = "sk-SECRET-canary-1234"


@pytest.fixture(autouse=True)
def _no_dashscope_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK's environment variables must not leak in from the developer's shell; loopback never via a proxy."""
    monkeypatch.delenv("DASHSCOPE_API_KEY", raising=False)
    monkeypatch.delenv("DASHSCOPE_HTTP_BASE_URL", raising=False)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, ",".join(filter(None, [os.environ.get(name), "127.0.0.1", "localhost"])))


@pytest.fixture
def canary_key() -> str:
    return CANARY_KEY


@pytest.fixture
def scripted_server():
    """A :class:`tests._servers.ScriptedServer` on 127.0.0.1, stopped after the test."""
    from tests._servers import ScriptedServer

    server = ScriptedServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def dashscope_conn(monkeypatch: pytest.MonkeyPatch):
    """Define an Airflow connection of type ``dashscope`` through ``AIRFLOW_CONN_<ID>`` (no DB needed).

    ``dashscope_conn("my_id", host=..., password=..., **extra)``; ``password=None`` leaves the key out.
    """

    def define(conn_id: str, *, host: str | None = None, password: str | None = CANARY_KEY, **extra) -> str:
        conn: dict = {"conn_type": "dashscope"}
        if password is not None:
            conn["password"] = password
        if host is not None:
            conn["host"] = host
        if extra:
            conn["extra"] = extra
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
        return conn_id

    return define


class LogCapture:
    """Log lines from stdlib logging (Airflow 2, plain loggers) and structlog (Airflow 3 task/hook loggers)."""

    def __init__(self, caplog: pytest.LogCaptureFixture, structlog_entries: list | None) -> None:
        self._caplog = caplog
        self._structlog = structlog_entries if structlog_entries is not None else []

    def lines(self, level: str | None = None) -> list[str]:
        found = [r.getMessage() for r in self._caplog.records if level is None or r.levelname.lower() == level.lower()]
        for entry in self._structlog:
            if level is None or str(entry.get("log_level", "")).lower() == level.lower():
                extras = "".join(f" {k}={v}" for k, v in entry.items() if k not in ("event", "log_level"))
                found.append(str(entry.get("event", "")) + extras)
        return found


@pytest.fixture
def log_lines(caplog: pytest.LogCaptureFixture):
    """Capture log lines at any level, whichever logging stack the installed Airflow uses for hooks."""
    caplog.set_level(logging.DEBUG)
    try:
        from structlog.testing import capture_logs
    except ImportError:  # pragma: no cover - structlog ships with Airflow 3
        capture_logs = None
    with capture_logs() if capture_logs else nullcontext() as entries:
        yield LogCapture(caplog, entries)
