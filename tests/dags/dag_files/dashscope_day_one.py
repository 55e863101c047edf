"""DAGs for what a DAG author meets on day one: every way a task fails at once, and a connection id with a typo.

``DASHSCOPE_TEST_POLL_INTERVAL`` sets how often the waits poll (the tests use half a second).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.providers.common.compat.sdk import DAG, Param, task

from airflow_provider_dashscope.operators.fine_tunes import DashScopeFineTuneJobOperator
from airflow_provider_dashscope.sensors.fine_tunes import DashScopeFineTuneJobSensor

POLL_INTERVAL = float(os.environ.get("DASHSCOPE_TEST_POLL_INTERVAL", "0.5"))
START = datetime(2026, 1, 1)


@task(retries=0)
def look_up(conn_id: str, job_id: str) -> None:
    """The hook in a task, as a DAG author calls it."""
    from airflow_provider_dashscope.hooks.dashscope import DashScopeHook

    DashScopeHook(conn_id).get_fine_tune_job(job_id)


# Independent tasks that each fail at once; retries=2 everywhere, so a failure that skips them has to say so.
with DAG(
    dag_id="dashscope_day_one_failures",
    schedule=None,
    start_date=START,
    catchup=False,
    params={
        "failed_job_id": Param("ft-failed", type="string"),
        "cancelled_job_id": Param("ft-cancelled", type="string"),
        "unknown_job_id": Param("ft-unknown", type="string"),
    },
    default_args={"retries": 2, "retry_delay": timedelta(seconds=0)},
):
    DashScopeFineTuneJobSensor(
        task_id="wait_failed", job_id="{{ params.failed_job_id }}", deferrable=True, poll_interval=POLL_INTERVAL
    )
    DashScopeFineTuneJobSensor(
        task_id="wait_cancelled", job_id="{{ params.cancelled_job_id }}", deferrable=True, poll_interval=POLL_INTERVAL
    )
    DashScopeFineTuneJobOperator(
        task_id="result_unknown", job_id="{{ params.unknown_job_id }}", deferrable=True, poll_interval=POLL_INTERVAL
    )
    # A value read from a conf the run was not given: the template renders the text "None".
    DashScopeFineTuneJobSensor(
        task_id="wait_without_job_id",
        job_id="{{ dag_run.conf.get('job_id') }}",
        deferrable=True,
        poll_interval=POLL_INTERVAL,
        retries=0,
    )
    DashScopeFineTuneJobSensor(
        task_id="wait_with_conn_typo",
        job_id="{{ params.failed_job_id }}",
        dashscope_conn_id="dashscope_defualt",
        deferrable=True,
        poll_interval=POLL_INTERVAL,
        retries=0,
    )
    look_up.override(task_id="look_up_unresolvable_host")("dashscope_dns", "ft-202411251000-dns0")
    look_up.override(task_id="look_up_long_unresolvable_host")("dashscope_dns_long", "ft-202411251000-dns1")


# With DASHSCOPE_API_KEY exported: an id with no close connection falls back to the key (and says so); the typo
# still stops, before any request.
with DAG(
    dag_id="dashscope_day_one_env_key",
    schedule=None,
    start_date=START,
    catchup=False,
    params={"job_id": Param("ft-done", type="string")},
):
    DashScopeFineTuneJobSensor(
        task_id="wait",
        job_id="{{ params.job_id }}",
        dashscope_conn_id="team_b_account",
        deferrable=True,
        poll_interval=POLL_INTERVAL,
    )
    DashScopeFineTuneJobSensor(
        task_id="wait_with_conn_typo",
        job_id="{{ params.job_id }}",
        dashscope_conn_id="dashscope_defualt",
        deferrable=True,
        poll_interval=POLL_INTERVAL,
        retries=0,
    )
