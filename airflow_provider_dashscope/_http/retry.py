"""When to try a request again, with no I/O: which failures are transient, how long to wait, and the tenacity
settings both transports use around that decision."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from airflow_provider_dashscope._config import ClientConfig, RetryPolicy
from airflow_provider_dashscope._http.api_request import ApiRequest
from airflow_provider_dashscope.exceptions import (
    DashScopeAPIError,
    DashScopeTLSError,
    DashScopeTransportError,
    InvalidResponseError,
    ResponseTooLargeError,
    ThrottlingError,
)

if TYPE_CHECKING:
    from tenacity import RetryCallState

#: HTTP statuses worth another attempt. 400, 401, 403, 404 and 409 never are.
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


def is_transient(error: BaseException, *, idempotent: bool = True) -> bool:
    """True when another attempt of the same request may succeed.

    Connection failures, timeouts, 429 and 5xx gateway errors are transient. For a request that is not idempotent
    (creating a job) only failures that prove the server did not act are retried: a refused connection and 429.
    """
    if isinstance(error, (ResponseTooLargeError, DashScopeTLSError)):
        return False
    if isinstance(error, DashScopeTransportError):
        return idempotent or error.connect_failed
    if isinstance(error, InvalidResponseError):
        return idempotent
    if isinstance(error, DashScopeAPIError):
        if error.status_code == 429 or isinstance(error, ThrottlingError):
            return True
        return idempotent and error.status_code in RETRYABLE_STATUSES
    return False


def retry_delay(
    error: BaseException,
    attempt: int,
    policy: RetryPolicy,
    *,
    idempotent: bool = True,
    rand: Callable[[], float] = random.random,
) -> float | None:
    """Seconds to wait before the next attempt, or ``None`` when the error must be raised now.

    ``attempt`` is the number of attempts already made. Backoff is ``base * 2**(attempt-1)`` capped at
    ``max_delay``, with "equal jitter" (half fixed, half random); a ``Retry-After`` from the server replaces it
    (capped at ``max_delay`` too).
    """
    if attempt >= policy.max_attempts or not is_transient(error, idempotent=idempotent):
        return None
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        return float(min(retry_after, policy.max_delay))
    backoff = min(policy.max_delay, policy.base_delay * (2 ** (attempt - 1)))
    return backoff / 2 + rand() * backoff / 2


def describe_failure(error: BaseException) -> str:
    """A short, secret-free description of a failed attempt for a log line."""
    if isinstance(error, DashScopeAPIError):
        parts = [f"HTTP {error.status_code}" if error.status_code is not None else "HTTP ?"]
        if error.code:
            parts.append(error.code)
        parts.append(f"request_id={error.request_id or 'unknown'}")
        return " ".join(parts)
    return str(error)


def retry_kwargs(request: ApiRequest, config: ClientConfig, log: logging.Logger | Any) -> dict[str, Any]:
    """tenacity settings (sync and async alike) around :func:`retry_delay`; one WARNING per retry."""

    def delay(state: RetryCallState) -> float | None:
        error = state.outcome.exception() if state.outcome else None
        if error is None:
            return None
        return retry_delay(error, state.attempt_number, config.retry, idempotent=request.idempotent)

    def before_sleep(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.warning(
            "DashScope %s failed (attempt %d of %d: %s); retrying in %.1f s",
            request.label,
            state.attempt_number,
            config.retry.max_attempts,
            describe_failure(error) if error else "?",
            state.next_action.sleep if state.next_action else 0.0,
        )

    return {
        "retry": lambda state: delay(state) is not None,
        "wait": lambda state: delay(state) or 0.0,
        "before_sleep": before_sleep,
        "reraise": True,
    }
