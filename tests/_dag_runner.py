"""Run ``airflow dags test DAG_ID [-c CONF]`` in this interpreter, then report what the run left in the DB as JSON.

Usage: ``python tests/_dag_runner.py DAG_ID [CONF_JSON]``. The caller sets AIRFLOW_HOME (a migrated DB), the DAGs
folder and the connections. The last stdout line is ``DAG_RESULT {...}``: the run state; each task's state and try
number; every XCom value; each task's console link; every rendered template field; the trigger rows still stored;
each task instance's ``next_kwargs``; and the asset (dataset) events the run's tasks added. The exit code is the CLI's (0 when the run succeeded, 1 when it failed),
2 when the CLI itself crashed. Used by tests/dags and tests/reliability.
"""

from __future__ import annotations

import json
import sys
import traceback


def _run_cli(dag_id: str, conf: str) -> int:
    from airflow.__main__ import main

    sys.argv = ["airflow", "dags", "test", dag_id] + (["-c", conf] if conf else [])
    try:
        main()
    except SystemExit as stop:
        if stop.code is None or stop.code == 0:
            return 0
        return stop.code if isinstance(stop.code, int) else 1
    except Exception:
        traceback.print_exc()
        return 2
    return 0


def _value(state):
    return getattr(state, "value", state)


EMPTY = {
    "run_state": None,
    "states": {},
    "tries": {},
    "xcom": {},
    "links": {},
    "rendered": {},
    "triggers": [],
    "next_kwargs": {},
    "asset_events": [],
}


def _report(dag_id: str) -> dict:
    from airflow.models.dagrun import DagRun
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.trigger import Trigger
    from airflow.utils.session import create_session
    from sqlalchemy import select

    try:  # Airflow 3
        from airflow.models.xcom import XComModel as XComRow

        airflow_3 = True
    except ImportError:  # Airflow 2
        from airflow.models.xcom import XCom as XComRow

        airflow_3 = False

    from airflow_provider_dashscope.links import DashScopeDeploymentLink, DashScopeFineTuneJobLink

    job_link, deployment_link = DashScopeFineTuneJobLink(), DashScopeDeploymentLink()
    with create_session() as session:
        run = session.scalars(select(DagRun).where(DagRun.dag_id == dag_id).order_by(DagRun.id.desc())).first()
        if run is None:
            return dict(EMPTY)
        tis = session.scalars(
            select(TaskInstance).where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run.run_id)
        ).all()
        xcom: dict = {}
        for row in session.scalars(select(XComRow).where(XComRow.dag_id == dag_id, XComRow.run_id == run.run_id)):
            # Airflow 2 deserializes the value when it loads the row (BaseXCom.init_on_load); Airflow 3 does not.
            value = XComRow.deserialize_value(row) if airflow_3 else row.value
            xcom.setdefault(row.task_id, {})[row.key] = value
        links = {}
        for ti in tis:
            for link in (job_link, deployment_link):
                if airflow_3:  # the task runner stores each extra link as an XCom when the task ends or defers
                    url = xcom.get(ti.task_id, {}).get(link.xcom_key)
                else:  # Airflow 2 evaluates the link on demand, from the job_url/deployment_url XCom
                    url = link.get_link(None, ti_key=ti.key)
                if url:
                    links[ti.task_id] = url
        rendered = {
            row.task_id: row.rendered_fields
            for row in session.scalars(
                select(RenderedTaskInstanceFields).where(
                    RenderedTaskInstanceFields.dag_id == dag_id, RenderedTaskInstanceFields.run_id == run.run_id
                )
            )
        }
        triggers = [
            {"classpath": row.classpath, "kwargs": repr(row.kwargs)} for row in session.scalars(select(Trigger))
        ]
        return {
            "run_state": _value(run.state),
            "states": {ti.task_id: _value(ti.state) for ti in tis},
            "tries": {ti.task_id: ti.try_number for ti in tis},
            "xcom": xcom,
            "links": links,
            "rendered": rendered,
            "triggers": triggers,
            "next_kwargs": {ti.task_id: repr(ti.next_kwargs) for ti in tis},
            "asset_events": _asset_events(session, dag_id, run.run_id, airflow_3),
        }


def _asset_events(session, dag_id: str, run_id: str, airflow_3: bool) -> list:
    """``{"task_id", "uri", "extra"}`` of each asset (Airflow 2: dataset) event the run's tasks added, in order."""
    from sqlalchemy import select

    if airflow_3:
        from airflow.models.asset import AssetEvent as Event, AssetModel as Target

        target_id = Event.asset_id
    else:
        from airflow.models.dataset import DatasetEvent as Event, DatasetModel as Target

        target_id = Event.dataset_id
    rows = session.execute(
        select(Event.source_task_id, Target.uri, Event.extra)
        .join(Target, Target.id == target_id)
        .where(Event.source_dag_id == dag_id, Event.source_run_id == run_id)
        .order_by(Event.id)
    ).all()
    return [{"task_id": task_id, "uri": uri, "extra": dict(extra or {})} for task_id, uri, extra in rows]


if __name__ == "__main__":
    dag_id, conf = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else ""
    code = _run_cli(dag_id, conf)
    sys.stdout.flush()
    try:
        report = _report(dag_id)
    except Exception:
        traceback.print_exc()
        report = {**EMPTY, "report_error": traceback.format_exc()}
    print("DAG_RESULT " + json.dumps(report, default=str), flush=True)
    sys.exit(code)
