"""DAGs and serialized triggers written against the module paths from before the layout by concept keep working:
the old ``*/dashscope.py`` modules name the same classes, and a trigger stored in the metadata DB under its old
class path is rebuilt by the triggerer and completes the task that deferred."""

from __future__ import annotations

import time

import pytest

from tests._waiting import first_event, make_context, seed

try:  # how Airflow loads a class a serialized DAG or a stored trigger names
    from airflow.sdk.module_loading import import_string
except ImportError:  # Airflow 2
    from airflow.utils.module_loading import import_string

OLD_AND_NEW = {
    "airflow_provider_dashscope.operators.dashscope.DashScopeFineTuneJobOperator": (
        "airflow_provider_dashscope.operators.fine_tunes.DashScopeFineTuneJobOperator"
    ),
    "airflow_provider_dashscope.operators.dashscope.DashScopeCreateFineTuneJobOperator": (
        "airflow_provider_dashscope.operators.fine_tunes.DashScopeCreateFineTuneJobOperator"
    ),
    "airflow_provider_dashscope.operators.dashscope.DashScopeFineTuneJobLink": (
        "airflow_provider_dashscope.links.DashScopeFineTuneJobLink"
    ),
    "airflow_provider_dashscope.sensors.dashscope.DashScopeFineTuneJobSensor": (
        "airflow_provider_dashscope.sensors.fine_tunes.DashScopeFineTuneJobSensor"
    ),
    "airflow_provider_dashscope.triggers.dashscope.DashScopeFineTuneJobTrigger": (
        "airflow_provider_dashscope.triggers.fine_tunes.DashScopeFineTuneJobTrigger"
    ),
    "airflow_provider_dashscope.triggers.dashscope.DashScopeWaitTrigger": (
        "airflow_provider_dashscope.triggers.base.DashScopeWaitTrigger"
    ),
}


@pytest.mark.parametrize(("old", "new"), OLD_AND_NEW.items())
def test_an_old_import_path_names_the_same_class(old: str, new: str) -> None:
    assert import_string(old) is import_string(new)


def test_a_task_deferred_under_the_old_trigger_path_resumes_and_completes(emu) -> None:
    job_id = "ft-202411251000-01d0"
    seed(emu, job_id, running_seconds=0, usage=2048, finetuned_output=f"qwen3-14b-{job_id}")
    # A trigger row written before the move: its class path and kwargs as the old module serialized them.
    classpath = "airflow_provider_dashscope.triggers.dashscope.DashScopeFineTuneJobTrigger"
    kwargs = {
        "job_id": job_id,
        "dashscope_conn_id": "dashscope_default",
        "poll_interval": 0.02,
        "deadline": None,
        "max_consecutive_failures": 3,
        "cancel_on_kill": False,
        "started_at": time.time(),
        "last_status": "RUNNING",
        "log_training_progress": True,
    }
    trigger = import_string(classpath)(**kwargs)

    event = first_event(trigger)
    sensor_class = import_string("airflow_provider_dashscope.sensors.dashscope.DashScopeFineTuneJobSensor")
    ti = make_context()["ti"]
    result = sensor_class(task_id="gate", job_id=job_id, deferrable=True).execute_complete(make_context(ti), event)

    assert result["status"] == "SUCCEEDED"
    assert result["finetuned_output"] == f"qwen3-14b-{job_id}"
    assert ti.xcoms["finetuned_output"] == f"qwen3-14b-{job_id}"
    # A trigger the task defers to today serializes under the new path.
    assert trigger.serialize()[0] == "airflow_provider_dashscope.triggers.fine_tunes.DashScopeFineTuneJobTrigger"
