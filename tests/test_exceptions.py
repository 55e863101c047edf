"""Every exception survives a pickle round trip with its fields (Airflow pickles errors across processes)."""

from __future__ import annotations

import inspect
import pickle

import pytest
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException

from airflow_provider_dashscope import exceptions
from airflow_provider_dashscope.exceptions import (
    DashScopeAPIError,
    DashScopeError,
    DashScopeTimeoutError,
    DashScopeTransportError,
    FineTuneJobError,
    FineTuneJobTimeoutError,
)

CLASSES = sorted(
    (cls for _, cls in inspect.getmembers(exceptions, inspect.isclass) if issubclass(cls, DashScopeError)),
    key=lambda cls: cls.__name__,
)


def example(cls: type[DashScopeError]) -> DashScopeError:
    """An instance with every field set to a recognisable value."""
    if issubclass(cls, DashScopeAPIError):
        return cls(
            "Not found!",
            status_code=404,
            code="NotFound",
            request_id="req-7",
            retry_after=2.5,
            resource_id="ft-1",
            resource_key="job_id",
        )
    if issubclass(cls, DashScopeTransportError):
        return cls(
            "GET /x timed out", method="GET", url="http://127.0.0.1/api/v1/x", connect_failed=True, request_id="req-8"
        )
    if issubclass(cls, (FineTuneJobError, FineTuneJobTimeoutError)):
        return cls("job ended", job_id="ft-1", job_status="FAILED")
    if issubclass(cls, (exceptions.DeploymentError, exceptions.DeploymentTimeoutError)):
        return cls("deployment ended", deployed_model="qwen3-14b-ft-1", deployment_status="FAILED")
    if issubclass(cls, exceptions.TrainingFileError):
        return cls("training file t.jsonl, line 3: is blank", path="t.jsonl", line_number=3)
    return cls("plain message")


def test_the_list_covers_every_exception_class() -> None:
    assert len(CLASSES) >= 20 and DashScopeError in CLASSES and DashScopeTimeoutError in CLASSES


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__name__)
def test_every_exception_survives_pickle_with_its_fields(cls: type[DashScopeError]) -> None:
    error = example(cls)
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is cls
    assert str(clone) == str(error) and clone.args == error.args
    assert vars(clone) == vars(error)
    assert isinstance(clone, AirflowException)


def test_api_errors_quote_the_request_id_one_way() -> None:
    api = example(exceptions.NotFoundError)
    transport = example(DashScopeTimeoutError)
    assert str(api).endswith("(request_id=req-7)") and "(job_id=ft-1)" in str(api)
    assert str(transport).endswith("(request_id=req-8)")
    assert str(exceptions.InternalServerError("boom", status_code=500)).endswith("(request_id=unknown)")
    assert api.job_id == "ft-1"


def test_a_timeout_is_a_transport_error_of_its_own_class() -> None:
    assert issubclass(DashScopeTimeoutError, DashScopeTransportError)
    assert DashScopeTimeoutError("slow").timeout is True
    assert DashScopeTransportError("reset").timeout is False


def test_job_endings_fail_without_retries_and_timeouts_may_be_retried() -> None:
    assert issubclass(exceptions.FineTuneJobFailedError, AirflowFailException)
    assert issubclass(exceptions.FineTuneJobNotFoundError, AirflowFailException)
    assert not issubclass(FineTuneJobTimeoutError, AirflowFailException)
