"""Fixtures of the real-stack tests (Airflow 3 scheduler, triggerer, dag-processor and api-server, headless)."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

import pytest


def _airflow_major() -> int:
    import airflow

    try:
        return int(str(airflow.__version__).split(".", 1)[0])
    except ValueError:  # pragma: no cover
        return 0


@pytest.fixture(scope="session")
def airflow_bin() -> Path:
    import airflow

    if _airflow_major() < 3:
        pytest.skip(f"the real-stack test needs Airflow 3 (installed: {airflow.__version__})")
    path = Path(sys.executable).parent / "airflow"
    if not path.exists():
        pytest.skip(f"no `airflow` script next to {sys.executable}")
    return path


@pytest.fixture
def stack_key() -> str:
    """A recognisable fake API key: it must never show up in Airflow's logs."""
    return "sk-STACKTEST-" + secrets.token_hex(8)
