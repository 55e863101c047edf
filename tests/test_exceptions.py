"""Every exception survives a pickle round trip with its fields (Airflow pickles errors across processes)."""

from __future__ import annotations

import inspect
import pickle
import warnings

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
    if issubclass(cls, exceptions.ResourceNotFoundError):
        return cls("ft-1 was not found", resource_id="ft-1", status="RUNNING", request_id="req-9", code="NotFound")
    if issubclass(cls, exceptions.ResourceWaitError):
        return cls("wait ended", resource_id="ft-1", status="FAILED")
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
    if issubclass(cls, exceptions.TrainingFileError):
        return cls("training file t.jsonl, line 3: is blank", path="t.jsonl", line_number=3)
    if issubclass(cls, exceptions.QualityGateError):
        return cls("gate", job_id="ft-1", checkpoint="checkpoint-2", metric="eval_loss", value=0.9, threshold=0.5)
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


def test_a_timeout_is_a_transport_error_of_its_own_class() -> None:
    assert issubclass(DashScopeTimeoutError, DashScopeTransportError)
    assert DashScopeTimeoutError("slow").timeout is True
    assert DashScopeTransportError("reset").timeout is False


def test_job_endings_fail_without_retries_and_timeouts_may_be_retried() -> None:
    assert issubclass(exceptions.FineTuneJobFailedError, AirflowFailException)
    assert issubclass(exceptions.FineTuneJobNotFoundError, AirflowFailException)
    assert not issubclass(FineTuneJobTimeoutError, AirflowFailException)
    assert not issubclass(FineTuneJobTimeoutError, FineTuneJobError)  # ``except FineTuneJobError`` means "final"


# ----------------------------------------------------------------------------------------------------------------
# The generic API error speaks of a resource id; job_id is a deprecated alias
# ----------------------------------------------------------------------------------------------------------------
def test_job_id_of_an_api_error_is_a_deprecated_alias_of_resource_id() -> None:
    about_a_job = example(exceptions.NotFoundError)
    with pytest.deprecated_call(match="use resource_id"):
        assert about_a_job.job_id == "ft-1"
    about_a_file = DashScopeAPIError("gone", status_code=404, resource_id="file-1", resource_key="file_id")
    with pytest.deprecated_call():
        assert about_a_file.job_id is None
    assert about_a_file.resource_id == "file-1"


def test_the_job_id_keyword_is_still_accepted_with_a_deprecation_warning() -> None:
    with pytest.deprecated_call(match="use resource_id"):
        error = exceptions.NotFoundError("Not found!", status_code=404, job_id="ft-2")
    assert (error.resource_id, error.resource_key) == ("ft-2", "job_id")
    assert str(error) == "HTTP 404: Not found! (job_id=ft-2) (request_id=unknown)"


# ----------------------------------------------------------------------------------------------------------------
# 403 is not 401
# ----------------------------------------------------------------------------------------------------------------
def test_a_403_is_permission_denied_distinct_from_a_bad_key_yet_caught_as_before() -> None:
    from airflow_provider_dashscope._http.api_response import error_class

    assert error_class(401, None) is exceptions.AuthenticationError
    assert error_class(401, "InvalidApiKey") is exceptions.AuthenticationError
    assert error_class(403, None) is exceptions.PermissionDeniedError
    assert error_class(403, "AccessDenied") is exceptions.PermissionDeniedError
    assert error_class(403, "AccessDenied.Unpurchased") is exceptions.PermissionDeniedError
    assert not issubclass(exceptions.AuthenticationError, exceptions.PermissionDeniedError)
    # ``except AuthenticationError`` written when 403 raised it still catches a 403.
    assert issubclass(exceptions.PermissionDeniedError, exceptions.AuthenticationError)


# ----------------------------------------------------------------------------------------------------------------
# One family for a wait on a resource that ended badly
# ----------------------------------------------------------------------------------------------------------------
ENDINGS = {
    "failed": exceptions.ResourceFailedError,
    "cancelled": exceptions.ResourceCancelledError,
    "not_found": exceptions.ResourceNotFoundError,
    "timed_out": exceptions.ResourceWaitTimeoutError,
}
KIND_BASES = {
    "Fine-tune job": FineTuneJobError,
    "Deployment": exceptions.DeploymentError,
    "Checkpoint export": exceptions.CheckpointExportError,
}


def test_every_class_of_the_family_is_in_the_one_table() -> None:
    in_table = {cls for row in exceptions.WAIT_ERRORS.values() for cls in row}
    generic = {exceptions.ResourceWaitError, *ENDINGS.values(), *KIND_BASES.values()}
    family = {cls for cls in CLASSES if issubclass(cls, exceptions.ResourceWaitError)}
    assert family - generic == in_table
    assert set(exceptions.WAIT_ERRORS) == set(KIND_BASES)


@pytest.mark.parametrize("kind", sorted(exceptions.WAIT_ERRORS))
def test_each_row_of_the_table_gives_its_kind_a_class_per_bad_end(kind: str) -> None:
    row = exceptions.WAIT_ERRORS[kind]
    for ending, cls in row._asdict().items():
        assert cls.resource.name == kind
        if kind == "Deployment" and ending == "cancelled":
            assert cls is exceptions.DeploymentFailedError  # a deployment is never cancelled
            continue
        if kind == "Checkpoint export" and ending == "cancelled":
            assert cls is exceptions.CheckpointExportFailedError  # nor is an export
            continue
        assert issubclass(cls, ENDINGS[ending])
        final = ending != "timed_out"
        assert issubclass(cls, AirflowFailException) is final  # Airflow retries only a timed-out wait
        assert issubclass(cls, KIND_BASES[kind]) is final


@pytest.mark.parametrize("cls", [row.not_found for row in exceptions.WAIT_ERRORS.values()], ids=str)
def test_one_except_not_found_error_catches_a_missing_resource_wherever_it_is_raised(cls) -> None:
    from airflow_provider_dashscope._http.api_response import error_class

    from_the_hook = error_class(404, "NotFound")("Not found!", status_code=404, code="NotFound", resource_id="x-1")
    from_a_wait = cls.about("x-1", "req-404")
    for error in (from_the_hook, from_a_wait):
        try:
            raise error
        except exceptions.NotFoundError as caught:
            assert caught.status_code == 404 and caught.resource_id == "x-1"
    assert from_a_wait.request_id == "req-404" and from_a_wait.kind == cls.resource.name
    assert str(from_a_wait).startswith(f"{cls.resource.name} x-1 was not found (HTTP 404, request_id=req-404); check")


def test_the_family_carries_kind_resource_id_and_status_under_old_names_too() -> None:
    job = exceptions.FineTuneJobFailedError("job ended", job_id="ft-1", job_status="FAILED")
    assert (job.kind, job.resource_id, job.status) == ("Fine-tune job", "ft-1", "FAILED")
    assert (job.job_id, job.job_status) == ("ft-1", "FAILED")
    same = exceptions.FineTuneJobFailedError("job ended", resource_id="ft-1", status="FAILED")
    assert vars(same) == vars(job)
    deployment = exceptions.DeploymentTimeoutError("slow", deployed_model="qwen3-ft", deployment_status="DEPLOYING")
    assert (deployment.kind, deployment.deployed_model, deployment.deployment_status) == (
        "Deployment",
        "qwen3-ft",
        "DEPLOYING",
    )
    not_found = exceptions.FineTuneJobNotFoundError.about("ft-9", None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a fine-tune job error's job_id is its own name, not the deprecated alias
        assert not_found.job_id == "ft-9" and "request_id=unknown" in str(not_found)
    clone = pickle.loads(pickle.dumps(not_found))
    assert (clone.job_id, clone.status_code, str(clone)) == ("ft-9", 404, str(not_found))


def test_a_family_class_refuses_what_it_does_not_know() -> None:
    with pytest.raises(TypeError, match="deployed_model"):
        exceptions.FineTuneJobFailedError("x", deployed_model="d")
    with pytest.raises(TypeError, match="needs the job_id"):
        exceptions.FineTuneJobFailedError("x")
