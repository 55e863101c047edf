"""Connection settings: base URLs, regions, extras, timeouts and the retry policy (no I/O)."""

from __future__ import annotations

import pytest

from airflow_provider_dashscope import _config
from airflow_provider_dashscope.exceptions import (
    DashScopeConfigError,
)
from tests._client import KEY, make_config


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
    assert _config.normalize_base_url(given_host) == expected


def test_normalize_base_url_takes_the_connection_port_when_the_url_has_none() -> None:
    assert (
        _config.normalize_base_url("dashscope.aliyuncs.com", port=8443) == "https://dashscope.aliyuncs.com:8443/api/v1"
    )
    assert _config.normalize_base_url("https://x.example.com:9443", port=8443) == "https://x.example.com:9443/api/v1"


@pytest.mark.parametrize("host", ["http://dashscope.aliyuncs.com", "http://10.0.0.5:8080/api/v1", "http://example.com"])
def test_normalize_base_url_refuses_plain_http_to_a_non_loopback_host(host: str) -> None:
    with pytest.raises(DashScopeConfigError) as info:
        _config.normalize_base_url(host, field_name="connection 'ds' host")
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
        _config.normalize_base_url(host, field_name="connection 'ds' host")
    assert fragment in str(info.value)
    assert "connection 'ds' host" in str(info.value)


def test_normalize_base_url_error_never_repeats_credentials_embedded_in_the_url() -> None:
    with pytest.raises(DashScopeConfigError) as info:
        _config.normalize_base_url(f"https://user:{KEY}@dashscope.aliyuncs.com")
    assert KEY not in str(info.value)


@pytest.mark.parametrize("host", [f"https://user:{KEY}@dashscope.aliyuncs.com:bad", f"ftp://user:{KEY}@example.com"])
def test_normalize_base_url_error_hides_credentials_even_when_the_url_is_also_malformed(host: str) -> None:
    with pytest.raises(DashScopeConfigError) as info:
        _config.normalize_base_url(host)
    assert KEY not in str(info.value)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "localhost", "api.localhost", "::1", "[::1]"])
def test_loopback_hosts_are_recognised(host: str) -> None:
    assert _config.is_loopback_host(host)


@pytest.mark.parametrize("host", ["", None, "10.0.0.1", "example.com", "localhost.example.com", "128.0.0.1"])
def test_non_loopback_hosts_are_not_loopback(host) -> None:
    assert not _config.is_loopback_host(host)


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
    config = make_config(extra={"region": region})
    assert config.base_url == base_url
    assert config.region == region.strip().lower()


def test_unknown_region_error_lists_every_known_region() -> None:
    with pytest.raises(DashScopeConfigError) as info:
        make_config(extra={"region": "eu-mars-1"})
    text = str(info.value)
    assert "'eu-mars-1'" in text
    for known in ("ap-southeast-1", "cn-beijing", "cn-hongkong", "us-east-1"):
        assert known in text


def test_host_wins_over_region_and_default_is_the_international_endpoint() -> None:
    assert make_config(host="127.0.0.1:1234", extra={"region": "cn-beijing"}).base_url == "http://127.0.0.1:1234/api/v1"
    assert make_config().base_url == "https://dashscope-intl.aliyuncs.com/api/v1" == _config.DEFAULT_BASE_URL


def test_build_config_defaults() -> None:
    config = make_config()
    assert config.api_key == KEY
    assert config.workspace is None
    assert config.connect_timeout == 10.0
    assert config.read_timeout == 60.0
    assert config.retry == _config.RetryPolicy(max_attempts=5, base_delay=1.0, max_delay=30.0)
    assert config.time_zone == "Asia/Shanghai"
    assert config.origin == "https://dashscope-intl.aliyuncs.com"


def test_build_config_reads_every_extra() -> None:
    config = make_config(
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
    assert config.retry == _config.RetryPolicy(max_attempts=3, base_delay=0.25, max_delay=4.0)
    assert config.time_zone == "UTC"


def test_max_retries_zero_means_a_single_attempt() -> None:
    assert make_config(extra={"max_retries": 0}).retry.max_attempts == 1


@pytest.mark.parametrize("api_key", [None, "", "   "])
def test_missing_api_key_names_the_source_and_the_field(api_key) -> None:
    with pytest.raises(DashScopeConfigError) as info:
        _config.build_config(api_key=api_key, source="connection 'my_ds'", key_field="its password field")
    assert "connection 'my_ds'" in str(info.value)
    assert "password" in str(info.value)


def test_api_key_is_stripped_and_never_in_the_config_repr() -> None:
    config = make_config(api_key=f"  {KEY}\n")
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
        make_config(extra=extra)
    assert isinstance(info.value, ValueError)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_host_errors_name_the_connection_host_field() -> None:
    with pytest.raises(DashScopeConfigError) as info:
        make_config(host="http://dashscope.aliyuncs.com")
    assert "connection 'ds' host" in str(info.value)


@pytest.mark.parametrize(
    "kwargs", [{"max_attempts": 0}, {"max_attempts": True}, {"base_delay": -1}, {"max_delay": float("nan")}]
)
def test_retry_policy_refuses_nonsense(kwargs: dict) -> None:
    with pytest.raises(DashScopeConfigError):
        _config.RetryPolicy(**kwargs)
