"""DashScopeDeployModelOperator and DashScopeDeleteDeploymentOperator against a scripted API on 127.0.0.1: what
they send, push, return and raise; re-attaching on a retry; waiting on the worker (fake time) or deferring."""

from __future__ import annotations

import pendulum
import pytest
from airflow.providers.common.compat.sdk import AirflowFailException, AirflowSkipException, TaskDeferred

from airflow_provider_dashscope.exceptions import (
    ConflictError,
    DashScopeConfigError,
    DeploymentFailedError,
    DeploymentNotFoundError,
    DeploymentTimeoutError,
)
from airflow_provider_dashscope.links import DashScopeDeploymentLink
from airflow_provider_dashscope.operators.deployments import (
    DashScopeDeleteDeploymentOperator,
    DashScopeDeployModelOperator,
)
from airflow_provider_dashscope.triggers.deployments import (
    DashScopeDeploymentDeletionTrigger,
    DashScopeDeploymentTrigger,
)
from airflow_provider_dashscope.wait.deployments import RESULT_KEYS
from tests._servers import error, ok
from tests._waiting import FakeTI, FakeTime, make_context

MODEL = "qwen3-14b-ft-202410291653-1c7f"
PATH = f"/deployments/{MODEL}"


def deployment(status: str = "PENDING", name: str = MODEL, model: str = MODEL, **fields) -> dict:
    fields.setdefault("gmt_create", pendulum.now("Asia/Shanghai").format("YYYY-MM-DDTHH:mm:ss.SSS"))
    return {"deployed_model": name, "status": status, "model_name": model, "base_model": "qwen3-14b", "capacity": 1,
            **fields}  # fmt: skip


@pytest.fixture
def api(scripted_server, dashscope_conn):
    dashscope_conn("dashscope_default", host=scripted_server.url, max_retries=1, retry_base_delay=0.01)
    return scripted_server


def deploy_op(**kwargs) -> DashScopeDeployModelOperator:
    kwargs.setdefault("task_id", "deploy")
    kwargs.setdefault("model_name", MODEL)
    kwargs.setdefault("poll_interval", 5)
    return DashScopeDeployModelOperator(**kwargs)


def delete_op(**kwargs) -> DashScopeDeleteDeploymentOperator:
    kwargs.setdefault("task_id", "undeploy")
    kwargs.setdefault("deployed_model", MODEL)
    kwargs.setdefault("poll_interval", 5)
    return DashScopeDeleteDeploymentOperator(**kwargs)


# ------------------------------------------------------------------------------------------------------------------
# Parse time
# ------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"model_name": ""}, r"model_name is empty; pass a base model id or a fine-tune job's finetuned_output"),
        ({"model_name": None}, r"model_name must be a string, got NoneType None"),
        ({"model_name": "../deployments"}, r"model_name '\.\./deployments' is not a valid model name"),
        ({"capacity": 0}, r"capacity must be a positive integer below 1000"),
        ({"capacity": "1"}, r"capacity must be a positive integer below 1000 .* got '1'"),
        ({"capacity": 1000}, r"got 1000"),
        ({"suffix": "Prod_1"}, r"suffix must be 1 to 8 lower-case letters or digits"),
        ({"suffix": "toolongsuffix"}, r"suffix must be 1 to 8"),
        ({"plan": ""}, r"plan must be a plan name"),
        ({"api_fields": {"model_name": "x"}}, r"api_fields repeats model_name"),
        ({"poll_interval": 0}, r"poll_interval must be > 0 seconds"),
        ({"timeout": -1}, r"timeout must be >= 0 seconds"),
    ],
)
def test_bad_deploy_arguments_fail_at_parse(kwargs, expected):
    with pytest.raises(DashScopeConfigError, match=expected):
        deploy_op(**kwargs)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", r"deployed_model is empty"), ("a/b", r"not a valid deployed model name"), (3, r"must be a string")],
)
def test_a_bad_deployed_model_fails_the_delete_operator_at_parse(value, expected):
    with pytest.raises(DashScopeConfigError, match=expected):
        delete_op(deployed_model=value)


def test_templated_values_pass_at_parse_and_are_checked_at_execute(api):
    op = deploy_op(model_name="{{ params.model }}", suffix="{{ params.suffix }}", plan="{{ params.plan }}")
    assert set(op.template_fields) == {"model_name", "plan", "suffix", "api_fields", "dashscope_conn_id"}
    ctx = make_context(params={"model": MODEL, "suffix": "Bad Suffix", "plan": ""})
    op.render_template_fields(ctx)
    with pytest.raises(DashScopeConfigError, match=r"suffix must be 1 to 8 .* got 'Bad Suffix'"):
        op.execute(ctx)
    ctx = make_context(params={"model": "a b", "suffix": "", "plan": ""})
    op = deploy_op(model_name="{{ params.model }}")
    op.render_template_fields(ctx)
    with pytest.raises(DashScopeConfigError, match=r"model_name 'a b' is not a valid model name"):
        op.execute(ctx)
    assert api.count() == 0
    assert DashScopeDeleteDeploymentOperator.template_fields == ("deployed_model", "dashscope_conn_id")


# ------------------------------------------------------------------------------------------------------------------
# Deploy
# ------------------------------------------------------------------------------------------------------------------
def test_deploy_creates_pushes_at_once_waits_on_the_worker_and_returns_the_small_dict(api):
    api.script("POST", "/deployments", ok(deployment("PENDING"), "req-c"))
    api.script("GET", PATH, ok(deployment("DEPLOYING")), ok(deployment("RUNNING", ready_capacity=2, capacity=2)))
    ti = FakeTI(task_id="deploy")
    fake = FakeTime()
    op = fake.drive_task(deploy_op(capacity=2, suffix=None, plan="lora", deferrable=False))

    result = op.execute(make_context(ti))

    assert api.requests[0].json() == {"model_name": MODEL, "capacity": 2, "plan": "lora"}
    assert tuple(result) == RESULT_KEYS
    assert (result["deployed_model"], result["status"], result["capacity"]) == (MODEL, "RUNNING", 2)
    assert (result["model_name"], result["base_model"], result["ready_capacity"]) == (MODEL, "qwen3-14b", 2)
    assert [key for key, _ in ti.pushes] == ["deployed_model", "deployment_url", "deployed_model", "status"]
    assert ti.xcoms["deployment_url"].endswith(f"/api/v1/deployments/{MODEL}")
    assert ti.xcoms["status"] == "RUNNING"
    assert api.count("GET", PATH) == 2 and api.count("POST") == 1
    assert len(fake.sleeps) == 2  # the first poll spread within one interval, then one interval


def test_deploy_defers_with_the_deployment_trigger(api):
    api.script("POST", "/deployments", ok(deployment("PENDING")))
    ti = FakeTI(task_id="deploy")
    op = deploy_op(deferrable=True, poll_interval=7, max_consecutive_failures=3)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(make_context(ti))
    trigger = deferred.value.trigger
    assert isinstance(trigger, DashScopeDeploymentTrigger)
    assert (trigger.deployed_model, trigger.poll_interval, trigger.max_consecutive_failures) == (MODEL, 7.0, 3)
    assert trigger.last_status == "PENDING" and deferred.value.method_name == "execute_complete"
    assert ti.xcoms["deployed_model"] == MODEL
    assert api.count("GET") == 0  # the create answer is the check before waiting


def test_execute_complete_hands_the_result_on(api):
    event = {"status": "success", "deployed_model": MODEL, "deployment_status": "RUNNING", "message": "ok",
             "deployment": {**deployment("RUNNING"), "ready_capacity": 1}, "http_status": None, "request_id": "r"}  # fmt: skip
    ti = FakeTI()
    result = deploy_op().execute_complete(make_context(ti), event)
    assert result["status"] == "RUNNING" and ti.xcoms["status"] == "RUNNING"


@pytest.mark.parametrize("soft_fail", [False, True])
def test_a_failed_deployment_fails_without_retries_naming_the_status_and_request_id(api, soft_fail):
    api.script("POST", "/deployments", ok(deployment("PENDING")))
    api.script("GET", PATH, ok(deployment("FAILED"), "req-failed"))
    op = FakeTime().drive_task(deploy_op(deferrable=False, soft_fail=soft_fail))
    with pytest.raises(AirflowSkipException if soft_fail else DeploymentFailedError) as info:
        op.execute(make_context())
    text = str(info.value)
    assert f"Deployment {MODEL} is FAILED, from which it does not become RUNNING (request_id=req-failed)" in text
    if not soft_fail:
        assert isinstance(info.value, AirflowFailException)


def test_a_wait_that_times_out_is_a_timeout_a_retry_may_repeat(api):
    api.script("POST", "/deployments", ok(deployment("PENDING")))
    api.script("GET", PATH, ok(deployment("DEPLOYING")))
    op = FakeTime().drive_task(deploy_op(deferrable=False, timeout=60))
    with pytest.raises(DeploymentTimeoutError, match=r"still DEPLOYING at the deadline") as info:
        op.execute(make_context())
    assert not isinstance(info.value, AirflowFailException)
    assert api.count("DELETE") == 0  # never deletes what it deployed


def test_wait_for_completion_false_returns_the_new_deployment(api):
    api.script("POST", "/deployments", ok(deployment("PENDING")))
    ti = FakeTI()
    result = deploy_op(wait_for_completion=False).execute(make_context(ti))
    assert result["status"] == "PENDING" and ti.xcoms["status"] == "PENDING"
    assert api.count("GET") == 0


def test_a_model_deployed_already_is_a_conflict(api):
    api.script(
        "POST",
        "/deployments",
        error(409, "Conflict", f"Deployed model {MODEL} already exists, please specify a suffix."),
    )
    with pytest.raises(ConflictError, match="please specify a suffix"):
        deploy_op().execute(make_context())
    assert api.count() == 1


# ------------------------------------------------------------------------------------------------------------------
# Re-attaching on a retry
# ------------------------------------------------------------------------------------------------------------------
def test_a_retry_re_attaches_to_the_deployment_the_earlier_try_created(api):
    api.script("GET", "/deployments", ok({"total": 3, "deployments": [
        deployment("RUNNING", name="other-model", model="other-model"),
        deployment("DEPLOYING", name=f"{MODEL}-v2"),
        deployment("RUNNING", name=f"{MODEL}-v1"),
    ]}))  # fmt: skip
    api.script("GET", f"{PATH}-v2", ok(deployment("RUNNING", name=f"{MODEL}-v2")))
    ti = FakeTI(try_number=2)
    op = FakeTime().drive_task(deploy_op(suffix="v2", deferrable=False))
    result = op.execute(make_context(ti))
    assert result["deployed_model"] == f"{MODEL}-v2" and result["status"] == "RUNNING"
    assert api.count("POST") == 0


@pytest.mark.parametrize(
    "listed",
    [
        deployment("FAILED"),  # cannot serve: deploy again
        deployment("RUNNING", gmt_create="2020-01-01T00:00:00.000"),  # older than this DAG run: someone else's
        deployment("RUNNING", name="qwen3-14b", model="qwen3-14b"),  # another model
    ],
    ids=["failed", "before-the-run", "other-model"],
)
def test_a_retry_deploys_again_when_no_usable_deployment_of_this_run_exists(api, listed):
    api.script("GET", "/deployments", ok({"total": 1, "deployments": [listed]}))
    api.script("POST", "/deployments", ok(deployment("RUNNING")))
    result = deploy_op(deferrable=False).execute(make_context(FakeTI(try_number=2)))
    assert result["status"] == "RUNNING"
    assert api.count("POST") == 1 and api.count("GET", "/deployments") == 1


def test_the_first_try_never_looks_for_an_earlier_deployment(api):
    api.script("POST", "/deployments", ok(deployment("RUNNING")))
    deploy_op().execute(make_context(FakeTI(try_number=1)))
    assert api.count("GET") == 0


# ------------------------------------------------------------------------------------------------------------------
# Delete
# ------------------------------------------------------------------------------------------------------------------
def test_delete_waits_until_the_deployment_is_gone(api):
    api.script("DELETE", PATH, ok({"deployed_model": MODEL, "status": "DELETING", "model_name": MODEL}, "req-d"))
    api.script("GET", PATH, ok(deployment("DELETING")), error(404, "NotFound", "Not found."))
    ti = FakeTI(task_id="undeploy")
    result = FakeTime().drive_task(delete_op(deferrable=False)).execute(make_context(ti))
    assert result == {"deployed_model": MODEL, "model_name": MODEL, "status": "DELETING", "deleted": True}
    assert api.count("GET", PATH) == 2 and api.count("DELETE") == 1
    assert ti.xcoms["deployed_model"] == MODEL and ti.xcoms["deployment_url"].endswith(PATH)


def test_deleting_a_deployment_that_is_gone_already_succeeds_at_once(api):
    api.script("DELETE", PATH, error(404, "NotFound", "Not found.", request_id="req-gone"))
    result = delete_op().execute(make_context())
    assert result == {"deployed_model": MODEL, "model_name": None, "status": None, "deleted": True}
    assert api.count() == 1


def test_delete_defers_with_the_deletion_trigger_and_completes_from_its_event(api):
    api.script("DELETE", PATH, ok(deployment("DELETING")))
    op = delete_op(deferrable=True)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(make_context())
    assert isinstance(deferred.value.trigger, DashScopeDeploymentDeletionTrigger)
    event = {"status": "success", "deployed_model": MODEL, "deployment_status": "DELETING",
             "message": "gone", "deployment": deployment("DELETING"), "http_status": 404, "request_id": "r"}  # fmt: skip
    assert op.execute_complete(make_context(), event)["deleted"] is True


def test_delete_without_waiting_and_an_unknown_error_on_the_wait(api):
    api.script("DELETE", PATH, ok(deployment("DELETING")))
    assert delete_op(wait_for_completion=False).execute(make_context())["deleted"] is False
    event = {"status": "error", "deployed_model": MODEL, "deployment_status": None, "message": "HTTP 404",
             "deployment": None, "http_status": 404, "request_id": "r"}  # fmt: skip
    with pytest.raises(DeploymentNotFoundError):
        deploy_op().execute_complete(make_context(), event)


def test_both_operators_carry_the_deployment_link():
    assert isinstance(deploy_op().operator_extra_links[0], DashScopeDeploymentLink)
    assert delete_op().operator_extra_links[0].name == "DashScope Deployment"
