"""Exceptions raised by the DashScope provider.

Everything derives from :class:`DashScopeError`, an ``AirflowException``. Errors that come from the API carry
``status_code``, ``code``, ``message`` and ``request_id`` so a user can quote them to support; none of them ever
holds a request header or the API key.
"""

from __future__ import annotations

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException


class DashScopeError(AirflowException):
    """Base class of every error raised by this provider."""


class DashScopeConfigError(DashScopeError, ValueError):
    """The connection or an argument is unusable; the message names the field and the fix."""


class DashScopeTransportError(DashScopeError):
    """The request never got an HTTP answer: refused, reset, timed out or the host did not resolve."""

    def __init__(
        self,
        message: str,
        *,
        method: str = "",
        url: str = "",
        timeout: bool = False,
        connect_failed: bool = False,
        request_id: str | None = None,
    ) -> None:
        if request_id:
            message = f"{message} (request_id={request_id})"
        super().__init__(message)
        self.method = method
        self.url = url
        self.timeout = timeout
        #: Set when the failure came after the response headers, which carried it.
        self.request_id = request_id
        #: True when no connection was made, so the server cannot have acted on the request.
        self.connect_failed = connect_failed


class ResponseTooLargeError(DashScopeTransportError):
    """The response body is over the size limit; never retried (the same answer would come again)."""


class DashScopeAPIError(DashScopeError):
    """The API answered with an error status (or an unusable body)."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        job_id: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.code = code
        self.message = message
        self.request_id = request_id
        self.retry_after = retry_after
        self.job_id = job_id
        super().__init__(self._describe())

    def _describe(self) -> str:
        parts = []
        if self.status_code is not None:
            parts.append(f"HTTP {self.status_code}")
        if self.code:
            parts.append(self.code)
        head = " ".join(parts) or "DashScope API error"
        text = f"{head}: {self.message}"
        if self.job_id:
            text += f" (job_id={self.job_id})"
        text += f" (request_id={self.request_id or 'unknown'})"
        return text

    def __reduce__(self):  # keep pickling (used by Airflow when crossing processes) intact
        return (
            _rebuild_api_error,
            (
                type(self),
                self.message,
                self.status_code,
                self.code,
                self.request_id,
                self.retry_after,
                self.job_id,
            ),
        )


def _rebuild_api_error(cls, message, status_code, code, request_id, retry_after, job_id):
    return cls(
        message,
        status_code=status_code,
        code=code,
        request_id=request_id,
        retry_after=retry_after,
        job_id=job_id,
    )


class InvalidParameterError(DashScopeAPIError):
    """400 ``InvalidParameter``: a parameter is missing, invalid or malformed."""


class UnsupportedOperationError(DashScopeAPIError):
    """400 ``UnsupportedOperation``: the job's current state does not allow the operation."""


class AuthenticationError(DashScopeAPIError):
    """401 or 403: the API key is missing, wrong, or lacks access to the workspace."""


class NotFoundError(DashScopeAPIError):
    """404 ``NotFound``: no such job (or workspace)."""


class ConflictError(DashScopeAPIError):
    """409 ``Conflict``: the resource already exists."""


class ThrottlingError(DashScopeAPIError):
    """429 ``Throttling``: rate limit or the per-account job quota."""


class InternalServerError(DashScopeAPIError):
    """500 ``InternalError``."""


class ServiceUnavailableError(DashScopeAPIError):
    """502, 503 or 504 from the API or a gateway in front of it."""


class InvalidResponseError(DashScopeAPIError):
    """A 2xx answer whose body is not the documented envelope (not JSON, no ``output``, no ``status``)."""


class FineTuneJobError(DashScopeError, AirflowFailException):
    """A fine-tune job ended in a state that no retry of the task can change."""

    def __init__(self, message: str, *, job_id: str, job_status: str | None = None) -> None:
        super().__init__(message)
        self.job_id = job_id
        self.job_status = job_status


class FineTuneJobFailedError(FineTuneJobError):
    """The job ended FAILED."""


class FineTuneJobCancelledError(FineTuneJobError):
    """The job ended CANCELED."""


class FineTuneJobNotFoundError(FineTuneJobError):
    """The job id is unknown to the API."""


class FineTuneJobTimeoutError(DashScopeError):
    """The wait ran past its deadline while the job was still running."""

    def __init__(self, message: str, *, job_id: str, job_status: str | None = None) -> None:
        super().__init__(message)
        self.job_id = job_id
        self.job_status = job_status
