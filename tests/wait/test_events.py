"""The typed event that ends a wait: its JSON payload, reading it back, and the shape older releases fired."""

from __future__ import annotations

import json
import pickle

import pytest

from airflow_provider_dashscope.exceptions import DashScopeError
from airflow_provider_dashscope.wait.outcomes import JOB_EVENT_KEYS, EventKeys, Outcome, WaitEvent

#: An event exactly as release 0.1.0's trigger fired it (a task deferred before an upgrade completes with it).
EVENT_FROM_0_1_0 = {
    "status": "success",
    "job_id": "ft-202410291653-1c7f",
    "job_status": "SUCCEEDED",
    "message": "Fine-tune job ft-202410291653-1c7f succeeded: finetuned_output=qwen3-14b-ft, usage=279808",
    "job": {
        "job_id": "ft-202410291653-1c7f",
        "status": "SUCCEEDED",
        "finetuned_output": "qwen3-14b-ft",
        "usage": 279808,
        "model": "qwen3-14b",
        "base_model": "qwen3-14b",
        "create_time": "2024-10-29T16:53:53+08:00",
        "end_time": "2024-10-29T17:11:26+08:00",
        "code": None,
        "message": None,
        "request_id": "c59b2145-a93c-4e00-b610-4d7cc5c521a2",
    },
    "http_status": None,
    "request_id": "c59b2145-a93c-4e00-b610-4d7cc5c521a2",
}


def test_an_event_of_the_previous_release_reads_back_and_writes_the_same_json() -> None:
    event = WaitEvent.from_payload(EVENT_FROM_0_1_0)
    assert event.outcome is Outcome.SUCCESS and event.succeeded
    assert (event.resource_id, event.resource_status) == ("ft-202410291653-1c7f", "SUCCEEDED")
    assert event.resource["usage"] == 279808
    assert event.to_payload() == EVENT_FROM_0_1_0
    assert json.loads(json.dumps(event.to_payload())) == EVENT_FROM_0_1_0


def test_an_event_is_frozen_deeply_and_pickles() -> None:
    event = WaitEvent.from_payload(EVENT_FROM_0_1_0)
    with pytest.raises(AttributeError):
        event.outcome = Outcome.ERROR  # type: ignore[misc]
    with pytest.raises(TypeError):
        event.resource["usage"] = 0  # type: ignore[index]
    assert pickle.loads(pickle.dumps(event)) == event
    payload = event.to_payload()
    payload["job"]["usage"] = 0  # the payload is the caller's own copy
    assert event.resource["usage"] == 279808


def test_other_resources_name_their_keys_themselves() -> None:
    keys = EventKeys("deployed_model", "deployment_status", "deployment")
    event = WaitEvent(Outcome.SUCCESS, "qwen3-14b-ft", "serving", resource_status="RUNNING", resource={"capacity": 2})
    payload = event.to_payload(keys)
    assert set(payload) == {
        "status",
        "deployed_model",
        "deployment_status",
        "message",
        "deployment",
        "http_status",
        "request_id",
    }
    assert WaitEvent.from_payload(payload, keys) == event
    assert EventKeys("job_id", "job_status", "job") == JOB_EVENT_KEYS


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (None, r"expected a trigger event dict, got None"),
        ("success", r"expected a trigger event dict, got 'success'"),
        (
            {"status": "paused", "job_id": "ft-x"},
            r"unknown status 'paused' \(expected one of cancelled, error, failed, ",
        ),
        ({"job_id": "ft-x"}, r"unknown status None"),
        ({"status": "success"}, r"without a job_id"),
        ({"status": "success", "job_id": 7}, r"without a job_id"),
    ],
)
def test_a_bad_payload_is_a_clear_error(payload, expected) -> None:
    with pytest.raises(DashScopeError, match=expected):
        WaitEvent.from_payload(payload)


def test_a_payload_with_odd_optional_values_still_reads() -> None:
    event = WaitEvent.from_payload(
        {"status": "error", "job_id": "ft-x", "http_status": True, "job": "not a dict", "request_id": 12}
    )
    assert event.http_status is None and event.resource is None and event.request_id == "12"
    assert event.message == "ft-x: error"
