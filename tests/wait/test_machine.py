"""The wait machine's rules, driven with plain numbers: no socket, no sleep, no Airflow task."""

from __future__ import annotations

import logging
import random

import pytest

from airflow_provider_dashscope.exceptions import (
    AuthenticationError,
    DashScopeConfigError,
    DashScopeTimeoutError,
    DashScopeTransportError,
    InvalidResponseError,
    NotFoundError,
    ResponseTooLargeError,
    ServiceUnavailableError,
    ThrottlingError,
)
from airflow_provider_dashscope.models import FineTuneJob
from airflow_provider_dashscope.wait.fine_tunes import FINE_TUNE_JOB
from airflow_provider_dashscope.wait.machine import JITTER, Done, Poll, Sleep, WaitMachine
from airflow_provider_dashscope.wait.outcomes import Outcome

JOB_ID = "ft-202410291653-1c7f"
T0 = 1_000_000.0


def job(status: str, **fields) -> FineTuneJob:
    return FineTuneJob.from_api({"job_id": JOB_ID, "status": status, **fields}, "req-1")


def machine(**kwargs) -> WaitMachine[FineTuneJob]:
    kwargs.setdefault("poll_interval", 10.0)
    kwargs.setdefault("deadline", None)
    kwargs.setdefault("max_consecutive_failures", 3)
    kwargs.setdefault("started_at", T0)
    return WaitMachine(FINE_TUNE_JOB, JOB_ID, **kwargs)


def poll(m: WaitMachine, now: float, result) -> list:
    """Ask for the next action at ``now``; it must be a poll; report ``result``."""
    assert m.next_action(now) == Poll()
    return m.on_result(result, now)


def transient(retry_after: float | None = None) -> ServiceUnavailableError:
    return ServiceUnavailableError("busy", status_code=503, code="ServiceUnavailable", retry_after=retry_after)


# ----------------------------------------------------------------------------------------------------------------
# The first poll
# ----------------------------------------------------------------------------------------------------------------
def test_a_wait_that_has_seen_nothing_polls_at_once() -> None:
    assert machine().next_action(T0) == Poll()


@pytest.mark.parametrize("rand", [0.01, 0.25, 0.999])
def test_a_wait_that_starts_from_a_known_status_spreads_its_first_poll_over_one_interval(rand: float) -> None:
    m = machine(last_status="RUNNING", rand=lambda: rand)
    assert m.next_action(T0) == Sleep(pytest.approx(10.0 * rand))
    assert m.next_action(T0 + 10.0 * rand) == Poll()


def test_the_first_poll_after_the_check_is_spread_too() -> None:
    m = machine(rand=lambda: 0.5)
    assert m.observe(job("RUNNING"), T0) == [(logging.INFO, "%s %s is %s", ("Fine-tune job", JOB_ID, "RUNNING"), None)]
    assert m.next_action(T0) == Sleep(pytest.approx(5.0))


def test_waits_started_together_spread_over_the_whole_interval() -> None:
    rng = random.Random(7)
    firsts = [machine(last_status="RUNNING", rand=rng.random).next_action(T0).seconds for _ in range(200)]
    assert all(0 <= s < 10 for s in firsts)
    assert min(firsts) < 1 and max(firsts) > 9


# ----------------------------------------------------------------------------------------------------------------
# The interval and its jitter
# ----------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("rand", [0.0, 0.5, 0.999])
def test_sleeps_between_polls_are_the_interval_jittered_within_ten_percent(rand: float) -> None:
    m = machine(rand=lambda: rand)
    poll(m, T0, job("RUNNING"))
    expected = 10.0 * (JITTER[0] + (JITTER[1] - JITTER[0]) * rand)
    assert JITTER == (0.9, 1.1)
    assert m.next_action(T0) == Sleep(pytest.approx(expected))
    assert m.next_action(T0 + 1) == Sleep(pytest.approx(expected - 1))  # a driver woken early sleeps the rest
    assert m.next_action(T0 + expected) == Poll()


def test_two_waits_drift_apart() -> None:
    rng = random.Random(1)
    sleeps = []
    for _ in range(2):
        m = machine(rand=rng.random)
        poll(m, T0, job("RUNNING"))
        sleeps.append(m.next_action(T0).seconds)
    assert sleeps[0] != sleeps[1]


# ----------------------------------------------------------------------------------------------------------------
# Statuses and outcomes
# ----------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "outcome"),
    [("SUCCEEDED", Outcome.SUCCESS), ("FAILED", Outcome.FAILED), ("CANCELED", Outcome.CANCELLED)],
)
def test_a_terminal_status_ends_the_wait_with_its_outcome(status: str, outcome: Outcome) -> None:
    m = machine()
    poll(m, T0, job(status, usage=12, finetuned_output="qwen3-14b-ft", code="E1" if status == "FAILED" else None))
    action = m.next_action(T0 + 100)
    assert isinstance(action, Done)
    event = action.event
    assert event.outcome is outcome
    assert (event.resource_id, event.resource_status, event.request_id) == (JOB_ID, status, "req-1")
    assert event.resource["usage"] == 12 and event.resource["status"] == status
    if status == "SUCCEEDED":
        assert event.message == f"Fine-tune job {JOB_ID} succeeded: finetuned_output=qwen3-14b-ft, usage=12"
    else:
        assert event.message.startswith(f"Fine-tune job {JOB_ID} ended with status {status}")
        assert event.message.endswith("(request_id=req-1)")
    assert m.next_action(T0 + 200) == action  # done stays done


@pytest.mark.parametrize("status", ["PENDING", "QUEUING", "RUNNING", "CANCELING", "PAUSED", "SOMETHING_NEW"])
def test_a_status_that_is_not_an_end_keeps_the_wait_going(status: str) -> None:
    m = machine()
    poll(m, T0, job(status))
    assert isinstance(m.next_action(T0), Sleep)


def test_one_info_line_per_status_change_with_the_elapsed_time() -> None:
    m = machine(rand=lambda: 0.0)
    lines = []
    now = T0
    for status in ("PENDING", "PENDING", "RUNNING", "RUNNING", "RUNNING", "SUCCEEDED"):
        action = m.next_action(now)
        if isinstance(action, Sleep):
            now += action.seconds
            action = m.next_action(now)
        assert action == Poll()
        lines += m.on_result(job(status), now)
    assert [line.message % line.args for line in lines] == [
        f"Fine-tune job {JOB_ID} is PENDING",
        f"Fine-tune job {JOB_ID}: PENDING -> RUNNING after 18 s",
        f"Fine-tune job {JOB_ID}: RUNNING -> SUCCEEDED after 45 s",
    ]
    assert {line.level for line in lines} == {logging.INFO}


def test_the_status_seen_before_the_wait_is_not_announced_again() -> None:
    m = machine(last_status="RUNNING", rand=lambda: 0.0)
    assert poll(m, T0, job("RUNNING")) == []


# ----------------------------------------------------------------------------------------------------------------
# The failure budget
# ----------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "error",
    [
        transient(),
        ThrottlingError("slow", status_code=429, code="Throttling"),
        DashScopeTransportError("reset"),
        DashScopeTimeoutError("read timed out"),
        InvalidResponseError("not JSON", status_code=200),
    ],
    ids=["503", "429", "reset", "timeout", "bad-200"],
)
def test_transient_failures_are_tolerated_until_the_budget_is_spent(error) -> None:
    m = machine(max_consecutive_failures=3, rand=lambda: 0.5)
    now = T0
    lines = poll(m, now, error)
    assert [line.level for line in lines] == [logging.WARNING]
    assert "poll failed (1 of 3 tolerated in a row)" in lines[0].message % lines[0].args
    now += m.next_action(now).seconds
    poll(m, now, error)
    now += m.next_action(now).seconds
    lines = poll(m, now, error)
    assert [line.level for line in lines] == [logging.ERROR]
    assert "3 polls failed in a row; giving up" in lines[0].message % lines[0].args
    event = m.next_action(now).event
    assert event.outcome is Outcome.ERROR and event.message == str(error)


def test_an_answer_resets_the_failure_count() -> None:
    m = machine(max_consecutive_failures=2, rand=lambda: 0.0)
    now = T0
    for result in (transient(), job("RUNNING"), transient(), job("RUNNING"), transient()):
        lines = poll(m, now, result)
        now += m.next_action(now).seconds
    assert m.failures == 1 and isinstance(m.next_action(now), Poll)
    assert [line.level for line in lines] == [logging.WARNING]


def test_the_error_event_keeps_the_last_job_seen() -> None:
    m = machine(max_consecutive_failures=1)
    poll(m, T0, job("RUNNING", usage=5))
    now = T0 + m.next_action(T0).seconds
    poll(m, now, transient())
    event = m.next_action(now).event
    assert event.outcome is Outcome.ERROR
    assert event.resource_status == "RUNNING" and event.resource["usage"] == 5
    assert event.http_status == 503


@pytest.mark.parametrize(
    "error",
    [
        NotFoundError("Not found!", status_code=404, code="NotFound", request_id="r-404"),
        AuthenticationError("bad key", status_code=401, code="InvalidApiKey"),
        ResponseTooLargeError("too big"),
        DashScopeConfigError("connection 'x' does not exist"),
    ],
    ids=["404", "401", "too-large", "config"],
)
def test_a_fatal_answer_ends_the_wait_at_once(error) -> None:
    m = machine(max_consecutive_failures=5)
    assert poll(m, T0, error) == []
    event = m.next_action(T0).event
    assert event.outcome is Outcome.ERROR and event.message == str(error)
    assert event.resource is None and event.resource_status is None
    if isinstance(error, NotFoundError):
        assert (event.http_status, event.request_id) == (404, "r-404")


def test_a_bug_in_a_poll_ends_the_wait_with_an_error_and_logs_its_traceback() -> None:
    bug = KeyError("status")
    m = machine(max_consecutive_failures=5)
    lines = poll(m, T0, bug)
    assert len(lines) == 1 and lines[0].level == logging.ERROR and lines[0].error is bug
    event = m.next_action(T0).event
    assert event.outcome is Outcome.ERROR and event.message == "KeyError: 'status'"


# ----------------------------------------------------------------------------------------------------------------
# Retry-After
# ----------------------------------------------------------------------------------------------------------------
def test_retry_after_delays_the_next_poll_beyond_the_interval() -> None:
    m = machine(poll_interval=1.0, rand=lambda: 0.5)
    poll(m, T0, transient(retry_after=7.0))
    assert m.next_action(T0) == Sleep(pytest.approx(7.0))


def test_retry_after_shorter_than_the_interval_does_not_hurry_the_next_poll() -> None:
    m = machine(poll_interval=10.0, rand=lambda: 0.5)
    poll(m, T0, transient(retry_after=1.0))
    assert m.next_action(T0) == Sleep(pytest.approx(10.0))


def test_retry_after_is_capped() -> None:
    m = machine(poll_interval=1.0, retry_after_cap=30.0, rand=lambda: 0.5)
    poll(m, T0, transient(retry_after=86400.0))
    assert m.next_action(T0) == Sleep(pytest.approx(30.0))


# ----------------------------------------------------------------------------------------------------------------
# The deadline
# ----------------------------------------------------------------------------------------------------------------
def test_a_sleep_never_passes_the_deadline() -> None:
    m = machine(poll_interval=10.0, deadline=T0 + 3, rand=lambda: 0.5)
    poll(m, T0, job("RUNNING"))
    assert m.next_action(T0) == Sleep(pytest.approx(3.0))
    m2 = machine(poll_interval=1.0, deadline=T0 + 3, rand=lambda: 0.5)
    poll(m2, T0, transient(retry_after=20.0))
    assert m2.next_action(T0) == Sleep(pytest.approx(3.0))


def test_at_the_deadline_the_wait_times_out_with_the_last_status() -> None:
    m = machine(deadline=T0 + 3)
    poll(m, T0, job("RUNNING"))
    event = m.next_action(T0 + 3).event
    assert event.outcome is Outcome.TIMEOUT
    assert event.resource_status == "RUNNING"
    assert event.message == (
        f"Timed out waiting for fine-tune job {JOB_ID}: still RUNNING at the deadline 1970-01-12T13:46:43Z"
    )


def test_a_deadline_already_past_times_out_without_polling() -> None:
    m = machine(deadline=T0 - 1, last_status="RUNNING")
    event = m.next_action(T0).event
    assert event.outcome is Outcome.TIMEOUT and "still unknown" in event.message
    assert event.resource is None


# ----------------------------------------------------------------------------------------------------------------
# Misuse by a driver
# ----------------------------------------------------------------------------------------------------------------
def test_a_driver_must_report_a_poll_before_asking_again() -> None:
    m = machine()
    assert m.next_action(T0) == Poll()
    with pytest.raises(RuntimeError, match="outstanding"):
        m.next_action(T0)
    m.on_result(job("RUNNING"), T0)
    with pytest.raises(RuntimeError, match="without an outstanding poll"):
        m.on_result(job("RUNNING"), T0)
    with pytest.raises(RuntimeError, match="before any poll"):
        m.observe(job("RUNNING"), T0)
