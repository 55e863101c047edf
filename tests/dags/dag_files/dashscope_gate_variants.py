"""DAGs for the DAG tests: the gate's soft_fail and timeout variants, and submit-then-deploy.

``DASHSCOPE_TEST_POLL_INTERVAL`` sets how often the waits poll (the tests use half a second).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.providers.common.compat.sdk import DAG, Param, task

from airflow_provider_dashscope.operators.fine_tunes import DashScopeCreateFineTuneJobOperator
from airflow_provider_dashscope.sensors.fine_tunes import DashScopeFineTuneJobSensor

POLL_INTERVAL = float(os.environ.get("DASHSCOPE_TEST_POLL_INTERVAL", "0.5"))
START = datetime(2026, 1, 1)


@task
def deploy(result: dict) -> dict:
    """Stand-in for a deployment: runs only when the wait before it succeeded."""
    return {"deployed_model": result["finetuned_output"], "usage": result["usage"]}


# A job that FAILED or was CANCELED skips the gate (and what follows it) instead of failing the run.
with DAG(
    dag_id="dashscope_gate_soft_fail",
    schedule=None,
    start_date=START,
    catchup=False,
    params={
        "failed_job_id": Param("ft-failed", type="string"),
        "cancelled_job_id": Param("ft-cancelled", type="string"),
    },
):
    for kind in ("failed", "cancelled"):
        wait = DashScopeFineTuneJobSensor(
            task_id=f"wait_{kind}",
            job_id="{{ params." + kind + "_job_id }}",
            deferrable=True,
            poll_interval=POLL_INTERVAL,
            soft_fail=True,
        )
        deploy.override(task_id=f"deploy_{kind}")(wait.output)


# A job that runs past the sensor's timeout: fails the task without retries (retries=2 must not be used), or skips
# it with soft_fail; deferrable and poke mode alike.
with DAG(
    dag_id="dashscope_gate_timeout",
    schedule=None,
    start_date=START,
    catchup=False,
    params={"job_id": Param("ft-long", type="string")},
    default_args={"retries": 2, "retry_delay": timedelta(seconds=0)},
):
    for task_id, extra in (
        ("wait_deferrable", {"deferrable": True}),
        ("wait_deferrable_soft_fail", {"deferrable": True, "soft_fail": True}),
        ("wait_poke", {"deferrable": False, "mode": "poke"}),
    ):
        wait = DashScopeFineTuneJobSensor(
            task_id=task_id, job_id="{{ params.job_id }}", poll_interval=POLL_INTERVAL, timeout=2, **extra
        )
        deploy.override(task_id=f"deploy_after_{task_id}")(wait.output)


# Submit a job from templated arguments, wait in the triggerer, hand the result on.
with DAG(
    dag_id="dashscope_create_and_deploy",
    schedule=None,
    start_date=START,
    catchup=False,
    params={"model": Param("qwen3-8b", type="string"), "train_file": Param("file-ft-dag", type="string")},
):
    train = DashScopeCreateFineTuneJobOperator(
        task_id="train",
        model="{{ params.model }}",
        training_file_ids=["{{ params.train_file }}"],
        hyper_parameters={"n_epochs": 2, "learning_rate": "{{ '2e-5' }}"},
        deferrable=True,
        poll_interval=POLL_INTERVAL,
    )

    @task
    def deploy_model(result: dict, finetuned_output: str, usage: str) -> dict:
        return {"return_value": result, "xcom_finetuned_output": finetuned_output, "xcom_usage": usage}

    deploy_model(
        train.output,
        finetuned_output="{{ ti.xcom_pull(task_ids='train', key='finetuned_output') }}",
        usage="{{ ti.xcom_pull(task_ids='train', key='usage') }}",
    )
