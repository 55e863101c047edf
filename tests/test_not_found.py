"""A missing resource is a ``NotFoundError`` wherever it is raised: one ``except NotFoundError`` catches the hook's
404, the sensor's and the operator's check before waiting, and the end of a deferred wait (the trigger's event).
Against the emulator over loopback."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_dashscope.exceptions import (
    DeploymentNotFoundError,
    FineTuneJobNotFoundError,
    NotFoundError,
)
from airflow_provider_dashscope.hooks.dashscope import DashScopeHook
from airflow_provider_dashscope.operators.dashscope import DashScopeFineTuneJobOperator
from airflow_provider_dashscope.sensors.dashscope import DashScopeFineTuneJobSensor
from airflow_provider_dashscope.sensors.deployments import DashScopeDeploymentSensor
from tests._waiting import event_from_trigger, make_context

UNKNOWN_JOB = "ft-202401010000-dead"
UNKNOWN_DEPLOYMENT = "qwen3-14b-ft-nobody"


def sensor() -> None:
    DashScopeFineTuneJobSensor(task_id="s", job_id=UNKNOWN_JOB, poll_interval=0.02).execute(make_context())


def operator() -> None:
    op = DashScopeFineTuneJobOperator(task_id="o", job_id=UNKNOWN_JOB, poll_interval=0.02, deferrable=True)
    op.execute(make_context())


def deployment_sensor() -> None:
    DashScopeDeploymentSensor(task_id="d", deployed_model=UNKNOWN_DEPLOYMENT, poll_interval=5).execute(make_context())


RAISERS: dict[str, tuple[Callable[..., None], type[NotFoundError]]] = {
    "hook-job": (lambda: DashScopeHook().get_fine_tune_job(UNKNOWN_JOB), NotFoundError),
    "hook-deployment": (lambda: DashScopeHook().get_deployment(UNKNOWN_DEPLOYMENT), NotFoundError),
    "job-sensor": (sensor, FineTuneJobNotFoundError),
    "job-operator": (operator, FineTuneJobNotFoundError),
    "deployment-sensor": (deployment_sensor, DeploymentNotFoundError),
}


@pytest.mark.parametrize("where", sorted(RAISERS))
def test_one_except_not_found_error_catches_a_missing_resource(emu, where: str) -> None:
    raise_it, expected = RAISERS[where]
    try:
        raise_it()
    except NotFoundError as caught:
        error = caught
    else:
        pytest.fail(f"{where}: nothing raised")
    assert type(error) is expected
    assert error.status_code == 404 and error.request_id
    assert error.resource_id in (UNKNOWN_JOB, UNKNOWN_DEPLOYMENT)
    assert isinstance(error, AirflowFailException) is (expected is not NotFoundError)  # a task fails without retries


def test_the_end_of_a_deferred_wait_on_a_missing_job_is_a_not_found_error_too(emu) -> None:
    event = event_from_trigger(emu, "not_found", UNKNOWN_JOB)
    assert event["http_status"] == 404
    op = DashScopeFineTuneJobOperator(task_id="o", job_id=UNKNOWN_JOB)
    with pytest.raises(NotFoundError) as info:
        op.execute_complete(make_context(), event)
    assert type(info.value) is FineTuneJobNotFoundError
    assert (info.value.job_id, info.value.request_id) == (UNKNOWN_JOB, event["request_id"])
    assert str(info.value).startswith(f"Fine-tune job {UNKNOWN_JOB} was not found (HTTP 404, request_id=")
