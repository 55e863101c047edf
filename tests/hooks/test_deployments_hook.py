"""DashScopeHook's deployments methods (sync and async) against a scripted server on 127.0.0.1."""

from __future__ import annotations

import asyncio

import pytest

from airflow_provider_dashscope.exceptions import (
    ConflictError,
    DashScopeConfigError,
    NotFoundError,
    ServiceUnavailableError,
    UnsupportedOperationError,
)
from airflow_provider_dashscope.hooks.dashscope import DashScopeHook
from airflow_provider_dashscope.models import DeploymentStatus
from tests._servers import error, ok

MODEL = "qwen3-14b-ft-202410291653-1c7f"


def deployment(status: str = "PENDING", name: str = MODEL, **fields) -> dict:
    return {"deployed_model": name, "status": status, "model_name": MODEL, "base_model": "qwen3-14b", "capacity": 1,
            "gmt_create": "2026-11-25T10:00:00.123", **fields}  # fmt: skip


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def hook(scripted_server, dashscope_conn, sleeps) -> DashScopeHook:
    dashscope_conn(
        "dashscope_deploy", host=scripted_server.url, max_retries=2, retry_base_delay=0.01, region="cn-beijing"
    )
    made = DashScopeHook("dashscope_deploy")
    made._sleep = sleeps.append
    return made


def test_create_deployment_posts_the_sdk_body_and_returns_the_deployment(scripted_server, hook):
    scripted_server.script("POST", "/deployments", ok(deployment(), "req-c"))
    created = hook.create_deployment(MODEL, capacity=2, suffix="v2", plan="lora", rpm_limit=60)
    (sent,) = scripted_server.requests
    assert sent.json() == {"model_name": MODEL, "capacity": 2, "suffix": "v2", "plan": "lora", "rpm_limit": 60}
    assert list(sent.json()) == ["model_name", "capacity", "suffix", "plan", "rpm_limit"]
    assert sent.header("Content-Type") == "application/json"
    assert (created.deployed_model, created.status, created.request_id) == (MODEL, DeploymentStatus.PENDING, "req-c")


def test_bad_create_arguments_send_nothing(scripted_server, hook):
    for kwargs in ({"capacity": 0}, {"suffix": "UPPER"}, {"model_name": "../x"}):
        with pytest.raises(DashScopeConfigError):
            hook.create_deployment(**{"model_name": MODEL, **kwargs})
    assert scripted_server.count() == 0


def test_create_is_not_retried_when_the_api_may_have_acted(scripted_server, hook, sleeps):
    scripted_server.script("POST", "/deployments", error(503, "ServiceUnavailable", "busy"))
    with pytest.raises(ServiceUnavailableError):
        hook.create_deployment(MODEL)
    assert scripted_server.count() == 1 and sleeps == []


def test_create_is_retried_on_429(scripted_server, hook, sleeps):
    scripted_server.script("POST", "/deployments", error(429, "Throttling", "slow"), ok(deployment()))
    assert hook.create_deployment(MODEL).deployed_model == MODEL
    assert scripted_server.count() == 2 and len(sleeps) == 1


def test_a_duplicate_and_an_unknown_model_are_typed_errors_sent_once(scripted_server, hook, sleeps):
    scripted_server.script("POST", "/deployments",
                           error(409, "Conflict", f"Deployed model {MODEL} already exists, please specify a suffix."),
                           error(404, "NotFound", "Model: nope not found!", request_id="req-404"))  # fmt: skip
    with pytest.raises(ConflictError, match="please specify a suffix"):
        hook.create_deployment(MODEL)
    with pytest.raises(NotFoundError, match=r"Model: nope not found! \(request_id=req-404\)"):
        hook.create_deployment("nope")
    assert scripted_server.count() == 2 and sleeps == []


def test_get_and_aget_read_the_same_deployment(scripted_server, hook):
    scripted_server.script("GET", f"/deployments/{MODEL}", ok(deployment("RUNNING", ready_capacity=1), "req-g"))
    sync = hook.get_deployment(MODEL)

    async def read():
        return await hook.aget_deployment(MODEL)

    async_ = asyncio.run(read())
    assert sync == async_ and sync.is_running and sync.ready_capacity == 1
    assert scripted_server.count("GET", f"/deployments/{MODEL}") == 2


def test_scale_puts_the_sdk_body_and_is_sent_once_when_refused(scripted_server, hook, sleeps):
    scripted_server.script("PUT", f"/deployments/{MODEL}/scale", ok(deployment("UPDATING", capacity=3)),
                           error(400, "UnsupportedOperation", "not RUNNING"))  # fmt: skip
    scaled = hook.scale_deployment(MODEL, 3)
    assert scaled.status == DeploymentStatus.UPDATING and scaled.capacity == 3
    assert scripted_server.requests[0].json() == {"deployed_model": MODEL, "capacity": 3}
    with pytest.raises(UnsupportedOperationError):
        hook.scale_deployment(MODEL, 3)
    assert scripted_server.count() == 2 and sleeps == []


def test_delete_returns_the_deleting_deployment_and_404_is_not_found(scripted_server, hook):
    scripted_server.script("DELETE", f"/deployments/{MODEL}", ok({"status": "DELETING"}, "req-del"),
                           error(404, "NotFound", "Not found."))  # fmt: skip
    deleting = hook.delete_deployment(MODEL)
    assert (deleting.deployed_model, deleting.status_text, deleting.request_id) == (MODEL, "DELETING", "req-del")
    with pytest.raises(NotFoundError):
        hook.delete_deployment(MODEL)


def test_iter_deployments_walks_every_page(scripted_server, hook):
    items = [deployment(name=f"{MODEL}-v{i}") for i in range(3)]
    scripted_server.script("GET", "/deployments", ok({"total": 3, "page_no": 1, "page_size": 2, "deployments": items[:2]}),
                           ok({"total": 3, "page_no": 2, "page_size": 2, "deployments": items[2:]}))  # fmt: skip
    assert [d.deployed_model for d in hook.iter_deployments(page_size=2)] == [f"{MODEL}-v{i}" for i in range(3)]
    page = hook.list_deployments(page_no=2, page_size=2)
    assert page.total == 3


def test_the_console_link_of_a_deployment(hook, dashscope_conn):
    assert hook.deployment_console_url(MODEL).endswith(f"/api/v1/deployments/{MODEL}")  # loopback: the API's URL
    dashscope_conn("dashscope_bj", region="cn-beijing")
    url = DashScopeHook("dashscope_bj").deployment_console_url(MODEL)
    assert url.startswith("https://bailian.console.aliyun.com/") and url.endswith(f"deployedModel={MODEL}")
