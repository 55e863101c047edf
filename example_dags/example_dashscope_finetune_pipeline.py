"""From training data to a serving model: upload → fine-tune → gate on the best checkpoint → export → deploy → report.

1. ``upload_training_data`` and ``upload_validation_data`` check the JSONL files (every line a chat sample) and
   upload them; each XCom is a ``file_id``.
2. ``train`` creates a fine-tune job on them and waits for it in the triggerer (deferrable); with validation files
   the job evaluates at each checkpoint (``eval_loss`` in its training log). It adds an asset event
   ``dashscope://<region>/models/<finetuned_output>`` through the ``dashscope-finetuned-models`` alias.
3. ``export_best`` is the quality gate: it picks the checkpoint with the lowest ``eval_loss`` and fails (without
   retrying) when even that is above ``max_eval_loss``; otherwise it exports that checkpoint and waits, in the
   triggerer, until its deployable ``model_name`` exists.
4. ``deploy`` deploys the exported model and waits in the triggerer until it is RUNNING; it adds an asset event
   ``dashscope://<region>/deployments/<deployed_model>`` through ``dashscope-deployed-models``, which starts
   ``dashscope_new_model_announcer`` (``example_dashscope_new_model_announcer.py``).
5. ``report_serving`` prints what serves, from which checkpoint, and its loss.

**Lineage.** With ``apache-airflow-providers-openlineage`` installed (``pip install
'airflow-provider-dashscope[openlineage]'``) and a transport configured, e.g. ``AIRFLOW__OPENLINEAGE__TRANSPORT=
'{"type": "file", "log_file_path": "/tmp/lineage.jsonl"}'``, each upload, ``train``, ``export_best`` and ``deploy``
reports its inputs and outputs: local file → ``files/<file_id>`` → ``models/<finetuned_output>`` →
``models/<exported model>`` → ``deployments/<deployed_model>``, in the namespace ``dashscope://<region>``.

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
from airflow_provider_dashscope.operators.checkpoints import DashScopeExportCheckpointOperator
from airflow_provider_dashscope.operators.deployments import DashScopeDeployModelOperator
from airflow_provider_dashscope.operators.files import DashScopeUploadFileOperator
from airflow_provider_dashscope.operators.fine_tunes import DashScopeCreateFineTuneJobOperator

POLL_INTERVAL = float(os.environ.get("DASHSCOPE_EXAMPLE_POLL_INTERVAL", "30"))
TRAINING_FILE = str(Path(__file__).resolve().parent / "data" / "airflow_faq_sft.jsonl")
VALIDATION_FILE = str(Path(__file__).resolve().parent / "data" / "airflow_faq_sft_validation.jsonl")

with DAG(
    dag_id="dashscope_finetune_pipeline",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={
        "training_file": Param(TRAINING_FILE, type="string", description="A local path or a URI of a JSONL file"),
        "validation_file": Param(VALIDATION_FILE, type="string", description="Held-out samples the job evaluates on"),
        "base_model": Param("qwen3-14b", type="string", description="The model to fine-tune"),
        "max_eval_loss": Param(
            1.5, type="number", description="Deploy only if the best checkpoint's eval_loss is at most this"
        ),
    },
    default_args={"retries": 2, "retry_delay": timedelta(seconds=30)},
    tags=["dashscope", "example"],
) as dag:
    upload_training_data = DashScopeUploadFileOperator(
        task_id="upload_training_data",
        path="{{ params.training_file }}",
        description="Airflow FAQ, chat format",
    )

    upload_validation_data = DashScopeUploadFileOperator(
        task_id="upload_validation_data",
        path="{{ params.validation_file }}",
        description="Airflow FAQ, held out for evaluation",
    )

    train = DashScopeCreateFineTuneJobOperator(
        task_id="train",
        model="{{ params.base_model }}",
        training_file_ids=[upload_training_data.output],
        validation_file_ids=[upload_validation_data.output],
        hyper_parameters={"n_epochs": 2, "learning_rate": "1e-5"},
        deferrable=True,
        poll_interval=POLL_INTERVAL,
        timeout=timedelta(hours=12),
        outlets=[AssetAlias(FINETUNED_MODELS_ALIAS)],
    )

    export_best = DashScopeExportCheckpointOperator(
        task_id="export_best",
        job_id=train.output["job_id"],
        checkpoint="best",
        metric="eval_loss",
        max_value="{{ params.max_eval_loss }}",
        deferrable=True,
        poll_interval=POLL_INTERVAL,
        timeout=timedelta(hours=1),
    )

    deploy = DashScopeDeployModelOperator(
        task_id="deploy",
        model_name=export_best.output["model_name"],
        capacity=1,
        deferrable=True,
        poll_interval=POLL_INTERVAL,
        timeout=timedelta(hours=1),
        outlets=[AssetAlias(DEPLOYED_MODELS_ALIAS)],
    )

    @task
    def report_serving(deployment: dict, exported: dict) -> dict:
        """What serves now: the deployed model to call, the model behind it, its checkpoint and loss, its capacity."""
        print(
            f"SERVING deployed_model={deployment['deployed_model']} model_name={deployment['model_name']} "
            f"checkpoint={exported['checkpoint']} {exported['metric']}={exported['metric_value']} "
            f"base_model={deployment['base_model']} status={deployment['status']} capacity={deployment['capacity']}"
        )
        return deployment

    report_serving(deploy.output, export_best.output)


if __name__ == "__main__":
    dag.test()
