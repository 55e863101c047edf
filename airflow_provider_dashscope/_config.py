"""Connection settings with no I/O: base URL and region rules, timeouts, the retry policy and the API's time zone.

:func:`build_config` turns the fields of a connection (or the environment) into a validated
:class:`ClientConfig`; every error names the field to fix and never repeats a credential.
"""

from __future__ import annotations

import ipaddress
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from airflow_provider_dashscope._regions import DEFAULT_BASE_URL, REGIONS
from airflow_provider_dashscope.exceptions import DashScopeConfigError

#: The API returns zone-less times (``2024-10-29 16:53:53``). Job ids, times and log lines share one server clock,
#: which points at Beijing time (UTC+8). Configurable per connection.
DEFAULT_API_TIME_ZONE = "Asia/Shanghai"
DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 60.0
MAX_RESPONSE_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry a transient failure.

    ``max_attempts`` counts the first try; ``max_delay`` caps both the exponential backoff and a server's
    ``Retry-After``.
    """

    max_attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 30.0

    def __post_init__(self) -> None:
        if not isinstance(self.max_attempts, int) or isinstance(self.max_attempts, bool) or self.max_attempts < 1:
            raise DashScopeConfigError(
                f"max_attempts must be an integer >= 1 (1 means no retry), got {self.max_attempts!r}"
            )
        for name in ("base_delay", "max_delay"):
            value = getattr(self, name)
            if not _is_number(value) or value < 0 or not math.isfinite(value):
                raise DashScopeConfigError(f"{name} must be a number of seconds >= 0, got {value!r}")


@dataclass(frozen=True)
class ClientConfig:
    """Everything needed to talk to the API. The key is excluded from ``repr``."""

    base_url: str
    api_key: str = field(repr=False)
    workspace: str | None = None
    region: str | None = None
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    read_timeout: float = DEFAULT_READ_TIMEOUT
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    time_zone: str = DEFAULT_API_TIME_ZONE
    max_response_bytes: int = MAX_RESPONSE_BYTES
    #: Where the values came from (``connection 'dashscope_default'``), for error messages.
    source: str = ""
    #: A PEM file of the certificate authorities to trust instead of the system's (a private CA, a corporate proxy).
    ca_bundle: str | None = None
    #: Whether TLS certificates are verified. Turning it off is the connection's explicit choice, warned about.
    verify: bool = True

    @property
    def origin(self) -> str:
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def is_loopback(self) -> bool:
        return is_loopback_host(urlsplit(self.base_url).hostname)

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).hostname or ""

    @property
    def verify_off_warning(self) -> str | None:
        """The warning to log when certificate verification is off, else ``None``."""
        if self.verify or not self.base_url.startswith("https://"):
            return None
        return (
            f"TLS certificate verification is OFF for {self.source} ({self.host}): the API key goes to whoever "
            "answers for that host. Set the connection extra 'ca_bundle' to trust a private CA instead."
        )


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normalize_base_url(value: str, *, port: int | None = None, field_name: str = "host") -> str:
    """Turn a connection's host (a URL or a bare host name) into ``scheme://host[:port]/path``.

    A bare host gets ``https://`` (``http://`` for a loopback address, where the local emulator listens) and the
    path ``/api/v1``. Plain HTTP is refused for anything but loopback: the key would cross the network in clear.
    """
    raw = (value or "").strip()
    if not raw:
        raise DashScopeConfigError(f"{field_name} is empty; give the API base URL, e.g. {DEFAULT_BASE_URL}")
    if "://" not in raw:
        bare_host = raw.split("/", 1)[0].rsplit(":", 1)[0] if not raw.startswith("[") else raw.split("]")[0]
        raw = ("http://" if is_loopback_host(bare_host) else "https://") + raw
    parts = urlsplit(raw)
    if "@" in parts.netloc:  # checked first: every later message repeats the value
        raise DashScopeConfigError(
            f"{field_name} must not carry credentials; put the API key in the connection's password field"
        )
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise DashScopeConfigError(
            f"{field_name} {value!r} has scheme {parts.scheme!r}; use https:// (for example {DEFAULT_BASE_URL})"
        )
    try:
        host = parts.hostname
        url_port = parts.port
    except ValueError as err:
        raise DashScopeConfigError(f"{field_name} {value!r} is not a valid URL: {err}") from None
    if not host:
        raise DashScopeConfigError(f"{field_name} {value!r} has no host name; e.g. {DEFAULT_BASE_URL}")
    if parts.query or parts.fragment:
        raise DashScopeConfigError(f"{field_name} {value!r} must not have a query or fragment")
    if scheme == "http" and not is_loopback_host(host):
        raise DashScopeConfigError(
            f"{field_name} {value!r} uses plain http:// to a non-loopback host, which would send the API key "
            "unencrypted; use https:// (plain http is accepted only for 127.0.0.1/localhost, e.g. the emulator)"
        )
    if port is not None and url_port is None:
        url_port = port
    netloc = f"[{host}]" if ":" in host else host
    if url_port is not None:
        netloc += f":{url_port}"
    path = parts.path.rstrip("/") or "/api/v1"
    return urlunsplit((scheme, netloc, path, "", ""))


def resolve_region(region: Any) -> str | None:
    if region is None or region == "":
        return None
    if not isinstance(region, str) or region.strip().lower() not in REGIONS:
        raise DashScopeConfigError(
            f"unknown region {region!r} in the connection's extra 'region'; known regions: "
            + ", ".join(sorted(REGIONS))
        )
    return region.strip().lower()


def _float_extra(extra: Mapping[str, Any], key: str, default: float, *, minimum: float = 0.0) -> float:
    value = extra.get(key)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or number < minimum:
        bound = "> 0" if minimum > 0 else ">= 0"
        raise DashScopeConfigError(f"connection extra {key!r} must be a number of seconds {bound}, got {value!r}")
    return number


def _int_extra(extra: Mapping[str, Any], key: str, default: int, *, minimum: int) -> int:
    value = extra.get(key)
    if value is None or value == "":
        return default
    try:
        number = int(value)
        if isinstance(value, float) and not value.is_integer():
            raise ValueError
    except (TypeError, ValueError):
        raise DashScopeConfigError(f"connection extra {key!r} must be an integer >= {minimum}, got {value!r}") from None
    if number < minimum:
        raise DashScopeConfigError(f"connection extra {key!r} must be an integer >= {minimum}, got {value!r}")
    return number


def _time_zone(extra: Mapping[str, Any]) -> str:
    time_zone = extra.get("time_zone") or DEFAULT_API_TIME_ZONE
    try:
        import pendulum

        pendulum.timezone(time_zone)
    except Exception:
        raise DashScopeConfigError(
            f"connection extra 'time_zone' {time_zone!r} is not a known IANA zone (e.g. Asia/Shanghai, UTC)"
        ) from None
    return str(time_zone)


def _workspace(extra: Mapping[str, Any]) -> str | None:
    workspace = extra.get("workspace")
    if workspace is not None and not isinstance(workspace, str):
        raise DashScopeConfigError(f"connection extra 'workspace' must be a string, got {workspace!r}")
    if workspace and any(ch.isspace() for ch in workspace):
        raise DashScopeConfigError("connection extra 'workspace' must not contain whitespace")
    return workspace or None


_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def _verify(extra: Mapping[str, Any]) -> bool:
    value = extra.get("verify")
    if value is None or value == "":
        return True
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise DashScopeConfigError(f"connection extra 'verify' must be true or false, got {value!r}")


def _ca_bundle(extra: Mapping[str, Any]) -> str | None:
    value = extra.get("ca_bundle")
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise DashScopeConfigError(f"connection extra 'ca_bundle' must be the path of a PEM file, got {value!r}")
    path = os.path.expanduser(value.strip())
    if not os.path.isfile(path):
        raise DashScopeConfigError(
            f"connection extra 'ca_bundle' {value!r} is not a readable file; give the path of a PEM file holding the "
            "certificate authorities to trust"
        )
    return path


def build_config(
    *,
    api_key: str | None,
    host: str | None = None,
    port: int | None = None,
    extra: Mapping[str, Any] | None = None,
    source: str,
    key_field: str,
) -> ClientConfig:
    """Validate connection fields into a :class:`ClientConfig`.

    ``source`` and ``key_field`` name where the values came from, so every error says which field to fix.
    """
    extra = dict(extra or {})
    if not api_key or not str(api_key).strip():
        raise DashScopeConfigError(f"{source} has no API key: set {key_field}")
    region = resolve_region(extra.get("region"))
    if host and str(host).strip():
        base_url = normalize_base_url(str(host), port=port, field_name=f"{source} host")
    elif region:
        base_url = REGIONS[region]
    else:
        base_url = DEFAULT_BASE_URL
    retry = RetryPolicy(
        max_attempts=_int_extra(extra, "max_retries", RetryPolicy.max_attempts - 1, minimum=0) + 1,
        base_delay=_float_extra(extra, "retry_base_delay", RetryPolicy.base_delay),
        max_delay=_float_extra(extra, "retry_max_delay", RetryPolicy.max_delay),
    )
    return ClientConfig(
        base_url=base_url,
        api_key=str(api_key).strip(),
        workspace=_workspace(extra),
        region=region,
        connect_timeout=_float_extra(extra, "connect_timeout", DEFAULT_CONNECT_TIMEOUT, minimum=0.001),
        read_timeout=_float_extra(extra, "timeout", DEFAULT_READ_TIMEOUT, minimum=0.001),
        retry=retry,
        time_zone=_time_zone(extra),
        source=source,
        ca_bundle=_ca_bundle(extra),
        verify=_verify(extra),
    )
