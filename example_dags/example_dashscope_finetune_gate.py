"""Gate a deployment on a DashScope fine-tune: wait for the job, take its result, hand it to the deploy step.

Trigger it with the job id, e.g. ``airflow dags test dashscope_finetune_gate -c '{"job_id": "ft-..."}'``.
Set ``DASHSCOPE_EXAMPLE_POLL_INTERVAL`` to poll faster than once a minute (the demo uses 1 second).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.providers.common.compat.sdk import DAG, Param, task

from airflow_provider_dashscope.operators.fine_tunes import DashScopeFineTuneJobOperator
from airflow_provider_dashscope.sensors.fine_tunes import DashScopeFineTuneJobSensor

POLL_INTERVAL = float(os.environ.get("DASHSCOPE_EXAMPLE_POLL_INTERVAL", "60"))

with DAG(
    dag_id="dashscope_finetune_gate",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"job_id": Param("ft-202410291653-1c7f", type="string", description="The fine-tune job to wait for")},
    tags=["dashscope", "example"],
) as dag:
    wait_for_finetune = DashScopeFineTuneJobSensor(
        task_id="wait_for_finetune",
        job_id="{{ params.job_id }}",
        deferrable=True,
        poll_interval=POLL_INTERVAL,
        timeout=timedelta(hours=12),
    )

    finetune_result = DashScopeFineTuneJobOperator(
        task_id="finetune_result",
        job_id="{{ params.job_id }}",
        wait_for_completion=False,  # the sensor already waited; read the finished job once
    )

    @task
    def deploy(result: dict) -> dict:
        """Stand-in for a deployment step: the fine-tuned model id and the tokens it cost (an int), as pushed."""
        print(f"DEPLOY finetuned_output={result['finetuned_output']} usage={result['usage']}")
        return {"deployed_model": result["finetuned_output"], "usage": result["usage"]}

    wait_for_finetune >> finetune_result
    deployed = deploy(finetune_result.output)

if __name__ == "__main__":
    dag.test()
