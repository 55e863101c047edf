"""Property-based: whatever a server (or anything between it and the worker) sends, parsing raises nothing but the
provider's typed errors.

Hypothesis feeds ``api_response.parse_response`` every HTTP status from 100 to 599 with arbitrary JSON (envelope-shaped or
not), arbitrary bytes and arbitrary ``x-request-id`` / ``Retry-After`` headers, then gives whatever ``output`` comes
back to ``FineTuneJob.from_api`` (and the page and log models). The only exceptions allowed are ``DashScopeError``
subclasses; what the wait does next with an error (``is_transient``, ``retry_delay``, ``str``, pickling across
processes) and with a job (``summary()`` as JSON, ``event_for_job``) must not raise either.
"""

from __future__ import annotations

import json
import math
import pickle

from hypothesis import HealthCheck, given, settings, strategies as st

from airflow_provider_dashscope import _config
from airflow_provider_dashscope._http import api_response, retry
from airflow_provider_dashscope.exceptions import DashScopeError
from airflow_provider_dashscope.models import FineTuneJob, FineTuneJobLogs, FineTuneJobPage
from airflow_provider_dashscope.resources.fine_tunes import get_job_request
from airflow_provider_dashscope.wait.fine_tunes import FINE_TUNE_JOB
from airflow_provider_dashscope.wait.machine import WaitMachine

SETTINGS = settings(max_examples=250, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
POLICY = _config.RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
    | st.sampled_from(["", "200", "RUNNING", "SUCCEEDED", "FAILED", "--5", "²", "1e999", "2024-10-29 16:53:53", "-1"])
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=25,
)
JOB_KEYS = [
    "job_id", "status", "job_name", "finetuned_output", "model", "base_model", "training_file_ids",
    "validation_file_ids", "hyper_parameters", "training_type", "create_time", "end_time", "workspace_id",
    "usage", "output_cnt", "max_output_cnt", "code", "message", "jobs", "total", "page_no", "page_size", "logs",
]  # fmt: skip
jobs = st.dictionaries(st.sampled_from(JOB_KEYS), json_values, max_size=12)
outputs = (
    jobs | st.fixed_dictionaries({"jobs": st.lists(jobs, max_size=3)}, optional={"total": json_values}) | json_values
)
envelopes = st.fixed_dictionaries(
    {},
    optional={
        "request_id": json_values,
        "code": st.sampled_from(
            [None, "", "200", 200, "Throttling", "Throttling.RateQuota", "UnsupportedOperation", "NotFound"]
        )
        | json_values,
        "message": json_values,
        "msg": json_values,
        "output": outputs,
    },
)
header_values = st.text(max_size=40) | st.sampled_from(
    ["0", "1.5", "-3", "nan", "inf", "1e400", "Wed, 21 Oct 2015 07:28:00 GMT", "Mon, 01 Jan 99999 00:00:00 GMT", ""]
)
headers = st.fixed_dictionaries({}, optional={"x-request-id": header_values, "Retry-After": header_values})
statuses = st.integers(min_value=100, max_value=599)


def _json_body(value) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


bodies = (
    envelopes.map(_json_body)
    | json_values.map(_json_body)
    | st.binary(max_size=300)
    | envelopes.map(_json_body).flatmap(lambda b: st.integers(0, len(b)).map(lambda n: b[:n]))  # truncated
)


def wait_event(result):
    """The event a wait that got ``result`` from its first poll ends with (``None`` while it goes on)."""
    machine = WaitMachine(
        FINE_TUNE_JOB, "ft-x", poll_interval=1.0, deadline=None, max_consecutive_failures=1, started_at=0.0
    )
    machine.next_action(0.0)
    machine.on_result(result, 0.0)
    return machine.event


def check_error(error: DashScopeError) -> None:
    """What the retry loop, the trigger and Airflow do with an error must work too."""
    assert str(error)
    retry.is_transient(error)
    retry.is_transient(error, idempotent=False)
    delay = retry.retry_delay(error, 1, POLICY)
    assert delay is None or (math.isfinite(delay) and 0 <= delay <= POLICY.max_delay)
    retry.describe_failure(error)
    assert str(pickle.loads(pickle.dumps(error))) == str(error)
    json.dumps(wait_event(error).to_payload())


def parse_everything(status: int, response_headers: dict, body: bytes) -> None:
    try:
        output, request_id = api_response.parse_response(status, response_headers, body, get_job_request("ft-prop-1"))
    except DashScopeError as error:
        check_error(error)
        return
    assert 200 <= status < 300
    for model in (FineTuneJob, FineTuneJobPage, FineTuneJobLogs):
        try:
            parsed = model.from_api(output, request_id)
        except DashScopeError as error:
            check_error(error)
            continue
        if isinstance(parsed, FineTuneJob):
            json.dumps(parsed.summary())
            event = wait_event(parsed)
            if event is not None:
                json.dumps(event.to_payload())
                json.dumps(FINE_TUNE_JOB.result_of(event.resource))


@SETTINGS
@given(status=statuses, response_headers=headers, body=bodies)
def test_parse_response_raises_only_typed_errors_for_any_status_headers_and_body(status, response_headers, body):
    parse_everything(status, response_headers, body)


@SETTINGS
@given(status=st.integers(min_value=200, max_value=299), response_headers=headers, envelope=envelopes)
def test_a_success_envelope_with_any_output_gives_a_job_or_a_typed_error(status, response_headers, envelope):
    parse_everything(status, response_headers, _json_body(envelope))


@SETTINGS
@given(output=outputs, request_id=st.none() | st.text(max_size=20), time_zone=st.sampled_from(["Asia/Shanghai", "UTC"]))
def test_models_accept_any_output_or_raise_a_typed_error(output, request_id, time_zone):
    for model, kwargs in (
        (FineTuneJob, {"time_zone": time_zone}),
        (FineTuneJobPage, {"time_zone": time_zone}),
        (FineTuneJobLogs, {}),
    ):
        try:
            model.from_api(output, request_id, **kwargs)
        except DashScopeError as error:
            check_error(error)
