"""DashScopeDeploymentSensor against a scripted API on 127.0.0.1: the check, deferring, poking on the worker, the
reschedule mode, and failing or skipping."""

from __future__ import annotations

import pytest
from airflow.providers.common.compat.sdk import (
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
    PokeReturnValue,
    TaskDeferred,
)

from airflow_provider_dashscope.exceptions import (
    DashScopeConfigError,
    DeploymentFailedError,
    DeploymentNotFoundError,
)
from airflow_provider_dashscope.sensors.deployments import DashScopeDeploymentSensor
from airflow_provider_dashscope.triggers.deployments import DashScopeDeploymentTrigger
from airflow_provider_dashscope.wait.deployments import RESULT_KEYS
from tests._servers import error, ok
from tests._waiting import FakeTI, FakeTime, make_context

MODEL = "qwen3-14b-ft-202410291653-1c7f"
PATH = f"/deployments/{MODEL}"


def deployment(status: str, **fields) -> dict:
    return {"deployed_model": MODEL, "status": status, "model_name": MODEL, "capacity": 1, **fields}


@pytest.fixture
def api(scripted_server, dashscope_conn):
    dashscope_conn("dashscope_default", host=scripted_server.url, max_retries=1, retry_base_delay=0.01)
    return scripted_server


def sensor(**kwargs) -> DashScopeDeploymentSensor:
    kwargs.setdefault("task_id", "wait_serving")
    kwargs.setdefault("deployed_model", MODEL)
    kwargs.setdefault("poll_interval", 5)
    return DashScopeDeploymentSensor(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"deployed_model": ""}, r"deployed_model is empty; pass the deployed_model the deploy call returned"),
        ({"deployed_model": "../fine-tunes"}, r"deployed_model '\.\./fine-tunes' is not a valid deployed model name"),
        ({"poll_interval": -1}, r"poll_interval must be > 0 seconds"),
        ({"timeout": -1}, r"timeout must be >= 0 seconds"),
    ],
)
def test_bad_arguments_fail_at_parse(kwargs, expected):
    with pytest.raises(DashScopeConfigError, match=expected):
        sensor(**kwargs)


def test_a_running_deployment_succeeds_at_the_first_check(api):
    api.script("GET", PATH, ok(deployment("RUNNING", ready_capacity=1)))
    ti = FakeTI()
    result = sensor(deferrable=True).execute(make_context(ti))
    assert tuple(result) == RESULT_KEYS and result["status"] == "RUNNING"
    assert ti.xcoms["deployed_model"] == MODEL and ti.xcoms["status"] == "RUNNING"
    assert api.count() == 1


def test_a_deployment_on_its_way_defers_with_the_trigger(api):
    api.script("GET", PATH, ok(deployment("DEPLOYING")))
    with pytest.raises(TaskDeferred) as deferred:
        sensor(deferrable=True, timeout=600).execute(make_context())
    trigger = deferred.value.trigger
    assert isinstance(trigger, DashScopeDeploymentTrigger) and trigger.last_status == "DEPLOYING"
    assert trigger.deadline is not None


def test_poke_mode_waits_on_the_worker(api):
    api.script("GET", PATH, ok(deployment("PENDING")), ok(deployment("DEPLOYING")), ok(deployment("RUNNING")))
    result = FakeTime().drive_task(sensor(mode="poke")).execute(make_context())
    assert result["status"] == "RUNNING" and api.count() == 3


@pytest.mark.parametrize("soft_fail", [False, True])
def test_a_deployment_that_cannot_serve_fails_or_skips(api, soft_fail):
    api.script("GET", PATH, ok(deployment("STOPPED"), "req-stop"))
    with pytest.raises(AirflowSkipException if soft_fail else DeploymentFailedError) as info:
        sensor(soft_fail=soft_fail).execute(make_context())
    assert "is STOPPED, from which it does not become RUNNING (request_id=req-stop)" in str(info.value)
    if not soft_fail:
        assert isinstance(info.value, AirflowFailException)


def test_an_unknown_deployment_fails_at_once(api):
    api.script("GET", PATH, error(404, "NotFound", "Not found.", request_id="req-404"))
    with pytest.raises(DeploymentNotFoundError, match=r"was not found \(HTTP 404, request_id=req-404\)"):
        sensor(deferrable=True).execute(make_context())
    assert api.count() == 1


@pytest.mark.parametrize("soft_fail", [False, True])
def test_a_timeout_raises_the_sensor_timeout_or_skips(api, soft_fail):
    api.script("GET", PATH, ok(deployment("DEPLOYING")))
    op = FakeTime().drive_task(sensor(mode="poke", timeout=20, soft_fail=soft_fail))
    with pytest.raises(AirflowSkipException if soft_fail else AirflowSensorTimeout, match="still DEPLOYING"):
        op.execute(make_context())


def test_reschedule_mode_checks_once_per_run(api):
    api.script("GET", PATH, ok(deployment("DEPLOYING")), ok(deployment("RUNNING")))
    op = sensor(mode="reschedule")
    assert op.poke(make_context()) is False
    done = op.poke(make_context())
    assert isinstance(done, PokeReturnValue) and done.is_done and done.xcom_value["status"] == "RUNNING"
