"""Start a DAG when a DashScope fine-tune succeeds: an asset watched by ``DashScopeFineTuneJobEventTrigger``.

No sensor holds a slot and nobody wires a trigger by hand: the triggerer looks at the account's fine-tune jobs every
``poll_interval`` seconds and, for each job (of the watched model) that succeeds, records one event on the asset.
The scheduler then runs this DAG; the task finds each job's summary in ``event.extra["payload"]`` (``job_id``,
``finetuned_output``, ``usage``, ``base_model``, ``create_time``, ``end_time``...). Jobs that had already ended when
the watcher first looked are not reported; each job is reported once, also across triggerer restarts (Airflow 3.3+).

Event-driven scheduling needs Airflow 3; on Airflow 2 this file defines no DAG. The watcher runs while the DAG is
unpaused. Settings: ``DASHSCOPE_EXAMPLE_POLL_INTERVAL`` (default 60 s), ``DASHSCOPE_EXAMPLE_MODEL`` (default: every
model).
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow_provider_dashscope.triggers.events import DashScopeFineTuneJobEventTrigger

try:
    from airflow.sdk import DAG, Asset, AssetWatcher, task
except ImportError:  # Airflow 2: no asset watchers
    AssetWatcher = None

POLL_INTERVAL = float(os.environ.get("DASHSCOPE_EXAMPLE_POLL_INTERVAL", "60"))
MODEL = os.environ.get("DASHSCOPE_EXAMPLE_MODEL") or None

if AssetWatcher is not None:
    finetune_succeeded = Asset(
        name="dashscope_finetune_succeeded",
        uri="dashscope://fine-tunes/succeeded",
        watchers=[
            AssetWatcher(
                name="dashscope_finetune_succeeded_watcher",
                trigger=DashScopeFineTuneJobEventTrigger(
                    statuses=["SUCCEEDED"], model=MODEL, poll_interval=POLL_INTERVAL
                ),
            )
        ],
    )

    with DAG(
        dag_id="dashscope_on_finetune_success",
        schedule=[finetune_succeeded],
        start_date=datetime(2026, 1, 1),
        catchup=False,
        tags=["dashscope", "example"],
    ) as dag:

        @task
        def deploy_finetuned_models(triggering_asset_events=None) -> list[dict]:
            """Stand-in for a deployment: one line per fine-tuned model this run was started for."""
            events = triggering_asset_events[finetune_succeeded] if triggering_asset_events else []
            jobs = [event.extra["payload"] for event in events]
            for job in jobs:
                print(
                    f"DEPLOY job_id={job['job_id']} finetuned_output={job['finetuned_output']} "
                    f"usage={job['usage']} base_model={job['base_model']}"
                )
            print(f"{len(jobs)} fine-tuned model(s) to deploy")
            return jobs

        deploy_finetuned_models()
