"""DashScopeDeploymentTrigger and DashScopeDeploymentDeletionTrigger driven through ``run()`` over real HTTP to a
scripted server on 127.0.0.1, on a fake clock."""

from __future__ import annotations

import asyncio
import json

import pytest

from airflow_provider_dashscope.exceptions import DashScopeConfigError
from airflow_provider_dashscope.triggers.deployments import (
    DashScopeDeploymentDeletionTrigger,
    DashScopeDeploymentTrigger,
)
from tests._servers import error, ok
from tests._waiting import FakeTime

MODEL = "qwen3-14b-ft-202410291653-1c7f"
PATH = f"/deployments/{MODEL}"
EVENT_KEYS = {"status", "deployed_model", "deployment_status", "message", "deployment", "http_status", "request_id"}


def deployment(status: str, **fields) -> dict:
    return {"deployed_model": MODEL, "status": status, "model_name": MODEL, "capacity": 1, **fields}


@pytest.fixture
def conn(scripted_server, dashscope_conn, canary_key):
    dashscope_conn("dashscope_default", host=scripted_server.url, retry_max_delay=5)
    return scripted_server


def first_event(trigger) -> dict:
    async def run():
        return [event.payload async for event in trigger.run()]

    events = asyncio.run(run())
    assert len(events) == 1
    return events[0]


def test_serialize_round_trips_and_carries_no_key(canary_key):
    trigger = DashScopeDeploymentTrigger(
        deployed_model=MODEL, dashscope_conn_id="ds", poll_interval=30, deadline=1.9e9, max_consecutive_failures=7,
        started_at=1.8e9, last_status="DEPLOYING",
    )  # fmt: skip
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_dashscope.triggers.deployments.DashScopeDeploymentTrigger"
    assert kwargs == {"deployed_model": MODEL, "dashscope_conn_id": "ds", "poll_interval": 30.0, "deadline": 1.9e9,
                      "max_consecutive_failures": 7, "cancel_on_kill": False, "started_at": 1.8e9,
                      "last_status": "DEPLOYING"}  # fmt: skip
    again = DashScopeDeploymentTrigger(**json.loads(json.dumps(kwargs)))
    assert again.serialize() == (classpath, kwargs)
    assert canary_key not in json.dumps(kwargs)
    deletion = DashScopeDeploymentDeletionTrigger(deployed_model=MODEL)
    assert deletion.serialize()[0].endswith(".DashScopeDeploymentDeletionTrigger")


def test_a_bad_deployed_model_is_refused_at_construction():
    with pytest.raises(DashScopeConfigError, match=r"deployed_model '\.\./x' is not a valid deployed model name"):
        DashScopeDeploymentTrigger(deployed_model="../x")


def test_the_trigger_polls_until_running_and_fires_one_success_event(conn):
    conn.script("GET", PATH, ok(deployment("PENDING")), ok(deployment("DEPLOYING")),
                ok(deployment("RUNNING", ready_capacity=1), "req-run"))  # fmt: skip
    fake = FakeTime(start=1_000.0)
    trigger = fake.drive(DashScopeDeploymentTrigger(deployed_model=MODEL, poll_interval=10, started_at=1_000.0))

    event = first_event(trigger)

    assert set(event) == EVENT_KEYS
    assert (event["status"], event["deployed_model"], event["deployment_status"]) == ("success", MODEL, "RUNNING")
    assert event["deployment"]["ready_capacity"] == 1 and event["request_id"] == "req-run"
    assert conn.count("GET", PATH) == 3
    assert len(fake.sleeps) == 2 and all(9 <= s <= 11 for s in fake.sleeps)


def test_a_failed_deployment_fires_a_failed_event(conn):
    conn.script("GET", PATH, ok(deployment("DEPLOYING")), ok(deployment("FAILED"), "req-f"))
    event = first_event(FakeTime().drive(DashScopeDeploymentTrigger(deployed_model=MODEL, poll_interval=1)))
    assert (event["status"], event["deployment_status"]) == ("failed", "FAILED")
    assert "from which it does not become RUNNING (request_id=req-f)" in event["message"]


def test_an_unknown_deployment_fires_an_error_event_at_once(conn):
    conn.script("GET", PATH, error(404, "NotFound", "Not found.", request_id="req-nf"))
    event = first_event(FakeTime().drive(DashScopeDeploymentTrigger(deployed_model=MODEL, poll_interval=1)))
    assert (event["status"], event["http_status"], event["request_id"]) == ("error", 404, "req-nf")
    assert conn.count() == 1


def test_transient_failures_are_tolerated_up_to_the_budget(conn):
    conn.script("GET", PATH, error(503, "ServiceUnavailable", "busy"), ok(deployment("RUNNING")))
    event = first_event(
        FakeTime().drive(DashScopeDeploymentTrigger(deployed_model=MODEL, poll_interval=1, max_consecutive_failures=2))
    )
    assert event["status"] == "success" and conn.count() == 2
    conn.script("GET", "/deployments/other", error(503, "ServiceUnavailable", "busy"))
    event = first_event(
        FakeTime().drive(
            DashScopeDeploymentTrigger(deployed_model="other", poll_interval=1, max_consecutive_failures=2)
        )
    )
    assert (event["status"], event["http_status"]) == ("error", 503)
    assert conn.count("GET", "/deployments/other") == 2


def test_the_deletion_trigger_fires_success_when_the_deployment_is_gone(conn):
    conn.script("GET", PATH, ok(deployment("DELETING")), ok(deployment("DELETING")),
                error(404, "NotFound", "Not found.", request_id="req-gone"))  # fmt: skip
    fake = FakeTime()
    event = first_event(fake.drive(DashScopeDeploymentDeletionTrigger(deployed_model=MODEL, poll_interval=2)))
    assert (event["status"], event["http_status"], event["request_id"]) == ("success", 404, "req-gone")
    assert event["deployment_status"] == "DELETING" and event["message"] == f"Deployment {MODEL} is gone (HTTP 404)"
    assert conn.count() == 3


def test_the_deletion_trigger_times_out_at_its_deadline(conn):
    conn.script("GET", PATH, ok(deployment("DELETING")))
    fake = FakeTime(start=5_000.0)
    trigger = DashScopeDeploymentDeletionTrigger(deployed_model=MODEL, poll_interval=2, deadline=5_005.0)
    event = first_event(fake.drive(trigger))
    assert event["status"] == "timeout" and "still DELETING at the deadline" in event["message"]
    assert fake.now == 5_005.0
