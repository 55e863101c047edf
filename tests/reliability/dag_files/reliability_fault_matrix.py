"""One DAG per fault family for the reliability fault matrix (tests/reliability/test_fault_matrix_dag.py).

The test writes a JSON spec and points ``RELIABILITY_DAG_SPEC`` at it: one deferrable sensor per fault, each on its
own job id and connection id, all independent (so one failing task never stops another). A failure callback writes
each failed task's exception (type and text) to ``<out_dir>/<task_id>.json`` so the test can check what a user would
read. Without the variable (e.g. when a developer's DAG folder picks the file up) the file defines no DAG.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_dashscope.sensors.fine_tunes import DashScopeFineTuneJobSensor

SPEC = os.environ.get("RELIABILITY_DAG_SPEC")


def _record_failure(context) -> None:
    error = context.get("exception")
    ti = context["ti"]
    out = Path(json.loads(Path(SPEC).read_text())["out_dir"])
    payload = {"type": type(error).__name__, "mro": [c.__name__ for c in type(error).__mro__], "text": str(error)}
    (out / f"{ti.task_id}.json").write_text(json.dumps(payload))


if SPEC:
    spec = json.loads(Path(SPEC).read_text())
    with DAG(
        dag_id=spec["dag_id"],
        schedule=None,
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_tasks=64,
        default_args={"retries": 0},
    ) as dag:
        for task in spec["tasks"]:
            DashScopeFineTuneJobSensor(
                task_id=task["task_id"],
                job_id=task["job_id"],
                dashscope_conn_id=task.get("conn_id", "dashscope_default"),
                deferrable=True,
                poll_interval=task.get("poll_interval", 0.2),
                timeout=task.get("timeout", 120),
                max_consecutive_failures=task.get("max_consecutive_failures", 4),
                on_failure_callback=_record_failure,
            )
