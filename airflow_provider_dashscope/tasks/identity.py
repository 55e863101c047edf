"""What identifies a task instance across its tries, for finding what an earlier try of it created (no I/O)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any


def task_instance_token(context: Mapping[str, Any]) -> str:
    """12 hex digits, the same for every try of one task instance (DAG, task, run and map index)."""
    ti = context["ti"]
    run_id = getattr(ti, "run_id", None) or str(context.get("run_id"))
    map_index = getattr(ti, "map_index", -1)
    return hashlib.sha1(f"{ti.dag_id}\n{ti.task_id}\n{run_id}\n{map_index}".encode()).hexdigest()[:12]


def try_number(context: Mapping[str, Any]) -> int:
    return int(getattr(context["ti"], "try_number", 1) or 1)


def run_start(context: Mapping[str, Any]) -> datetime | None:
    """When the DAG run started (timezone-aware), if the context says."""
    return getattr(context.get("dag_run"), "start_date", None)
