"""A small gate DAG for the browser test: it uses the connection ``dashscope_ui`` that the test creates through the
connection form, waits (deferred) on the job given as ``job_id`` and reads the finished job once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.common.compat.sdk import DAG, Param

from airflow_provider_dashscope.operators.fine_tunes import DashScopeFineTuneJobOperator
from airflow_provider_dashscope.sensors.fine_tunes import DashScopeFineTuneJobSensor

CONN_ID = "dashscope_ui"

with DAG(
    dag_id="dashscope_stack_ui",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"job_id": Param("ft-202410291653-1c7f", type="string")},
    tags=["dashscope", "test"],
):
    wait = DashScopeFineTuneJobSensor(
        task_id="wait_for_finetune",
        job_id="{{ params.job_id }}",
        dashscope_conn_id=CONN_ID,
        deferrable=True,
        poll_interval=1,
        timeout=timedelta(hours=1),
    )
    result = DashScopeFineTuneJobOperator(
        task_id="finetune_result",
        job_id="{{ params.job_id }}",
        dashscope_conn_id=CONN_ID,
        wait_for_completion=False,
    )
    wait >> result
