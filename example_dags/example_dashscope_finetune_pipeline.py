"""From training data to a serving model: upload → fine-tune → wait → deploy → wait until it serves → report.

1. ``upload_training_data`` checks the JSONL file (every line a chat sample) and uploads it; its XCom is the
   ``file_id``.
2. ``train`` creates a fine-tune job on that file and waits for it in the triggerer (deferrable); it hands on the
   job's ``finetuned_output`` and adds an asset event ``dashscope://<region>/models/<finetuned_output>`` through the
   ``dashscope-finetuned-models`` alias.
3. ``deploy`` deploys ``finetuned_output`` and waits in the triggerer until it is RUNNING; it adds an asset event
   ``dashscope://<region>/deployments/<deployed_model>`` through ``dashscope-deployed-models``, which starts
   ``dashscope_new_model_announcer`` (``example_dashscope_new_model_announcer.py``).
4. ``report_serving`` prints what serves.

The training file defaults to the small one shipped in ``data/``; pass another with
``-c '{"training_file": "s3://bucket/train.jsonl"}'`` (any ObjectStoragePath URI, with its provider installed).
Set ``DASHSCOPE_EXAMPLE_POLL_INTERVAL`` to poll faster than every 30 seconds (the demo uses 1 second).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

from airflow.providers.common.compat.assets import AssetAlias
from airflow.providers.common.compat.sdk import DAG, Param, task

from airflow_provider_dashscope.assets import DEPLOYED_MODELS_ALIAS, FINETUNED_MODELS_ALIAS
from airflow_provider_dashscope.operators.deployments import DashScopeDeployModelOperator
from airflow_provider_dashscope.operators.files import DashScopeUploadFileOperator
from airflow_provider_dashscope.operators.fine_tunes import DashScopeCreateFineTuneJobOperator

POLL_INTERVAL = float(os.environ.get("DASHSCOPE_EXAMPLE_POLL_INTERVAL", "30"))
TRAINING_FILE = str(Path(__file__).resolve().parent / "data" / "airflow_faq_sft.jsonl")

with DAG(
    dag_id="dashscope_finetune_pipeline",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={
        "training_file": Param(TRAINING_FILE, type="string", description="A local path or a URI of a JSONL file"),
        "base_model": Param("qwen3-14b", type="string", description="The model to fine-tune"),
    },
    default_args={"retries": 2, "retry_delay": timedelta(seconds=30)},
    tags=["dashscope", "example"],
) as dag:
    upload_training_data = DashScopeUploadFileOperator(
        task_id="upload_training_data",
        path="{{ params.training_file }}",
        description="Airflow FAQ, chat format",
    )

    train = DashScopeCreateFineTuneJobOperator(
        task_id="train",
        model="{{ params.base_model }}",
        training_file_ids=[upload_training_data.output],
        hyper_parameters={"n_epochs": 2, "learning_rate": "1e-5"},
        deferrable=True,
        poll_interval=POLL_INTERVAL,
        timeout=timedelta(hours=12),
        outlets=[AssetAlias(FINETUNED_MODELS_ALIAS)],
    )

    deploy = DashScopeDeployModelOperator(
        task_id="deploy",
        model_name=train.output["finetuned_output"],
        capacity=1,
        deferrable=True,
        poll_interval=POLL_INTERVAL,
        timeout=timedelta(hours=1),
        outlets=[AssetAlias(DEPLOYED_MODELS_ALIAS)],
    )

    @task
    def report_serving(deployment: dict) -> dict:
        """What serves now: the deployed model to call, the model behind it and its capacity."""
        print(
            f"SERVING deployed_model={deployment['deployed_model']} model_name={deployment['model_name']} "
            f"base_model={deployment['base_model']} status={deployment['status']} capacity={deployment['capacity']}"
        )
        return deployment

    report_serving(deploy.output)


if __name__ == "__main__":
    dag.test()
