"""The deployment policies on the wait machine: RUNNING is ready, some statuses never become it, and a deletion's
wait ends on a 404 (no socket, no sleep)."""

from __future__ import annotations

import logging

import pytest

from airflow_provider_dashscope.exceptions import (
    DashScopeError,
    DeploymentFailedError,
    DeploymentNotFoundError,
    DeploymentTimeoutError,
    NotFoundError,
    ServiceUnavailableError,
)
from airflow_provider_dashscope.models import Deployment, DeploymentStatus
from airflow_provider_dashscope.wait.deployments import (
    DEPLOYMENT_DELETED,
    DEPLOYMENT_RUNNING,
    NEVER_RUNNING,
    RESULT_KEYS,
)
from airflow_provider_dashscope.wait.fine_tunes import FINE_TUNE_JOB
from airflow_provider_dashscope.wait.machine import Poll, Sleep, WaitMachine
from airflow_provider_dashscope.wait.outcomes import Outcome, WaitEvent

NAME = "qwen3-14b-ft-202410291653-1c7f"
T0 = 1_000_000.0


def deployment(status: str, **fields) -> Deployment:
    return Deployment.from_api(
        {"deployed_model": NAME, "status": status, "model_name": NAME, "capacity": 1, **fields}, "req-d"
    )


def machine(policy=DEPLOYMENT_RUNNING, **kwargs) -> WaitMachine[Deployment]:
    kwargs.setdefault("poll_interval", 10.0)
    kwargs.setdefault("deadline", None)
    kwargs.setdefault("max_consecutive_failures", 3)
    kwargs.setdefault("started_at", T0)
    kwargs.setdefault("rand", lambda: 0.5)
    return WaitMachine(policy, NAME, **kwargs)


def poll(m: WaitMachine, now: float, result) -> list:
    assert m.next_action(now) == Poll()
    return m.on_result(result, now)


def not_found() -> NotFoundError:
    return NotFoundError("Not found.", status_code=404, code="NotFound", request_id="req-404",
                         resource_id=NAME, resource_key="deployed_model")  # fmt: skip


def test_a_deployment_is_waited_on_through_its_life_cycle_until_it_is_running():
    m = machine()
    assert poll(m, T0, deployment("PENDING")) == [(logging.INFO, "%s %s is %s", ("Deployment", NAME, "PENDING"), None)]
    assert m.next_action(T0) == Sleep(pytest.approx(10.0))
    lines = poll(m, T0 + 10, deployment("DEPLOYING"))
    assert lines[0].args == ("Deployment", NAME, "PENDING", "DEPLOYING", 10.0)
    poll(m, T0 + 20, deployment("RUNNING", ready_capacity=1))
    event = m.next_action(T0 + 20).event
    assert event.outcome is Outcome.SUCCESS
    assert event.message == f"Deployment {NAME} is RUNNING: model {NAME}, capacity 1"
    assert DEPLOYMENT_RUNNING.result_of(event.resource)["ready_capacity"] == 1
    assert tuple(DEPLOYMENT_RUNNING.result_of(event.resource)) == RESULT_KEYS


@pytest.mark.parametrize("status", sorted(s.value for s in NEVER_RUNNING))
def test_a_status_that_never_becomes_running_fails_the_wait_naming_it_and_the_request_id(status):
    m = machine()
    poll(m, T0, deployment(status))
    event = m.next_action(T0).event
    assert event.outcome is Outcome.FAILED and event.resource_status == status
    assert event.message == f"Deployment {NAME} is {status}, from which it does not become RUNNING (request_id=req-d)"
    error = DEPLOYMENT_RUNNING.error_of(event)
    assert isinstance(error, DeploymentFailedError)
    assert (error.deployed_model, error.deployment_status) == (NAME, status)


@pytest.mark.parametrize("status", ["PENDING", "DEPLOYING", "UPDATING", "ARREARS_RECOVERING", "HIBERNATING"])
def test_statuses_that_may_still_become_running_keep_the_wait_going(status):
    m = machine()
    poll(m, T0, deployment(status))
    assert isinstance(m.next_action(T0), Sleep)


def test_the_never_running_set_is_exactly_the_documented_dead_ends():
    assert {s.value for s in NEVER_RUNNING} == {
        "FAILED", "UPDATING_FAILED", "STOPPED", "OFFLINING", "DELETING", "ARREARS_DOWN",
    }  # fmt: skip
    assert DeploymentStatus.RUNNING not in NEVER_RUNNING


def test_a_404_while_waiting_for_running_is_an_error_the_task_reports_as_not_found():
    m = machine()
    poll(m, T0, not_found())
    event = m.next_action(T0).event
    assert (event.outcome, event.http_status, event.request_id) == (Outcome.ERROR, 404, "req-404")
    error = DEPLOYMENT_RUNNING.error_of(event)
    assert isinstance(error, DeploymentNotFoundError)
    assert f"Deployment {NAME} was not found (HTTP 404, request_id=req-404)" in str(error)


def test_a_deletion_is_over_when_the_deployment_is_gone():
    m = machine(DEPLOYMENT_DELETED)
    assert m.observe(deployment("DELETING"), T0) == [
        (logging.INFO, "%s %s is %s", ("Deployment", NAME, "DELETING"), None)
    ]
    assert m.next_action(T0) == Sleep(pytest.approx(5.0))  # the first poll after the check is spread
    assert poll(m, T0 + 5, deployment("DELETING")) == []
    lines = poll(m, T0 + 15, not_found())
    assert lines == [(logging.INFO, "%s %s: %s -> gone after %.0f s", ("Deployment", NAME, "DELETING", 15.0), None)]
    event = m.next_action(T0 + 15).event
    assert (event.outcome, event.http_status, event.request_id) == (Outcome.SUCCESS, 404, "req-404")
    assert event.message == f"Deployment {NAME} is gone (HTTP 404)"
    assert event.succeeded


@pytest.mark.parametrize("status", ["DELETING", "RUNNING", "FAILED", "SOMETHING_NEW"])
def test_no_status_ends_a_deletions_wait(status):
    m = machine(DEPLOYMENT_DELETED)
    poll(m, T0, deployment(status))
    assert isinstance(m.next_action(T0), Sleep)


def test_a_deletions_wait_still_counts_failures_and_times_out():
    m = machine(DEPLOYMENT_DELETED, deadline=T0 + 25, max_consecutive_failures=2)
    poll(m, T0, deployment("DELETING"))
    poll(m, T0 + 10, ServiceUnavailableError("busy", status_code=503))
    assert m.failures == 1
    poll(m, T0 + 20, deployment("DELETING"))
    assert m.failures == 0
    event = m.next_action(T0 + 25).event
    assert event.outcome is Outcome.TIMEOUT
    assert "still DELETING at the deadline" in event.message
    assert isinstance(DEPLOYMENT_DELETED.error_of(event), DeploymentTimeoutError)


def test_a_404_is_still_an_error_for_policies_without_a_gone_outcome():
    assert FINE_TUNE_JOB.gone_outcome is None and DEPLOYMENT_RUNNING.gone_outcome is None
    assert DEPLOYMENT_DELETED.gone_outcome is Outcome.SUCCESS


def test_events_carry_deployment_keys_through_a_payload_round_trip():
    m = machine()
    poll(m, T0, deployment("RUNNING"))
    event = m.next_action(T0).event
    payload = event.to_payload(DEPLOYMENT_RUNNING.event_keys)
    assert set(payload) == {"status", "deployed_model", "deployment_status", "message", "deployment", "http_status",
                            "request_id"}  # fmt: skip
    assert WaitEvent.from_payload(payload, DEPLOYMENT_RUNNING.event_keys) == event
    with pytest.raises(DashScopeError, match="without a deployed_model"):
        WaitEvent.from_payload({"status": "success", "job_id": "ft-1"}, DEPLOYMENT_RUNNING.event_keys)
