"""A failed poll, classified with no I/O: gone, tolerated (with its delay) or fatal."""

from __future__ import annotations

import pytest

from airflow_provider_dashscope.exceptions import (
    AuthenticationError,
    DashScopeAPIError,
    DashScopeConfigError,
    DashScopeTimeoutError,
    DashScopeTLSError,
    DashScopeTransportError,
    FineTuneJobNotFoundError,
    InvalidParameterError,
    InvalidResponseError,
    NotFoundError,
    PermissionDeniedError,
    ResponseTooLargeError,
    ServiceUnavailableError,
    ThrottlingError,
)
from airflow_provider_dashscope.wait.failures import Fatal, Gone, Tolerated, classify


def http_status(error: BaseException) -> int | None:
    """The status of an API's answer; a transport error has none (AirflowException's class-level 500 is not one)."""
    return error.status_code if isinstance(error, DashScopeAPIError) else None


NOT_FOUND = NotFoundError("Not found!", status_code=404, code="NotFound", request_id="r-404")


def test_a_404_is_gone_only_for_a_wait_on_the_resource_going() -> None:
    assert classify(NOT_FOUND, gone_ends=True) == Gone("r-404")
    assert classify(NOT_FOUND, gone_ends=False) == Fatal(str(NOT_FOUND), 404, "r-404")
    wait_404 = FineTuneJobNotFoundError.about("ft-1", "r-1")  # a NotFoundError too
    assert classify(wait_404, gone_ends=True) == Gone("r-1")


@pytest.mark.parametrize(
    "error",
    [
        ServiceUnavailableError("busy", status_code=503, request_id="r-503", retry_after=4.0),
        ThrottlingError("slow", status_code=429, code="Throttling.RateQuota"),
        DashScopeTransportError("reset", request_id="r-t"),
        DashScopeTimeoutError("read timed out"),
        InvalidResponseError("not JSON", status_code=200),
    ],
    ids=["503", "429", "reset", "timeout", "bad-200"],
)
def test_a_transient_failure_is_tolerated_and_knows_how_it_ends_when_the_budget_is_spent(error) -> None:
    failure = classify(error, gone_ends=True)
    assert isinstance(failure, Tolerated)
    assert failure.retry_after == getattr(error, "retry_after", None)
    assert failure.exhausted == Fatal(str(error), http_status(error), error.request_id)
    assert not failure.exhausted.unexpected


@pytest.mark.parametrize(
    "error",
    [
        AuthenticationError("bad key", status_code=401, code="InvalidApiKey"),
        PermissionDeniedError("denied", status_code=403, code="AccessDenied", request_id="r-403"),
        InvalidParameterError("bad", status_code=400),
        ResponseTooLargeError("too big"),
        DashScopeTLSError("untrusted"),
        DashScopeConfigError("connection 'x' does not exist"),
    ],
    ids=["401", "403", "400", "too-large", "tls", "config"],
)
def test_an_answer_no_other_poll_can_change_is_fatal(error) -> None:
    failure = classify(error, gone_ends=True)
    assert failure == Fatal(str(error), http_status(error), getattr(error, "request_id", None))


def test_a_bug_is_fatal_and_unexpected() -> None:
    assert classify(KeyError("status"), gone_ends=False) == Fatal("KeyError: 'status'", None, None, unexpected=True)


@pytest.mark.parametrize(
    ("retry_after", "cap", "delay"),
    [
        (None, None, 10.0),
        (None, 1.0, 10.0),
        (3.0, None, 10.0),
        (30.0, None, 30.0),
        (30.0, 20.0, 20.0),
        (30.0, 5.0, 10.0),
    ],
)
def test_a_tolerated_failure_delays_the_next_poll_by_the_interval_or_the_capped_retry_after(
    retry_after, cap, delay
) -> None:
    assert Tolerated(retry_after, Fatal("x")).delay(10.0, cap) == delay
