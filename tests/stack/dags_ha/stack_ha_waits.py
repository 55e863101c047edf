"""Many deferred waits at once, for the real-stack test with two triggerers: one mapped, deferrable sensor task
per fine-tune job. The job ids are ``ft-stack-ha-00`` ... (``DASHSCOPE_STACK_WAITS`` of them, 16 by default); the
test seeds those jobs in the emulator and decides which of them fail.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_dashscope.sensors.fine_tunes import DashScopeFineTuneJobSensor

WAITS = int(os.environ.get("DASHSCOPE_STACK_WAITS", "16"))
JOB_IDS = [f"ft-stack-ha-{i:02d}" for i in range(WAITS)]

with DAG(
    dag_id="dashscope_stack_ha",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_tasks=2 * WAITS,
    tags=["dashscope", "test"],
):
    DashScopeFineTuneJobSensor.partial(
        task_id="wait",
        deferrable=True,
        poll_interval=float(os.environ.get("DASHSCOPE_STACK_POLL_INTERVAL", "2")),
        timeout=timedelta(hours=2),
        max_active_tis_per_dag=2 * WAITS,
    ).expand(job_id=JOB_IDS)
