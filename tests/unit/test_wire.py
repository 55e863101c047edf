"""The sans-I/O wire core: configuration, request building, response parsing, error mapping and retry decisions."""

from __future__ import annotations

import email.utils
import json
import pickle
import time

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from airflow_provider_dashscope import _wire as wire
from airflow_provider_dashscope.exceptions import (
    AuthenticationError,
    ConflictError,
    DashScopeAPIError,
    DashScopeConfigError,
    DashScopeError,
    DashScopeTransportError,
    InternalServerError,
    InvalidParameterError,
    InvalidResponseError,
    NotFoundError,
    ServiceUnavailableError,
    ThrottlingError,
    UnsupportedOperationError,
)
from airflow_provider_dashscope.models import FineTuneJob, FineTuneJobLogs, FineTuneJobPage

KEY = "sk-SECRET-canary-1234"


def _config(**kwargs) -> wire.ClientConfig:
    kwargs.setdefault("api_key", KEY)
    return wire.build_config(source="connection 'ds'", key_field="its password field", **kwargs)


# ----------------------------------------------------------------------------------------------------------------
# Base URL normalisation
# ----------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("given_host", "expected"),
    [
        ("dashscope.aliyuncs.com", "https://dashscope.aliyuncs.com/api/v1"),
        ("dashscope-intl.aliyuncs.com", "https://dashscope-intl.aliyuncs.com/api/v1"),
        ("  dashscope.aliyuncs.com  ", "https://dashscope.aliyuncs.com/api/v1"),
        ("https://dashscope.aliyuncs.com", "https://dashscope.aliyuncs.com/api/v1"),
        ("https://dashscope.aliyuncs.com/", "https://dashscope.aliyuncs.com/api/v1"),
        ("https://dashscope.aliyuncs.com/api/v1/", "https://dashscope.aliyuncs.com/api/v1"),
        ("HTTPS://DashScope.Aliyuncs.com/api/v1", "https://dashscope.aliyuncs.com/api/v1"),
        ("https://gw.example.com:8443/custom/prefix/", "https://gw.example.com:8443/custom/prefix"),
        ("127.0.0.1", "http://127.0.0.1/api/v1"),
        ("127.0.0.1:8080", "http://127.0.0.1:8080/api/v1"),
        ("localhost:9000", "http://localhost:9000/api/v1"),
        ("[::1]:9000", "http://[::1]:9000/api/v1"),
        ("http://127.0.0.1:8080/api/v1", "http://127.0.0.1:8080/api/v1"),
        ("http://localhost/api/v1/", "http://localhost/api/v1"),
        ("https://127.0.0.1:8443", "https://127.0.0.1:8443/api/v1"),
    ],
)
def test_normalize_base_url_accepts_and_normalises(given_host: str, expected: str) -> None:
    assert wire.normalize_base_url(given_host) == expected


def test_normalize_base_url_takes_the_connection_port_when_the_url_has_none() -> None:
    assert wire.normalize_base_url("dashscope.aliyuncs.com", port=8443) == "https://dashscope.aliyuncs.com:8443/api/v1"
    assert wire.normalize_base_url("https://x.example.com:9443", port=8443) == "https://x.example.com:9443/api/v1"


@pytest.mark.parametrize("host", ["http://dashscope.aliyuncs.com", "http://10.0.0.5:8080/api/v1", "http://example.com"])
def test_normalize_base_url_refuses_plain_http_to_a_non_loopback_host(host: str) -> None:
    with pytest.raises(DashScopeConfigError) as info:
        wire.normalize_base_url(host, field_name="connection 'ds' host")
    text = str(info.value)
    assert "connection 'ds' host" in text
    assert "https://" in text
    assert "unencrypted" in text


@pytest.mark.parametrize(
    ("host", "fragment"),
    [
        ("https://user:pw@dashscope.aliyuncs.com", "credentials"),
        ("https://dashscope.aliyuncs.com/api/v1?key=1", "query"),
        ("https://dashscope.aliyuncs.com/api/v1#x", "fragment"),
        ("ftp://dashscope.aliyuncs.com", "https://"),
        ("https://dashscope.aliyuncs.com:99999", "not a valid URL"),
        ("https://", "no host"),
        ("", "empty"),
        ("   ", "empty"),
    ],
)
def test_normalize_base_url_refuses_unusable_urls_naming_the_field(host: str, fragment: str) -> None:
    with pytest.raises(DashScopeConfigError) as info:
        wire.normalize_base_url(host, field_name="connection 'ds' host")
    assert fragment in str(info.value)
    assert "connection 'ds' host" in str(info.value)


def test_normalize_base_url_error_never_repeats_credentials_embedded_in_the_url() -> None:
    with pytest.raises(DashScopeConfigError) as info:
        wire.normalize_base_url(f"https://user:{KEY}@dashscope.aliyuncs.com")
    assert KEY not in str(info.value)


@pytest.mark.parametrize("host", [f"https://user:{KEY}@dashscope.aliyuncs.com:bad", f"ftp://user:{KEY}@example.com"])
def test_normalize_base_url_error_hides_credentials_even_when_the_url_is_also_malformed(host: str) -> None:
    with pytest.raises(DashScopeConfigError) as info:
        wire.normalize_base_url(host)
    assert KEY not in str(info.value)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "localhost", "api.localhost", "::1", "[::1]"])
def test_loopback_hosts_are_recognised(host: str) -> None:
    assert wire.is_loopback_host(host)


@pytest.mark.parametrize("host", ["", None, "10.0.0.1", "example.com", "localhost.example.com", "128.0.0.1"])
def test_non_loopback_hosts_are_not_loopback(host) -> None:
    assert not wire.is_loopback_host(host)


# ----------------------------------------------------------------------------------------------------------------
# Regions and build_config
# ----------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("region", "base_url"),
    [
        ("ap-southeast-1", "https://dashscope-intl.aliyuncs.com/api/v1"),
        ("cn-beijing", "https://dashscope.aliyuncs.com/api/v1"),
        ("cn-hongkong", "https://cn-hongkong.dashscope.aliyuncs.com/api/v1"),
        ("us-east-1", "https://dashscope-us.aliyuncs.com/api/v1"),
        (" CN-Beijing ", "https://dashscope.aliyuncs.com/api/v1"),
    ],
)
def test_region_extra_selects_the_documented_host(region: str, base_url: str) -> None:
    config = _config(extra={"region": region})
    assert config.base_url == base_url
    assert config.region == region.strip().lower()


def test_unknown_region_error_lists_every_known_region() -> None:
    with pytest.raises(DashScopeConfigError) as info:
        _config(extra={"region": "eu-mars-1"})
    text = str(info.value)
    assert "'eu-mars-1'" in text
    for known in ("ap-southeast-1", "cn-beijing", "cn-hongkong", "us-east-1"):
        assert known in text


def test_host_wins_over_region_and_default_is_the_international_endpoint() -> None:
    assert _config(host="127.0.0.1:1234", extra={"region": "cn-beijing"}).base_url == "http://127.0.0.1:1234/api/v1"
    assert _config().base_url == "https://dashscope-intl.aliyuncs.com/api/v1" == wire.DEFAULT_BASE_URL


def test_build_config_defaults() -> None:
    config = _config()
    assert config.api_key == KEY
    assert config.workspace is None
    assert config.connect_timeout == 10.0
    assert config.read_timeout == 60.0
    assert config.retry == wire.RetryPolicy(max_attempts=5, base_delay=1.0, max_delay=30.0)
    assert config.time_zone == "Asia/Shanghai"
    assert config.origin == "https://dashscope-intl.aliyuncs.com"


def test_build_config_reads_every_extra() -> None:
    config = _config(
        extra={
            "workspace": "llm-abc",
            "timeout": "12.5",
            "connect_timeout": 3,
            "max_retries": "2",
            "retry_base_delay": 0.25,
            "retry_max_delay": 4,
            "time_zone": "UTC",
        }
    )
    assert config.workspace == "llm-abc"
    assert config.read_timeout == 12.5
    assert config.connect_timeout == 3.0
    assert config.retry == wire.RetryPolicy(max_attempts=3, base_delay=0.25, max_delay=4.0)
    assert config.time_zone == "UTC"


def test_max_retries_zero_means_a_single_attempt() -> None:
    assert _config(extra={"max_retries": 0}).retry.max_attempts == 1


@pytest.mark.parametrize("api_key", [None, "", "   "])
def test_missing_api_key_names_the_source_and_the_field(api_key) -> None:
    with pytest.raises(DashScopeConfigError) as info:
        wire.build_config(api_key=api_key, source="connection 'my_ds'", key_field="its password field")
    assert "connection 'my_ds'" in str(info.value)
    assert "password" in str(info.value)


def test_api_key_is_stripped_and_never_in_the_config_repr() -> None:
    config = _config(api_key=f"  {KEY}\n")
    assert config.api_key == KEY
    assert KEY not in repr(config)


@pytest.mark.parametrize(
    ("extra", "fragments"),
    [
        ({"timeout": "soon"}, ["'timeout'", "'soon'"]),
        ({"timeout": 0}, ["'timeout'", "0"]),
        ({"timeout": -5}, ["'timeout'", "-5"]),
        ({"timeout": float("inf")}, ["'timeout'"]),
        ({"connect_timeout": "x"}, ["'connect_timeout'"]),
        ({"max_retries": "many"}, ["'max_retries'", "'many'", "integer"]),
        ({"max_retries": -1}, ["'max_retries'", "-1", ">= 0"]),
        ({"max_retries": 2.5}, ["'max_retries'", "2.5"]),
        ({"retry_base_delay": -1}, ["'retry_base_delay'"]),
        ({"retry_max_delay": "never"}, ["'retry_max_delay'"]),
        ({"workspace": 123}, ["'workspace'", "string", "123"]),
        ({"workspace": "llm abc"}, ["'workspace'", "whitespace"]),
        ({"time_zone": "Mars/Olympus_Mons"}, ["'time_zone'", "Mars/Olympus_Mons", "IANA"]),
        ({"region": 7}, ["region", "7"]),
    ],
)
def test_bad_extras_are_refused_with_a_clear_message(extra: dict, fragments: list[str]) -> None:
    with pytest.raises(DashScopeConfigError) as info:
        _config(extra=extra)
    assert isinstance(info.value, ValueError)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_host_errors_name_the_connection_host_field() -> None:
    with pytest.raises(DashScopeConfigError) as info:
        _config(host="http://dashscope.aliyuncs.com")
    assert "connection 'ds' host" in str(info.value)


@pytest.mark.parametrize(
    "kwargs", [{"max_attempts": 0}, {"max_attempts": True}, {"base_delay": -1}, {"max_delay": float("nan")}]
)
def test_retry_policy_refuses_nonsense(kwargs: dict) -> None:
    with pytest.raises(DashScopeConfigError):
        wire.RetryPolicy(**kwargs)


# ----------------------------------------------------------------------------------------------------------------
# Job ids
# ----------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "bad",
    [
        None,
        42,
        ["ft-1"],
        "../deployments",
        "a/b",
        "a?b",
        "a#b",
        "a\\b",
        " ft-1",
        "ft 1",
        "ft-1\n",
        "ft\t1",
        "ft\x00",
        "ft\x1b[31m",
        "ft\x7f",
        "..",
        ".",
    ],
)
def test_invalid_job_id_is_a_value_error_that_shows_the_value(bad) -> None:
    with pytest.raises(DashScopeConfigError) as info:
        wire.validate_job_id(bad)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, DashScopeError)
    assert repr(bad) in str(info.value)
    assert "job_id" in str(info.value)


def test_empty_job_id_is_refused_as_empty() -> None:
    with pytest.raises(DashScopeConfigError, match="job_id is empty"):
        wire.validate_job_id("")


def test_overlong_job_id_is_refused_showing_its_length_and_start() -> None:
    bad = "f" * 300
    with pytest.raises(DashScopeConfigError) as info:
        wire.validate_job_id(bad)
    text = str(info.value)
    assert "300 characters" in text
    assert repr(bad[:40]) in text
    assert len(text) < 300  # a summary, not the whole value


@pytest.mark.parametrize("bad", ["ft-1\x9b31m", "ft\x80", "ft\u200b1", "ft\u202e1"])
def test_c1_control_and_format_characters_in_job_id_are_refused(bad: str) -> None:
    with pytest.raises(DashScopeConfigError):
        wire.validate_job_id(bad)


@pytest.mark.parametrize("good", ["ft-202410291653-1c7f", "f" * wire.MAX_JOB_ID_LENGTH, "ft_1.2-3", "..."])
def test_valid_job_id_passes_unchanged(good: str) -> None:
    assert wire.validate_job_id(good) == good


@pytest.mark.parametrize(
    ("job_id", "path"),
    [
        ("ft-202410291653-1c7f", "/fine-tunes/ft-202410291653-1c7f"),
        ("ft:1", "/fine-tunes/ft%3A1"),
        ("a%2Fb", "/fine-tunes/a%252Fb"),
        ("ft-ü", "/fine-tunes/ft-%C3%BC"),
        ("a;b=c&d", "/fine-tunes/a%3Bb%3Dc%26d"),
    ],
)
def test_job_id_is_url_quoted_in_the_path(job_id: str, path: str) -> None:
    assert wire.get_job_request(job_id).path == path
    assert wire.delete_job_request(job_id).path == path
    assert wire.cancel_job_request(job_id).path == path + "/cancel"
    assert wire.job_logs_request(job_id).path == path + "/logs"


@pytest.mark.parametrize(
    "builder",
    [wire.get_job_request, wire.cancel_job_request, wire.delete_job_request, wire.job_logs_request],
)
def test_every_job_request_builder_validates_the_job_id(builder) -> None:
    with pytest.raises(DashScopeConfigError, match="deployments"):
        builder("../deployments")


# ----------------------------------------------------------------------------------------------------------------
# Request builders and headers
# ----------------------------------------------------------------------------------------------------------------
def test_get_job_request() -> None:
    request = wire.get_job_request("ft-1")
    assert (request.method, request.path, request.params, request.body) == ("GET", "/fine-tunes/ft-1", None, None)
    assert request.idempotent is True
    assert request.job_id == "ft-1"
    assert request.label == "GET /fine-tunes/ft-1"
    assert request.url(_config(host="127.0.0.1:5")) == "http://127.0.0.1:5/api/v1/fine-tunes/ft-1"


def test_list_jobs_request_defaults_and_model_filter() -> None:
    request = wire.list_jobs_request()
    assert (request.method, request.path, request.body) == ("GET", "/fine-tunes", None)
    assert request.params == {"page_no": 1, "page_size": 10}
    assert request.idempotent is True
    assert wire.list_jobs_request(3, 100, "qwen3-14b").params == {"page_no": 3, "page_size": 100, "model": "qwen3-14b"}


@pytest.mark.parametrize(
    ("page_no", "page_size", "name"),
    [(0, 10, "page_no"), (1, 0, "page_size"), (1, 101, "page_size"), ("1", 10, "page_no"), (1, True, "page_size")],
)
def test_list_jobs_request_refuses_out_of_bounds_pages(page_no, page_size, name: str) -> None:
    with pytest.raises(DashScopeConfigError, match=name):
        wire.list_jobs_request(page_no, page_size)


def test_create_job_request_body_and_not_idempotent() -> None:
    request = wire.create_job_request(
        model=" qwen3-14b ",
        training_file_ids="file-1",
        validation_file_ids=["file-2", "file-3"],
        hyper_parameters={"n_epochs": 3},
        training_type="sft",
        job_name="my-job",
        model_name="my-model",
    )
    assert (request.method, request.path, request.params) == ("POST", "/fine-tunes", None)
    assert request.idempotent is False
    assert request.job_id is None
    assert request.body == {
        "model": "qwen3-14b",
        "training_file_ids": ["file-1"],
        "validation_file_ids": ["file-2", "file-3"],
        "hyper_parameters": {"n_epochs": 3},
        "training_type": "sft",
        "job_name": "my-job",
        "model_name": "my-model",
    }
    assert json.loads(wire.encode_body(request)) == request.body


def test_create_job_request_minimal_body() -> None:
    request = wire.create_job_request(model="qwen3-14b", training_file_ids=["f"])
    assert request.body == {
        "model": "qwen3-14b",
        "training_file_ids": ["f"],
        "validation_file_ids": [],
        "hyper_parameters": {},
    }


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"model": "", "training_file_ids": ["f"]}, "model"),
        ({"model": None, "training_file_ids": ["f"]}, "model"),
        ({"model": "m", "training_file_ids": []}, "training_file_ids"),
        ({"model": "m", "training_file_ids": None}, "training_file_ids"),
        ({"model": "m", "training_file_ids": [""]}, "training_file_ids"),
        ({"model": "m", "training_file_ids": [1]}, "training_file_ids"),
        ({"model": "m", "training_file_ids": ["f"], "validation_file_ids": [None]}, "validation_file_ids"),
        ({"model": "m", "training_file_ids": ["f"], "hyper_parameters": [1]}, "hyper_parameters"),
    ],
)
def test_create_job_request_refuses_bad_arguments(kwargs: dict, fragment: str) -> None:
    with pytest.raises(DashScopeConfigError, match=fragment):
        wire.create_job_request(**kwargs)


def test_cancel_and_delete_requests() -> None:
    cancel = wire.cancel_job_request("ft-1")
    assert (cancel.method, cancel.path, cancel.body, cancel.params) == ("POST", "/fine-tunes/ft-1/cancel", None, None)
    assert cancel.idempotent is True
    assert wire.encode_body(cancel) is None
    delete = wire.delete_job_request("ft-1")
    assert (delete.method, delete.path, delete.body) == ("DELETE", "/fine-tunes/ft-1", None)
    assert delete.idempotent is True


def test_logs_request_params_and_bounds() -> None:
    request = wire.job_logs_request("ft-1")
    assert (request.method, request.path) == ("GET", "/fine-tunes/ft-1/logs")
    assert request.params == {"offset": 0, "line": 100}
    assert wire.job_logs_request("ft-1", 5, 1000).params == {"offset": 5, "line": 1000}
    assert wire.job_logs_request("ft-1", 0, 1).params == {"offset": 0, "line": 1}
    for offset, line in [(-1, 10), (0, 0), (0, 1001), (0, "10")]:
        with pytest.raises(DashScopeConfigError):
            wire.job_logs_request("ft-1", offset, line)


def test_headers_carry_bearer_key_accept_and_user_agent_without_workspace_or_content_type() -> None:
    headers = wire.build_headers(_config(), wire.get_job_request("ft-1"), "airflow-provider-dashscope/0.1.0")
    assert headers == {
        "Authorization": f"Bearer {KEY}",
        "Accept": "application/json",
        "User-Agent": "airflow-provider-dashscope/0.1.0",
    }


def test_headers_add_workspace_when_set_and_content_type_only_with_a_body() -> None:
    config = _config(extra={"workspace": "llm-abc"})
    create = wire.create_job_request(model="m", training_file_ids=["f"])
    headers = wire.build_headers(config, create, "ua")
    assert headers["X-DashScope-WorkSpace"] == "llm-abc"
    assert headers["Content-Type"] == "application/json"
    cancel_headers = wire.build_headers(config, wire.cancel_job_request("ft-1"), "ua")
    assert "Content-Type" not in cancel_headers
    assert cancel_headers["X-DashScope-WorkSpace"] == "llm-abc"


# ----------------------------------------------------------------------------------------------------------------
# Responses
# ----------------------------------------------------------------------------------------------------------------
def _body(**fields) -> bytes:
    return json.dumps(fields).encode()


def test_success_envelope_returns_output_and_request_id() -> None:
    output, request_id = wire.parse_response(200, {}, _body(request_id="r-1", output={"job_id": "ft-1"}))
    assert output == {"job_id": "ft-1"}
    assert request_id == "r-1"


def test_success_request_id_falls_back_to_the_x_request_id_header() -> None:
    _, request_id = wire.parse_response(200, {"x-request-id": "hdr-1"}, _body(output=True))
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
        (403, "AccessDenied", "Access denied.", AuthenticationError),
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
        wire.parse_response(status, {"x-request-id": "header-id"}, body, job_id="ft-1")
    err = info.value
    assert type(err) is cls
    assert isinstance(err, DashScopeAPIError) and isinstance(err, DashScopeError)
    assert (err.status_code, err.code, err.message) == (status, code, message)
    assert err.request_id == "BE213CDD-8A5C-59EE-9A67-055EAB0CB59B"  # the body wins over the header
    assert err.job_id == "ft-1"
    text = str(err)
    for part in (f"HTTP {status}", code, message, "BE213CDD-8A5C-59EE-9A67-055EAB0CB59B", "ft-1"):
        assert part in text


@pytest.mark.parametrize("status", [200, 420])
def test_throttling_subcodes_on_unmapped_statuses_are_throttling(status: int) -> None:
    with pytest.raises(ThrottlingError) as info:
        wire.parse_response(status, {}, _body(code="Throttling.RateQuota", message="slow down"))
    assert info.value.code == "Throttling.RateQuota"


def test_unknown_5xx_is_an_internal_server_error() -> None:
    with pytest.raises(InternalServerError) as info:
        wire.parse_response(507, {}, _body(code="Storage", message="full"))
    assert info.value.status_code == 507


def test_html_502_from_a_gateway_gives_a_typed_error_with_status_and_short_excerpt() -> None:
    html = (
        "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>"
        + "<p>"
        + "padding " * 200
        + "</p></body></html>"
    ).encode()
    with pytest.raises(ServiceUnavailableError) as info:
        wire.parse_response(502, {"x-request-id": "gw-7"}, html)
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
        wire.parse_response(503, {}, b"")


def test_error_message_falls_back_to_msg_field() -> None:
    with pytest.raises(NotFoundError) as info:
        wire.parse_response(404, {}, _body(code="NotFound", msg="gone"))
    assert info.value.message == "gone"


def test_error_request_id_falls_back_to_x_request_id_header() -> None:
    with pytest.raises(NotFoundError) as info:
        wire.parse_response(404, {"x-request-id": "hdr-9"}, _body(code="NotFound", message="Not found!"))
    assert info.value.request_id == "hdr-9"
    assert "request_id=hdr-9" in str(info.value)


def test_retry_after_in_seconds_is_parsed() -> None:
    with pytest.raises(ThrottlingError) as info:
        wire.parse_response(429, {"Retry-After": "7"}, _body(code="Throttling", message="slow"))
    assert info.value.retry_after == 7.0


def test_retry_after_as_http_date_is_parsed() -> None:
    when = email.utils.formatdate(time.time() + 120, usegmt=True)
    with pytest.raises(ServiceUnavailableError) as info:
        wire.parse_response(503, {"Retry-After": when}, _body(code="ServiceUnavailable", message="busy"))
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
    assert wire.parse_retry_after(value, now=now) == expected


def test_200_without_output_is_an_invalid_response() -> None:
    with pytest.raises(InvalidResponseError) as info:
        wire.parse_response(200, {}, _body(request_id="r-2"))
    assert info.value.status_code == 200
    assert info.value.request_id == "r-2"
    assert "output" in str(info.value)


@pytest.mark.parametrize("body", [b"<html>ok</html>", b"", b"\xff\xfe\x00garbage", b'{"output": '])
def test_200_that_is_not_json_is_an_invalid_response_with_an_excerpt(body: bytes) -> None:
    with pytest.raises(InvalidResponseError) as info:
        wire.parse_response(200, {"x-request-id": "h-1"}, body)
    assert info.value.request_id == "h-1"
    assert "not JSON" in str(info.value)


@pytest.mark.parametrize("body", [b"[1, 2]", b'"text"', b"42", b"null"])
def test_200_with_a_json_value_that_is_not_an_object_is_an_invalid_response(body: bytes) -> None:
    with pytest.raises(InvalidResponseError):
        wire.parse_response(200, {}, body)


def test_200_with_a_top_level_error_code_is_an_error_not_a_success() -> None:
    body = _body(request_id="r-3", code="NotFound", message="Not Found!")
    with pytest.raises(DashScopeAPIError) as info:
        wire.parse_response(200, {}, body)
    assert info.value.code == "NotFound"
    assert info.value.message == "Not Found!"
    assert info.value.request_id == "r-3"


def test_200_with_a_top_level_unsupported_operation_code_is_typed() -> None:
    with pytest.raises(UnsupportedOperationError):
        wire.parse_response(200, {}, _body(code="UnsupportedOperation", message="no", output=None))


@pytest.mark.parametrize("code", [None, "", "200", 200])
def test_200_with_a_benign_code_is_a_success(code) -> None:
    output, _ = wire.parse_response(200, {}, _body(code=code, output={"status": "success"}))
    assert output == {"status": "success"}


def test_deeply_nested_json_does_not_crash_the_parser() -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(InvalidResponseError):
        wire.parse_response(200, {}, body)
    with pytest.raises(ServiceUnavailableError):
        wire.parse_response(503, {}, body)


def test_api_errors_survive_pickling_with_every_field() -> None:
    err = ThrottlingError("slow", status_code=429, code="Throttling", request_id="r", retry_after=3.0, job_id="ft-1")
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
    assert wire.describe_failure(err) == "HTTP 503 ServiceUnavailable request_id=r-5"
    assert wire.describe_failure(InternalServerError("x", status_code=500)) == "HTTP 500 request_id=unknown"


# ----------------------------------------------------------------------------------------------------------------
# Retry decisions
# ----------------------------------------------------------------------------------------------------------------
POLICY = wire.RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=30.0)


def _api_error(status: int, retry_after: float | None = None) -> DashScopeAPIError:
    return wire.error_class(status, None)("x", status_code=status, retry_after=retry_after)


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
def test_retryable_statuses_are_retried(status: int) -> None:
    err = _api_error(status)
    assert wire.is_transient(err)
    assert wire.retry_delay(err, 1, POLICY, rand=lambda: 0.0) == 0.5


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409])
def test_client_errors_are_never_retried(status: int) -> None:
    err = _api_error(status)
    assert not wire.is_transient(err)
    assert wire.retry_delay(err, 1, POLICY) is None
    assert wire.retry_delay(err, 1, POLICY, idempotent=False) is None


def test_a_request_timeout_is_not_retried_for_a_create() -> None:
    assert wire.retry_delay(_api_error(408), 1, POLICY, idempotent=False) is None


def test_unsupported_operation_is_never_retried() -> None:
    err = UnsupportedOperationError("no", status_code=400, code="UnsupportedOperation")
    assert wire.retry_delay(err, 1, POLICY) is None


def test_transport_failures_are_retried_for_idempotent_requests() -> None:
    for err in (
        DashScopeTransportError("refused", connect_failed=True),
        DashScopeTransportError("read timeout", timeout=True),
        DashScopeTransportError("reset"),
    ):
        assert wire.retry_delay(err, 1, POLICY, rand=lambda: 0.0) == 0.5


def test_non_idempotent_create_is_retried_only_on_connect_failure_and_429() -> None:
    assert wire.retry_delay(DashScopeTransportError("refused", connect_failed=True), 1, POLICY, idempotent=False)
    assert wire.retry_delay(_api_error(429), 1, POLICY, idempotent=False)
    for err in (
        DashScopeTransportError("read timeout", timeout=True),
        DashScopeTransportError("reset"),
        _api_error(500),
        _api_error(502),
        _api_error(503),
        _api_error(504),
        InvalidResponseError("bad", status_code=200),
    ):
        assert wire.retry_delay(err, 1, POLICY, idempotent=False) is None, err


def test_invalid_2xx_response_is_retried_only_when_idempotent() -> None:
    err = InvalidResponseError("bad", status_code=200)
    assert wire.is_transient(err) and not wire.is_transient(err, idempotent=False)


def test_non_dashscope_errors_are_not_retried() -> None:
    assert wire.retry_delay(RuntimeError("bug"), 1, POLICY) is None
    assert wire.retry_delay(DashScopeConfigError("bad id"), 1, POLICY) is None


def test_retry_budget_counts_the_first_attempt() -> None:
    err = _api_error(503)
    assert [wire.retry_delay(err, attempt, POLICY) is not None for attempt in (1, 2, 3, 4, 5)] == [
        True,
        True,
        True,
        False,
        False,
    ]
    assert wire.retry_delay(err, 1, wire.RetryPolicy(max_attempts=1)) is None


def test_backoff_doubles_and_is_capped() -> None:
    err = _api_error(503)
    policy = wire.RetryPolicy(max_attempts=20, base_delay=1.0, max_delay=10.0)
    top = [wire.retry_delay(err, attempt, policy, rand=lambda: 1.0) for attempt in range(1, 8)]
    assert top == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0]


@pytest.mark.parametrize("attempt", [1, 2, 3, 6])
def test_jitter_stays_between_half_and_full_backoff(attempt: int) -> None:
    err = _api_error(500)
    policy = wire.RetryPolicy(max_attempts=10, base_delay=0.5, max_delay=5.0)
    backoff = min(5.0, 0.5 * 2 ** (attempt - 1))
    low = wire.retry_delay(err, attempt, policy, rand=lambda: 0.0)
    high = wire.retry_delay(err, attempt, policy, rand=lambda: 0.999999)
    mid = wire.retry_delay(err, attempt, policy, rand=lambda: 0.5)
    assert low == pytest.approx(backoff / 2)
    assert high == pytest.approx(backoff, rel=1e-5)
    assert low < mid < high
    for _ in range(50):  # the default random source stays inside the same bounds
        assert backoff / 2 <= wire.retry_delay(err, attempt, policy) <= backoff


def test_retry_after_replaces_backoff_and_is_capped() -> None:
    assert wire.retry_delay(_api_error(429, retry_after=7.0), 1, POLICY, rand=lambda: 0.0) == 7.0
    assert wire.retry_delay(_api_error(503, retry_after=0.0), 3, POLICY, rand=lambda: 0.9) == 0.0
    assert wire.retry_delay(_api_error(429, retry_after=3600.0), 1, POLICY) == 30.0
    assert wire.retry_delay(_api_error(404, retry_after=1.0), 1, POLICY) is None


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
            **{name: field_values for name in JOB_FIELDS},
            **{name: INT_VALUES for name in INT_FIELDS},
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
        output, request_id = wire.parse_response(status, headers, body, job_id="ft-1")
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
