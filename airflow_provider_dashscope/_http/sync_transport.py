"""The sync transport: ``requests`` with one session per hook, and tenacity around the protocol's retry decision.

It only moves bytes: what to send, how to read the answer and whether to retry are decided by :mod:`.api_request`,
:mod:`.api_response` and :mod:`.retry`.
"""

from __future__ import annotations

import logging
import re
import ssl
import time
from collections.abc import Callable
from typing import Any, TypeVar

import requests
import requests.auth
import urllib3
from tenacity import Retrying

from airflow_provider_dashscope._config import ClientConfig
from airflow_provider_dashscope._http import api_request, api_response
from airflow_provider_dashscope._http.api_response import Parser
from airflow_provider_dashscope._http.retry import retry_kwargs
from airflow_provider_dashscope.exceptions import DashScopeTransportError

T = TypeVar("T")

_CHUNK = 65536
_OBJECT_REPR = re.compile(r"<[\w.]+ object at 0x[0-9a-f]+>:?\s*")


class SyncTransport:
    """Sends requests for one hook over one ``requests.Session``."""

    def __init__(
        self,
        config: ClientConfig,
        user_agent: str,
        log: logging.Logger | Any,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.user_agent = user_agent
        self.log = log
        self.sleep = sleep
        self.session = requests.Session()
        # None lets requests apply REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE as it defines them.
        self.verify: str | bool | None = config.ca_bundle or (None if config.verify else False)

    def close(self) -> None:
        self.session.close()

    def send(self, request: api_request.ApiRequest, parse: Parser[T]) -> T:
        if self.config.retry.max_attempts == 1:  # no retry budget: skip the retry machinery (a wait's polls)
            return self._send_once(request, parse)
        retrying = Retrying(sleep=self.sleep, **retry_kwargs(request, self.config, self.log))
        return retrying(self._send_once, request, parse)

    def _send_once(self, request: api_request.ApiRequest, parse: Parser[T]) -> T:
        config = self.config
        url = request.url(config)
        started = time.monotonic()
        headers = api_request.build_headers(config, request, self.user_agent)
        try:
            response = self.session.request(
                request.method,
                url,
                params=request.params,
                data=request.stream if request.stream is not None else api_request.encode_body(request),
                headers=headers,
                # An explicit auth keeps requests from replacing the key with ~/.netrc credentials.
                auth=_HeaderAuth(headers["Authorization"]),
                timeout=(config.connect_timeout, config.read_timeout),
                stream=True,
                verify=self.verify,
            )
        except requests.exceptions.SSLError as err:
            raise _ssl_error(err, request, config, url) from None
        except requests.exceptions.RequestException as err:
            raise _transport_error(err, request, url) from None
        request_id = response.headers.get("x-request-id")
        if request.stream is not None:
            started = time.monotonic()  # the answer's time budget starts once the whole upload is sent
        try:
            collector = api_response.BodyCollector(config, request, url, started, request_id)
            collector.check_declared(response.headers.get("Content-Length"))
            read = getattr(response.raw, "read1", None) or response.raw.read
            while True:
                # read1 returns what one socket read brings, so a server that drips bytes meets the deadline.
                chunk = read(_CHUNK, decode_content=True)
                if not chunk:
                    break
                collector.feed(chunk, time.monotonic())
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, OSError) as err:
            raise _transport_error(err, request, url, request_id) from None
        finally:
            response.close()
        payload, request_id = api_response.parse_response(
            response.status_code, response.headers, collector.body(), request
        )
        return parse(payload, request_id, config)


def _root_reason(err: BaseException) -> BaseException:
    """The innermost urllib3 error inside a requests error (``ConnectionError(MaxRetryError(reason=...))``)."""
    reason = err.args[0] if isinstance(err, requests.exceptions.RequestException) and err.args else err
    return getattr(reason, "reason", None) or reason


def _ssl_error(
    err: requests.exceptions.SSLError, request: api_request.ApiRequest, config: ClientConfig, url: str
) -> DashScopeTransportError:
    """An untrusted certificate is its own error (never retried); any other TLS failure is a transport error."""
    reason = _root_reason(err)
    while isinstance(reason, BaseException) and not isinstance(reason, ssl.SSLError) and reason.args:
        inner = reason.args[0]
        if not isinstance(inner, BaseException):
            break
        reason = inner
    if isinstance(reason, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(err):
        detail = getattr(reason, "verify_message", None) or "certificate verify failed"
        return api_response.tls_error(request, config, url, str(detail))
    return _transport_error(err, request, url)


def _transport_error(
    err: BaseException, request: api_request.ApiRequest, url: str, request_id: str | None = None
) -> DashScopeTransportError:
    reason = _root_reason(err)
    connect_failed = isinstance(err, requests.exceptions.ConnectTimeout) or isinstance(
        reason, urllib3.exceptions.NewConnectionError
    )
    timeout = isinstance(err, requests.exceptions.Timeout) or (
        isinstance(reason, (urllib3.exceptions.ReadTimeoutError, TimeoutError)) and not connect_failed
    )
    # The root cause says what happened in a few words ("Failed to resolve 'host' ([Errno -2] Name or service
    # not known)"); the wrapper around it repeats the URL and object addresses.
    text = str(reason) if isinstance(reason, BaseException) and str(reason) else str(err)
    return api_response.transport_error(
        request,
        url,
        kind=type(err).__name__,
        reason=_OBJECT_REPR.sub("", text),
        timeout=timeout,
        connect_failed=connect_failed,
        request_id=request_id,
    )


class _HeaderAuth(requests.auth.AuthBase):
    """Sets the Authorization header; as an explicit auth it also turns off requests' .netrc lookup."""

    def __init__(self, value: str) -> None:
        self._value = value

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self._value
        return request

    def __repr__(self) -> str:
        return "_HeaderAuth(<hidden>)"
