"""Tell the rest of the platform that a new model serves: scheduled on the ``dashscope-deployed-models`` asset alias.

Each time a task with that alias among its ``outlets`` (``deploy`` in ``dashscope_finetune_pipeline``) finishes a
deployment, Airflow starts this DAG with the producer's asset event: its URI
(``dashscope://<region>/deployments/<deployed_model>``) and its ``extra`` (``deployed_model``, ``model_name``,
``base_model``, ``status``, ``capacity``, ``region``). The task prints one ``ANNOUNCE`` line per event and returns
them (with ``started_by``: ``asset event``, or ``hand``); a real DAG would post to a chat channel or a model
registry here.

A run started by hand has no triggering event; it announces the latest event of the alias instead.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.providers.common.compat.assets import AssetAlias
from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_dashscope.assets import DEPLOYED_MODELS_ALIAS

DEPLOYED_MODELS = AssetAlias(DEPLOYED_MODELS_ALIAS)


def _uri_of(event: Any) -> str | None:
    """The asset URI of an event, on Airflow 3 (``event.asset.uri``) and 2 (``event.dataset.uri``)."""
    for holder in ("asset", "dataset"):
        uri = getattr(getattr(event, holder, None), "uri", None)
        if uri:
            return str(uri)
    return getattr(event, "uri", None) or getattr(event, "dataset_uri", None)


with DAG(
    dag_id="dashscope_new_model_announcer",
    schedule=[DEPLOYED_MODELS],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["dashscope", "example"],
) as dag:

    @task(inlets=[DEPLOYED_MODELS])
    def announce(**context: Any) -> list[dict]:
        # Airflow 3 names the events that started the run triggering_asset_events, Airflow 2 triggering_dataset_events.
        triggering = context.get("triggering_asset_events") or context.get("triggering_dataset_events") or {}
        events = list({id(event): event for events in triggering.values() for event in events}.values())
        started_by = "asset event"
        if not events:  # started by hand: the latest event of the alias
            events, started_by = list(context["inlet_events"][DEPLOYED_MODELS])[-1:], "hand"
        announced = []
        for event in events:
            extra = dict(event.extra or {})
            uri = _uri_of(event)
            print(f"ANNOUNCE uri={uri} deployed_model={extra.get('deployed_model')} extra={extra} ({started_by})")
            announced.append({"uri": uri, "extra": extra, "started_by": started_by})
        return announced

    announce()


if __name__ == "__main__":
    dag.test()
