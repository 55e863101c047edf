"""The upload, deploy and delete operators and the deployment sensor against the emulator over loopback, the way a DAG
runs them: on the worker, or deferred with the real trigger; a retry of the task reusing what the earlier try made."""

from __future__ import annotations

import hashlib

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred

from airflow_provider_dashscope.exceptions import DeploymentFailedError
from airflow_provider_dashscope.operators.deployments import (
    DashScopeDeleteDeploymentOperator,
    DashScopeDeployModelOperator,
)
from airflow_provider_dashscope.operators.files import DashScopeUploadFileOperator
from airflow_provider_dashscope.sensors.deployments import DashScopeDeploymentSensor
from tests._waiting import FakeTI, FakeTime, PollClock, first_event, make_context, seed

RECORD = '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}\n'
GET_DEPLOYMENT = "/deployments/{deployed_model}"


class DeploymentPollClock(PollClock):
    """Emulator clock that moves one second per ``GET /deployments/{deployed_model}``: a deployment seeded with
    ``deploying_seconds=k`` is RUNNING on its k-th poll, whatever the wall clock does."""

    def __call__(self) -> float:
        polls = self.state.request_count("GET", GET_DEPLOYMENT) if self.state is not None else 0
        return self.start + polls


@pytest.fixture
def deploy_emu(make_emulator):
    return make_emulator(DeploymentPollClock(), deploy_pending_seconds=1, deploying_seconds=2, deleting_seconds=2)


def run_trigger(trigger) -> dict:
    trigger.poll_interval = 0.01
    return first_event(trigger)


# ------------------------------------------------------------------------------------------------------------------
# Upload
# ------------------------------------------------------------------------------------------------------------------
def test_a_retry_of_the_upload_task_reuses_the_file_the_first_try_uploaded(emu, tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text(RECORD * 20)
    first = DashScopeUploadFileOperator(task_id="upload", path=str(path), description="v1")
    file_id = first.execute(make_context(FakeTI(task_id="upload")))
    stored = emu.state.files.get(file_id)
    assert stored["md5"] == hashlib.md5(path.read_bytes()).hexdigest()

    again = DashScopeUploadFileOperator(task_id="upload", path=str(path), description="v1")
    assert again.execute(make_context(FakeTI(task_id="upload", try_number=2))) == file_id
    assert emu.request_count("POST", "/files") == 1

    other_run = FakeTI(task_id="upload", run_id="manual__2026-12-24T00:00:00+00:00", try_number=2)
    assert again.execute(make_context(other_run)) != file_id  # another task instance uploads its own copy
    assert emu.request_count("POST", "/files") == 2


# ------------------------------------------------------------------------------------------------------------------
# Deploy
# ------------------------------------------------------------------------------------------------------------------
def test_deploy_waits_on_the_worker_until_the_model_serves(deploy_emu):
    ti = FakeTI(task_id="deploy")
    op = FakeTime().drive_task(DashScopeDeployModelOperator(task_id="deploy", model_name="qwen3-8b", poll_interval=1))
    result = op.execute(make_context(ti))
    assert (result["deployed_model"], result["status"], result["ready_capacity"]) == ("qwen3-8b", "RUNNING", 1)
    assert deploy_emu.state.deployments.status("qwen3-8b") == "RUNNING"
    assert ti.xcoms["deployment_url"] == f"{deploy_emu.base_url}/deployments/qwen3-8b"
    assert deploy_emu.request_count("GET", GET_DEPLOYMENT) >= 2  # it really waited (PENDING, DEPLOYING, RUNNING)


def test_deploy_deferred_completes_from_the_real_triggers_event_with_an_asset_event(deploy_emu):
    from airflow.providers.common.compat.assets import AssetAlias

    from tests.test_assets import outlet_events, recorded

    job_id = seed(deploy_emu, "ft-202611251000-a55e", status="SUCCEEDED")
    output = deploy_emu.state.get_job(job_id)["finetuned_output"]
    alias = AssetAlias("dashscope-deployed-models")
    op = DashScopeDeployModelOperator(task_id="deploy", model_name=output, deferrable=True, outlets=[alias])
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(make_context())
    event = run_trigger(deferred.value.trigger)
    assert (event["status"], event["deployment_status"]) == ("success", "RUNNING")

    events = outlet_events()
    result = op.execute_complete({**make_context(), "outlet_events": events}, event)
    assert result["model_name"] == output and result["status"] == "RUNNING"
    [(alias_name, uri, extra)] = recorded(events, alias)
    assert alias_name == "dashscope-deployed-models"
    assert uri == f"dashscope://local/deployments/{output}"
    assert extra["model_name"] == output and extra["base_model"] == "qwen3-14b" and extra["status"] == "RUNNING"


def test_a_retry_re_attaches_to_the_deployment_the_first_try_created(deploy_emu):
    first = DashScopeDeployModelOperator(task_id="deploy", model_name="qwen3-8b", wait_for_completion=False)
    ti = FakeTI(task_id="deploy")
    first.execute(make_context(ti))  # the first try created it, then (say) its worker died

    retry = FakeTime().drive_task(DashScopeDeployModelOperator(task_id="deploy", model_name="qwen3-8b"))
    result = retry.execute(make_context(ti.retry()))
    assert result["status"] == "RUNNING"
    assert deploy_emu.request_count("POST", "/deployments") == 1  # no second deployment (and no 409)


def test_a_deployment_that_fails_fails_the_task_naming_its_status(deploy_emu):
    deploy_emu.state.deployments.plan_next({"outcome": "FAILED"})
    op = FakeTime().drive_task(DashScopeDeployModelOperator(task_id="deploy", model_name="qwen3-8b"))
    with pytest.raises(DeploymentFailedError, match=r"Deployment qwen3-8b is FAILED, from which it does not become"):
        op.execute(make_context())


def test_the_sensor_defers_and_its_trigger_fires_when_the_deployment_serves(deploy_emu):
    deploy_emu.state.deployments.seed([{"model_name": "qwen-plus", "status": "DEPLOYING", "deploying_seconds": 3}])
    sensor = DashScopeDeploymentSensor(task_id="serving", deployed_model="qwen-plus", deferrable=True, timeout=60)
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute(make_context())
    event = run_trigger(deferred.value.trigger)
    assert event["status"] == "success"
    assert sensor.execute_complete(make_context(), event)["status"] == "RUNNING"


# ------------------------------------------------------------------------------------------------------------------
# Delete
# ------------------------------------------------------------------------------------------------------------------
def test_delete_waits_until_gone_and_deleting_again_succeeds_at_once(deploy_emu):
    deploy_emu.state.deployments.seed([{"model_name": "qwen-plus", "status": "RUNNING"}])
    op = FakeTime().drive_task(DashScopeDeleteDeploymentOperator(task_id="undeploy", deployed_model="qwen-plus"))
    assert op.execute(make_context())["deleted"] is True
    assert deploy_emu.state.deployments.names() == []
    assert op.execute(make_context()) == {"deployed_model": "qwen-plus", "model_name": None, "status": None,
                                          "deleted": True}  # fmt: skip
    assert deploy_emu.request_count("DELETE", GET_DEPLOYMENT) == 2


def test_delete_deferred_waits_in_the_trigger_until_the_deployment_is_gone(deploy_emu):
    deploy_emu.state.deployments.seed([{"model_name": "qwen-plus", "status": "RUNNING"}])
    op = DashScopeDeleteDeploymentOperator(task_id="undeploy", deployed_model="qwen-plus", deferrable=True)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(make_context())
    event = run_trigger(deferred.value.trigger)
    assert (event["status"], event["http_status"]) == ("success", 404)
    assert op.execute_complete(make_context(), event)["deleted"] is True
    assert deploy_emu.state.deployments.names() == []
