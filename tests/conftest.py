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
from typing import Any

import pytest

# Airflow reads AIRFLOW_HOME when it is first imported: point it at a throw-away directory before any test module
# imports airflow, so no developer's airflow.cfg, DB or connections leak into the tests.
_AIRFLOW_HOME = tempfile.mkdtemp(prefix="dashscope-tests-airflow-home-")
atexit.register(shutil.rmtree, _AIRFLOW_HOME, ignore_errors=True)
os.environ["AIRFLOW_HOME"] = _AIRFLOW_HOME
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"

# One migrated metadata DB per test run, copied by every test that runs Airflow in a subprocess (tests/_airflow_db.py);
# set before pytest-xdist starts its workers, so they share it.
if not os.environ.get("DASHSCOPE_TESTS_DB_TEMPLATES"):
    os.environ["DASHSCOPE_TESTS_DB_TEMPLATES"] = tempfile.mkdtemp(prefix="dashscope-tests-airflow-db-")
    atexit.register(shutil.rmtree, os.environ["DASHSCOPE_TESTS_DB_TEMPLATES"], ignore_errors=True)

# Import Airflow (and so apply its logging configuration) once, before any test installs log capture handlers.
import airflow  # noqa: E402,F401

# `from tests._servers import ...` works however pytest is started (python -m pytest, pytest, from any cwd).
_REPO_ROOT = str(Path(__file__).resolve().parents[1])
if _REPO_ROOT not in sys.path:
    sys.path.insert(0, _REPO_ROOT)

#: The emulator, connection, clock, log and task-context fixtures of the trigger, sensor and operator tests.
pytest_plugins = ["tests._waiting"]

# ------------------------------------------------------------------------------------------------------------------
# Test tiers (markers registered in pyproject.toml), set here from what a test uses rather than in every test:
#   stack  tests/stack: real Airflow components, a database server, a browser (minutes each)
#   slow   runs Airflow in a subprocess (`airflow dags test`, the CLI, a fresh interpreter parsing DAGs) or a DAG run
#   fast   everything else (`make test-fast`: -m "not slow and not stack")
# ------------------------------------------------------------------------------------------------------------------
#: Fixtures that run Airflow in a subprocess: a test using one (directly or through another fixture) is slow.
SLOW_FIXTURES = frozenset(
    {
        "run_dag",  # tests/dags: `airflow dags test` of a DAG file
        "airflow_home",  # tests/dags: a migrated AIRFLOW_HOME for subprocesses
        "airflow_env",  # tests/dags/test_example_dags_cli.py: the `airflow` CLI
        "matrix_run",  # tests/reliability/test_fault_matrix_dag.py: the fault-matrix DAG run
        "gate_run",  # tests/reliability/test_secrets.py: the gate DAG run scanned for the key
        "cli_output",  # tests/test_provider_metadata.py: `airflow providers ...`
        "first_import_results",  # tests/test_provider_metadata.py: fresh interpreters
        "parsed_default",  # tests/test_dag_parsing.py: fresh interpreters parsing the example DAGs
        "parsed_default_deferrable",
    }
)
#: Modules, and single tests, that start a subprocess loading Airflow without one of those fixtures (by path from the
#: tests/ folder).
SLOW_MODULES = frozenset({"test_benchmarks.py", "test_dag_parsing.py", "dags/test_example_dags_cli.py"})
SLOW_TESTS = frozenset({"hooks/test_tls.py::test_ssl_cert_file_keeps_working_for_the_async_hook"})
#: The stack tests start first, then the slow ones, so the long tests overlap the many short ones under xdist.
TIER_ORDER = {"stack": 0, "slow": 1, "fast": 2}
#: Ceiling of a real-stack test (pytest-timeout); every other test has the `timeout` of pyproject.toml.
STACK_TIMEOUT = 900


def _tier(item: pytest.Item, tests_root: Path) -> str:
    path = Path(str(item.path)).resolve()
    try:
        relative = path.relative_to(tests_root)
    except ValueError:
        return "fast"
    if relative.parts[0] == "stack" or item.get_closest_marker("stack"):
        return "stack"
    if item.get_closest_marker("slow") or relative.as_posix() in SLOW_MODULES:
        return "slow"
    if f"{relative.as_posix()}::{getattr(item, 'originalname', item.name)}" in SLOW_TESTS:
        return "slow"
    if SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())):
        return "slow"
    return "fast"


@pytest.hookimpl(tryfirst=True)  # before the mark plugin selects with -m
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    tests_root = Path(__file__).resolve().parent
    tiers = {}
    for item in items:
        tier = tiers[item.nodeid] = _tier(item, tests_root)
        if tier == "stack":
            item.add_marker(pytest.mark.stack)
            if not item.get_closest_marker("timeout"):
                item.add_marker(pytest.mark.timeout(STACK_TIMEOUT))
        elif tier == "slow":
            item.add_marker(pytest.mark.slow)
        if item.nodeid.split("::", 1)[0] in SPLIT_MODULES:
            _check_splittable(item)
    items.sort(key=lambda item: TIER_ORDER[tiers[item.nodeid]])


# ------------------------------------------------------------------------------------------------------------------
# Parallel runs (`make test`: pytest-xdist with `--dist loadgroup`). The work units are decided here, from node ids:
# - a test module is one unit (its module-scoped fixtures, e.g. the one fault-matrix DAG run, are made once);
# - the modules below, whose tests each run their own DAG and share nothing module-scoped, go test by test;
# - the real-stack tests form two lanes, so at most two stacks (a few Airflow processes each) run at once.
# Units start in collection order: stack, then slow, then fast.
# ------------------------------------------------------------------------------------------------------------------
SPLIT_MODULES = frozenset(
    {
        "tests/dags/test_dags.py",
        "tests/dags/test_day_one.py",
        "tests/dags/test_example_dags_cli.py",
        "tests/test_benchmarks.py",
    }
)
#: The real-stack modules of the first lane; the others form the second (about equal minutes each).
STACK_LANE_A = frozenset({"test_stack_ui_browser.py", "test_stack_event_watcher.py"})


def xdist_unit(nodeid: str) -> str:
    """The work unit of a test: what one worker runs in one go."""
    module = nodeid.split("::", 1)[0]
    if module.startswith("tests/stack/"):
        return "stack-lane-a" if module.rsplit("/", 1)[-1] in STACK_LANE_A else "stack-lane-b"
    return nodeid if module in SPLIT_MODULES else module


def _check_splittable(item: pytest.Item) -> None:
    info = getattr(item, "_fixtureinfo", None)
    for name, definitions in info.name2fixturedefs.items() if info is not None else ():
        if definitions and definitions[-1].scope in ("module", "package", "class"):
            raise pytest.UsageError(
                f"{item.nodeid} uses the {definitions[-1].scope}-scoped fixture {name!r}, but its module is in "
                "SPLIT_MODULES (tests/conftest.py), whose tests run on any worker: remove the module from the set"
            )


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """With ``--dist loadgroup``, schedule the units of :func:`xdist_unit`. (pytest-xdist's own loadgroup reads
    ``xdist_group`` marks through node ids that pytest 9.2 no longer lets it change, so it cannot be used.)"""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    # Units start in collection order (stack, slow, fast), not xdist's default of the most tests first, which would
    # start the one-test DAG units and the stack lanes last.
    config.option.loadscopereorder = False

    class UnitScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_unit(nodeid)

        def _reschedule(self, node: Any) -> None:
            # A worker on a stack lane gets nothing queued behind it until the lane is done: a unit waiting there
            # for minutes would end the run late while the other workers sit idle.
            if self.workqueue and not node.shutting_down and self._on_stack_lane(node):
                return
            super()._reschedule(node)

        def _on_stack_lane(self, node: Any) -> bool:
            work = self.assigned_work.get(node, {})
            return any(unit.startswith("stack-lane") and not all(done.values()) for unit, done in work.items())

    return UnitScheduling(config, log)


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
