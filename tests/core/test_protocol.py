"""The protocol core: headers, answers and typed errors, retry decisions (no I/O)."""

from __future__ import annotations

import email.utils
import json
import pickle
import time

import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st

from airflow_provider_dashscope import _config
from airflow_provider_dashscope._http import api_request, api_response, retry
from airflow_provider_dashscope.exceptions import (
    AuthenticationError,
    ConflictError,
    DashScopeAPIError,
    DashScopeConfigError,
    DashScopeError,
    DashScopeTimeoutError,
    DashScopeTransportError,
    InternalServerError,
    InvalidParameterError,
    InvalidResponseError,
    NotFoundError,
    PermissionDeniedError,
    ServiceUnavailableError,
    ThrottlingError,
    UnsupportedOperationError,
)
from airflow_provider_dashscope.models import FineTuneJob, FineTuneJobLogs, FineTuneJobPage
from airflow_provider_dashscope.resources import fine_tunes
from tests._client import KEY, make_config, parse


def test_headers_carry_bearer_key_accept_and_user_agent_without_workspace_or_content_type() -> None:
    headers = api_request.build_headers(
        make_config(), fine_tunes.get_job_request("ft-1"), "airflow-provider-dashscope/0.1.0"
    )
    assert headers == {
        "Authorization": f"Bearer {KEY}",
        "Accept": "application/json",
        "User-Agent": "airflow-provider-dashscope/0.1.0",
    }


def test_headers_add_workspace_when_set_and_content_type_only_with_a_body() -> None:
    config = make_config(extra={"workspace": "llm-abc"})
    create = fine_tunes.create_job_request(model="m", training_file_ids=["f"])
    headers = api_request.build_headers(config, create, "ua")
    assert headers["X-DashScope-WorkSpace"] == "llm-abc"
    assert headers["Content-Type"] == "application/json"
    cancel_headers = api_request.build_headers(config, fine_tunes.cancel_job_request("ft-1"), "ua")
    assert "Content-Type" not in cancel_headers
    assert cancel_headers["X-DashScope-WorkSpace"] == "llm-abc"


# ----------------------------------------------------------------------------------------------------------------
# Responses
# ----------------------------------------------------------------------------------------------------------------
def _body(**fields) -> bytes:
    return json.dumps(fields).encode()


def test_success_envelope_returns_output_and_request_id() -> None:
    output, request_id = parse(200, {}, _body(request_id="r-1", output={"job_id": "ft-1"}))
    assert output == {"job_id": "ft-1"}
    assert request_id == "r-1"


def test_success_request_id_falls_back_to_the_x_request_id_header() -> None:
    _, request_id = parse(200, {"x-request-id": "hdr-1"}, _body(output=True))
    assert request_id == "hdr-1"


@pytest.mark.parametrize(
    ("status", "code", "message", "cls"),
    [
        (400, "InvalidParameter", "Missing training files", InvalidParameterError),
        (
            400,
            "UnsupportedOperation",
            "The fine-tuning job cannot be canceled because it has already succeeded, failed, or been canceled.",
            UnsupportedOperationError,
        ),
        (401, "InvalidApiKey", "Invalid API-key provided.", AuthenticationError),
        (403, "AccessDenied", "Access denied.", PermissionDeniedError),
        (404, "NotFound", "Not Found!", NotFoundError),
        (409, "Conflict", "Model instance xxxxx already exists, please specify a suffix", ConflictError),
        (429, "Throttling", "Too many fine-tune job in running, please retry later.", ThrottlingError),
        (500, "InternalError", "Internal server error!", InternalServerError),
        (502, "BadGateway", "Bad gateway", ServiceUnavailableError),
        (503, "ServiceUnavailable", "Service unavailable", ServiceUnavailableError),
        (504, "GatewayTimeout", "Gateway timeout", ServiceUnavailableError),
    ],
)
def test_each_documented_error_row_maps_to_its_typed_error(status, code, message, cls) -> None:
    body = _body(code=code, request_id="BE213CDD-8A5C-59EE-9A67-055EAB0CB59B", message=message)
    with pytest.raises(cls) as info:
        parse(status, {"x-request-id": "header-id"}, body, job_id="ft-1")
    err = info.value
    assert type(err) is cls
    assert isinstance(err, DashScopeAPIError) and isinstance(err, DashScopeError)
    assert (err.status_code, err.code, err.message) == (status, code, message)
    assert err.request_id == "BE213CDD-8A5C-59EE-9A67-055EAB0CB59B"  # the body wins over the header
    assert (err.resource_id, err.resource_key) == ("ft-1", "job_id")
    text = str(err)
    for part in (f"HTTP {status}", code, message, "BE213CDD-8A5C-59EE-9A67-055EAB0CB59B", "ft-1"):
        assert part in text


@pytest.mark.parametrize("status", [200, 420])
def test_throttling_subcodes_on_unmapped_statuses_are_throttling(status: int) -> None:
    with pytest.raises(ThrottlingError) as info:
        parse(status, {}, _body(code="Throttling.RateQuota", message="slow down"))
    assert info.value.code == "Throttling.RateQuota"


def test_unknown_5xx_is_an_internal_server_error() -> None:
    with pytest.raises(InternalServerError) as info:
        parse(507, {}, _body(code="Storage", message="full"))
    assert info.value.status_code == 507


def test_html_502_from_a_gateway_gives_a_typed_error_with_status_and_short_excerpt() -> None:
    html = (
        "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>"
        + "<p>"
        + "padding " * 200
        + "</p></body></html>"
    ).encode()
    with pytest.raises(ServiceUnavailableError) as info:
        parse(502, {"x-request-id": "gw-7"}, html)
    err = info.value
    assert err.status_code == 502
    assert err.code is None
    assert err.request_id == "gw-7"
    assert "502 Bad Gateway" in err.message
    assert err.message.endswith("...")
    assert len(err.message) < 260
    assert "\r" not in err.message and "\n" not in err.message


def test_error_with_empty_body_says_so() -> None:
    with pytest.raises(ServiceUnavailableError, match="empty body"):
        parse(503, {}, b"")


def test_error_message_falls_back_to_msg_field() -> None:
    with pytest.raises(NotFoundError) as info:
        parse(404, {}, _body(code="NotFound", msg="gone"))
    assert info.value.message == "gone"


def test_error_request_id_falls_back_to_x_request_id_header() -> None:
    with pytest.raises(NotFoundError) as info:
        parse(404, {"x-request-id": "hdr-9"}, _body(code="NotFound", message="Not found!"))
    assert info.value.request_id == "hdr-9"
    assert "request_id=hdr-9" in str(info.value)


def test_retry_after_in_seconds_is_parsed() -> None:
    with pytest.raises(ThrottlingError) as info:
        parse(429, {"Retry-After": "7"}, _body(code="Throttling", message="slow"))
    assert info.value.retry_after == 7.0


def test_retry_after_as_http_date_is_parsed() -> None:
    when = email.utils.formatdate(time.time() + 120, usegmt=True)
    with pytest.raises(ServiceUnavailableError) as info:
        parse(503, {"Retry-After": when}, _body(code="ServiceUnavailable", message="busy"))
    assert 115 <= info.value.retry_after <= 121


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", 0.0),
        ("2.5", 2.5),
        ("-3", 0.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 10.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("inf", None),
        ("nan", None),
    ],
)
def test_parse_retry_after(value, expected) -> None:
    now = email.utils.parsedate_to_datetime("Wed, 21 Oct 2015 07:27:50 GMT").timestamp()
    assert api_response.parse_retry_after(value, now=now) == expected


def test_200_without_output_is_an_invalid_response() -> None:
    with pytest.raises(InvalidResponseError) as info:
        parse(200, {}, _body(request_id="r-2"))
    assert info.value.status_code == 200
    assert info.value.request_id == "r-2"
    assert "output" in str(info.value)


@pytest.mark.parametrize("body", [b"<html>ok</html>", b"", b"\xff\xfe\x00garbage", b'{"output": '])
def test_200_that_is_not_json_is_an_invalid_response_with_an_excerpt(body: bytes) -> None:
    with pytest.raises(InvalidResponseError) as info:
        parse(200, {"x-request-id": "h-1"}, body)
    assert info.value.request_id == "h-1"
    assert "not JSON" in str(info.value)


@pytest.mark.parametrize("body", [b"[1, 2]", b'"text"', b"42", b"null"])
def test_200_with_a_json_value_that_is_not_an_object_is_an_invalid_response(body: bytes) -> None:
    with pytest.raises(InvalidResponseError):
        parse(200, {}, body)


def test_200_with_a_top_level_error_code_is_an_error_not_a_success() -> None:
    body = _body(request_id="r-3", code="NotFound", message="Not Found!")
    with pytest.raises(DashScopeAPIError) as info:
        parse(200, {}, body)
    assert info.value.code == "NotFound"
    assert info.value.message == "Not Found!"
    assert info.value.request_id == "r-3"


def test_200_with_a_top_level_unsupported_operation_code_is_typed() -> None:
    with pytest.raises(UnsupportedOperationError):
        parse(200, {}, _body(code="UnsupportedOperation", message="no", output=None))


@pytest.mark.parametrize("code", [None, "", "200", 200])
def test_200_with_a_benign_code_is_a_success(code) -> None:
    output, _ = parse(200, {}, _body(code=code, output={"status": "success"}))
    assert output == {"status": "success"}


def test_deeply_nested_json_does_not_crash_the_parser() -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(InvalidResponseError):
        parse(200, {}, body)
    with pytest.raises(ServiceUnavailableError):
        parse(503, {}, body)


def test_api_errors_survive_pickling_with_every_field() -> None:
    err = ThrottlingError(
        "slow",
        status_code=429,
        code="Throttling",
        request_id="r",
        retry_after=3.0,
        resource_id="ft-1",
        resource_key="job_id",
    )
    clone = pickle.loads(pickle.dumps(err))
    assert type(clone) is ThrottlingError
    assert (clone.status_code, clone.code, clone.message, clone.request_id, clone.retry_after, clone.job_id) == (
        429,
        "Throttling",
        "slow",
        "r",
        3.0,
        "ft-1",
    )
    assert str(clone) == str(err)


def test_describe_failure_is_short_and_names_status_code_and_request_id() -> None:
    err = ServiceUnavailableError("busy", status_code=503, code="ServiceUnavailable", request_id="r-5")
    assert retry.describe_failure(err) == "HTTP 503 ServiceUnavailable request_id=r-5"
    assert retry.describe_failure(InternalServerError("x", status_code=500)) == "HTTP 500 request_id=unknown"


# ----------------------------------------------------------------------------------------------------------------
# Retry decisions
# ----------------------------------------------------------------------------------------------------------------
POLICY = _config.RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=30.0)


def _api_error(status: int, retry_after: float | None = None) -> DashScopeAPIError:
    return api_response.error_class(status, None)("x", status_code=status, retry_after=retry_after)


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_retryable_statuses_are_retried(status: int) -> None:
    err = _api_error(status)
    assert retry.is_transient(err)
    assert retry.retry_delay(err, 1, POLICY, rand=lambda: 0.0) == 0.5


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409])
def test_client_errors_are_never_retried(status: int) -> None:
    err = _api_error(status)
    assert not retry.is_transient(err)
    assert retry.retry_delay(err, 1, POLICY) is None
    assert retry.retry_delay(err, 1, POLICY, idempotent=False) is None


def test_a_request_timeout_is_not_retried_for_a_create() -> None:
    assert retry.retry_delay(_api_error(408), 1, POLICY, idempotent=False) is None


def test_unsupported_operation_is_never_retried() -> None:
    err = UnsupportedOperationError("no", status_code=400, code="UnsupportedOperation")
    assert retry.retry_delay(err, 1, POLICY) is None


def test_transport_failures_are_retried_for_idempotent_requests() -> None:
    for err in (
        DashScopeTransportError("refused", connect_failed=True),
        DashScopeTimeoutError("read timeout"),
        DashScopeTransportError("reset"),
    ):
        assert retry.retry_delay(err, 1, POLICY, rand=lambda: 0.0) == 0.5


def test_non_idempotent_create_is_retried_only_on_connect_failure_and_429() -> None:
    assert retry.retry_delay(DashScopeTransportError("refused", connect_failed=True), 1, POLICY, idempotent=False)
    assert retry.retry_delay(_api_error(429), 1, POLICY, idempotent=False)
    for err in (
        DashScopeTimeoutError("read timeout"),
        DashScopeTransportError("reset"),
        _api_error(500),
        _api_error(502),
        _api_error(503),
        _api_error(504),
        InvalidResponseError("bad", status_code=200),
    ):
        assert retry.retry_delay(err, 1, POLICY, idempotent=False) is None, err


def test_invalid_2xx_response_is_retried_only_when_idempotent() -> None:
    err = InvalidResponseError("bad", status_code=200)
    assert retry.is_transient(err) and not retry.is_transient(err, idempotent=False)


def test_non_dashscope_errors_are_not_retried() -> None:
    assert retry.retry_delay(RuntimeError("bug"), 1, POLICY) is None
    assert retry.retry_delay(DashScopeConfigError("bad id"), 1, POLICY) is None


def test_retry_budget_counts_the_first_attempt() -> None:
    err = _api_error(503)
    assert [retry.retry_delay(err, attempt, POLICY) is not None for attempt in (1, 2, 3, 4, 5)] == [
        True,
        True,
        True,
        False,
        False,
    ]
    assert retry.retry_delay(err, 1, _config.RetryPolicy(max_attempts=1)) is None


def test_backoff_doubles_and_is_capped() -> None:
    err = _api_error(503)
    policy = _config.RetryPolicy(max_attempts=20, base_delay=1.0, max_delay=10.0)
    top = [retry.retry_delay(err, attempt, policy, rand=lambda: 1.0) for attempt in range(1, 8)]
    assert top == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0]


@pytest.mark.parametrize("attempt", [1, 2, 3, 6])
def test_jitter_stays_between_half_and_full_backoff(attempt: int) -> None:
    err = _api_error(500)
    policy = _config.RetryPolicy(max_attempts=10, base_delay=0.5, max_delay=5.0)
    backoff = min(5.0, 0.5 * 2 ** (attempt - 1))
    low = retry.retry_delay(err, attempt, policy, rand=lambda: 0.0)
    high = retry.retry_delay(err, attempt, policy, rand=lambda: 0.999999)
    mid = retry.retry_delay(err, attempt, policy, rand=lambda: 0.5)
    assert low == pytest.approx(backoff / 2)
    assert high == pytest.approx(backoff, rel=1e-5)
    assert low < mid < high
    for _ in range(50):  # the default random source stays inside the same bounds
        assert backoff / 2 <= retry.retry_delay(err, attempt, policy) <= backoff


def test_retry_after_replaces_backoff_and_is_capped() -> None:
    assert retry.retry_delay(_api_error(429, retry_after=7.0), 1, POLICY, rand=lambda: 0.0) == 7.0
    assert retry.retry_delay(_api_error(503, retry_after=0.0), 3, POLICY, rand=lambda: 0.9) == 0.0
    assert retry.retry_delay(_api_error(429, retry_after=3600.0), 1, POLICY) == 30.0
    assert retry.retry_delay(_api_error(404, retry_after=1.0), 1, POLICY) is None


# ----------------------------------------------------------------------------------------------------------------
# Property: whatever JSON the API sends, only DashScopeError subclasses come out
# ----------------------------------------------------------------------------------------------------------------
JOB_FIELDS = (
    "job_name", "finetuned_output", "model", "base_model", "training_file_ids", "validation_file_ids",
    "hyper_parameters", "training_type", "create_time", "end_time", "workspace_id", "user_identity", "modifier",
    "creator", "group", "usage", "output_cnt", "max_output_cnt", "code", "message",
)  # fmt: skip
INT_FIELDS = ("usage", "output_cnt", "max_output_cnt", "total", "page_no", "page_size")


def _json(leaves: st.SearchStrategy) -> st.SearchStrategy:
    return st.recursive(
        leaves,
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
        max_leaves=12,
    )


SCALARS_WITHOUT_TEXT = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True)
ANY_JSON = _json(SCALARS_WITHOUT_TEXT | st.text(max_size=30))
TIME_TEXT = st.sampled_from(["2024-10-29 16:53:53", "2024-10-29T16:53:53+00:00", "2024-13-45 99:99:99", "P1D", "12:00"])


# Numeric-looking text that str.isdigit() accepts but int() may not (superscripts, doubled signs).
INT_VALUES = ANY_JSON | st.from_regex(r"\A\s?-{0,2}[0-9\u00b2\u00b3\u00b9\u0661]{1,4}-?\s?\Z")


def _job_outputs() -> st.SearchStrategy:
    field_values = ANY_JSON | TIME_TEXT | st.sampled_from(["RUNNING", "SUCCEEDED", "NEW_STATUS"])
    job = st.fixed_dictionaries(
        {"job_id": st.text(min_size=1, max_size=20) | ANY_JSON, "status": st.text(max_size=12) | ANY_JSON},
        optional={
            **dict.fromkeys(JOB_FIELDS, field_values),
            **dict.fromkeys(INT_FIELDS, INT_VALUES),
            "logs": ANY_JSON,
            "jobs": st.lists(
                st.fixed_dictionaries(
                    {"job_id": st.text(min_size=1, max_size=8), "status": st.text(max_size=8)},
                    optional={"usage": INT_VALUES, "create_time": TIME_TEXT | ANY_JSON},
                )
                | ANY_JSON,
                max_size=3,
            ),
        },
    )
    return job | ANY_JSON


STATUSES = st.sampled_from([200, 201, 204, 302, 400, 401, 403, 404, 409, 429, 500, 502, 503, 504, 599])
HEADERS = st.fixed_dictionaries(
    {}, optional={"x-request-id": st.text(max_size=20), "Retry-After": st.text(max_size=30) | st.just("3")}
)
# Half the cases are well-formed successes, so the models see many outputs; the rest is anything at all.
SUCCESS_CASES = st.tuples(
    st.just(200), HEADERS, st.fixed_dictionaries({"output": _job_outputs()}, optional={"request_id": ANY_JSON})
)
ANY_CASES = st.tuples(
    STATUSES,
    HEADERS,
    st.fixed_dictionaries(
        {"output": _job_outputs()},
        optional={
            "request_id": ANY_JSON,
            "code": ANY_JSON | st.sampled_from(["NotFound", "Throttling", "200"]),
            "message": ANY_JSON,
        },
    )
    | ANY_JSON,
)


def _through_parser_and_models(status: int, headers: dict, body: bytes) -> None:
    try:
        output, request_id = parse(status, headers, body, job_id="ft-1")
    except DashScopeError:
        return
    builders = [
        lambda: FineTuneJob.from_api(output, request_id),
        lambda: FineTuneJob.from_api(output, request_id, time_zone="UTC"),
        lambda: FineTuneJobPage.from_api(output, request_id),
        lambda: FineTuneJobLogs.from_api(output, request_id),
    ]
    for build in builders:
        try:
            result = build()
        except DashScopeError:
            continue
        if isinstance(result, FineTuneJob):
            json.dumps(result.summary())


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example((200, {}, {"output": {"job_id": "ft-1", "status": "RUNNING", "usage": "\u00b2"}}))  # once a ValueError
@example((200, {}, {"output": {"jobs": [{"job_id": "ft-1", "status": "RUNNING", "usage": "--5"}]}}))
@given(case=SUCCESS_CASES | ANY_CASES)
def test_any_json_response_raises_only_dashscope_errors(case) -> None:
    status, headers, document = case
    _through_parser_and_models(status, headers, json.dumps(document).encode())


@settings(max_examples=200, deadline=None)
@given(status=STATUSES, headers=HEADERS, raw=st.binary(max_size=200))
def test_any_bytes_response_raises_only_dashscope_errors(status: int, headers: dict, raw: bytes) -> None:
    _through_parser_and_models(status, headers, raw)
