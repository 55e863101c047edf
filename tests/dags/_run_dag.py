"""Run ``airflow dags test DAG_ID -c CONF`` in this interpreter, then report the run as JSON.

Usage: ``python _run_dag.py DAG_ID CONF_JSON``. The environment (AIRFLOW_HOME with a migrated DB, the DAGs folder, the
connection) is set by the caller. The last stdout line is ``DAG_RESULT {...}`` with the run's state, every task's
state and try number, every XCom of the run and the console link of each task that has one. The exit code is the
CLI's: 0 when the run succeeded, 1 when it failed ("DagRun failed"), 2 when the CLI itself crashed.
"""

from __future__ import annotations

import json
import sys
import traceback


def _run_cli(dag_id: str, conf: str) -> int:
    from airflow.__main__ import main

    sys.argv = ["airflow", "dags", "test", dag_id, "-c", conf]
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


def _report(dag_id: str) -> dict:
    from sqlalchemy import select

    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    try:  # Airflow 3
        from airflow.models.xcom import XComModel as XComRow

        airflow_3 = True
    except ImportError:  # Airflow 2
        from airflow.models.xcom import XCom as XComRow

        airflow_3 = False

    from airflow_provider_dashscope.operators.dashscope import DashScopeFineTuneJobLink

    link = DashScopeFineTuneJobLink()
    with create_session() as session:
        run = session.scalars(select(DagRun).where(DagRun.dag_id == dag_id).order_by(DagRun.id.desc())).first()
        if run is None:
            return {"run_state": None, "states": {}, "tries": {}, "xcom": {}, "links": {}}
        tis = session.scalars(
            select(TaskInstance).where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run.run_id)
        ).all()
        rows = session.scalars(select(XComRow).where(XComRow.dag_id == dag_id, XComRow.run_id == run.run_id)).all()
        xcom: dict = {}
        for row in rows:
            # Airflow 2 deserializes the value when it loads the row (BaseXCom.init_on_load); Airflow 3 does not.
            value = XComRow.deserialize_value(row) if airflow_3 else row.value
            xcom.setdefault(row.task_id, {})[row.key] = value
        links = {}
        for ti in tis:
            if airflow_3:  # the task runner stores each extra link as an XCom when the task ends or defers
                url = xcom.get(ti.task_id, {}).get(link.xcom_key)
            else:  # Airflow 2 evaluates the link on demand, from the job_url XCom
                url = link.get_link(None, ti_key=ti.key)
            if url:
                links[ti.task_id] = url
        return {
            "run_state": _value(run.state),
            "states": {ti.task_id: _value(ti.state) for ti in tis},
            "tries": {ti.task_id: ti.try_number for ti in tis},
            "xcom": xcom,
            "links": links,
        }


if __name__ == "__main__":
    dag_id, conf = sys.argv[1], sys.argv[2]
    code = _run_cli(dag_id, conf)
    sys.stdout.flush()
    print("DAG_RESULT " + json.dumps(_report(dag_id), default=str), flush=True)
    sys.exit(code)
