"""Exceptions raised by the DashScope provider.

Everything derives from :class:`DashScopeError`, an ``AirflowException``. Errors that come from the API carry
``status_code``, ``code``, ``message`` and ``request_id`` so a user can quote them to support; none of them ever
holds a request header or the API key. Every exception survives a pickle round trip with its fields (Airflow
pickles exceptions when they cross processes).
"""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException


def request_id_note(request_id: str | None) -> str:
    """How every message quotes a request id: `` (request_id=...)``."""
    return f" (request_id={request_id or 'unknown'})"


def _restore(cls: type[BaseException], args: tuple[Any, ...], state: dict[str, Any]) -> BaseException:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class DashScopeError(AirflowException):
    """Base class of every error raised by this provider."""

    def __reduce__(self) -> tuple[Any, ...]:
        # The default would call ``cls(*args)``, which loses (or trips over) keyword-only fields.
        return (_restore, (type(self), self.args, dict(self.__dict__)))


class DashScopeConfigError(DashScopeError, ValueError):
    """The connection or an argument is unusable; the message names the field and the fix."""


class DashScopeTransportError(DashScopeError):
    """The request never got a (complete) HTTP answer: refused, reset, timed out or the host did not resolve."""

    def __init__(
        self,
        message: str,
        *,
        method: str = "",
        url: str = "",
        connect_failed: bool = False,
        request_id: str | None = None,
    ) -> None:
        if request_id:
            message += request_id_note(request_id)
        super().__init__(message)
        self.method = method
        self.url = url
        #: Set when the failure came after the response headers, which carried it.
        self.request_id = request_id
        #: True when no connection was made, so the server cannot have acted on the request.
        self.connect_failed = connect_failed

    @property
    def timeout(self) -> bool:
        return isinstance(self, DashScopeTimeoutError)


class DashScopeTimeoutError(DashScopeTransportError):
    """The request (or reading its answer) took longer than the connection's timeouts allow."""


class DashScopeTLSError(DashScopeTransportError):
    """The server's TLS certificate could not be verified; never retried (the same certificate would come again)."""


class ResponseTooLargeError(DashScopeTransportError):
    """The response body is over the size limit; never retried (the same answer would come again)."""


class DashScopeAPIError(DashScopeError):
    """The API answered with an error status (or an unusable body).

    ``resource_key``/``resource_id`` name what the call was about (``job_id=ft-...``), when it was about one.
    """

    #: The HTTP status of the API's answer (``None`` when there was none).
    status_code: int | None  # type: ignore[assignment]  # AirflowException's is its own REST API's status

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        resource_id: str | None = None,
        resource_key: str = "id",
    ) -> None:
        self.status_code = status_code
        self.code = code
        self.message = message
        self.request_id = request_id
        self.retry_after = retry_after
        self.resource_id = resource_id
        self.resource_key = resource_key
        super().__init__(self._describe())

    @property
    def job_id(self) -> str | None:
        """The fine-tune job the call was about, if it was about one."""
        return self.resource_id if self.resource_key == "job_id" else None

    def _describe(self) -> str:
        head = " ".join(
            part
            for part in (f"HTTP {self.status_code}" if self.status_code is not None else "", self.code or "")
            if part
        )
        text = f"{head or 'DashScope API error'}: {self.message}"
        if self.resource_id:
            text += f" ({self.resource_key}={self.resource_id})"
        return text + request_id_note(self.request_id)


class InvalidParameterError(DashScopeAPIError):
    """400 ``InvalidParameter``: a parameter is missing, invalid or malformed."""


class UnsupportedOperationError(DashScopeAPIError):
    """400 ``UnsupportedOperation``: the resource's current state does not allow the operation."""


class AuthenticationError(DashScopeAPIError):
    """401 or 403: the API key is missing, wrong, or lacks access to the workspace."""


class NotFoundError(DashScopeAPIError):
    """404 ``NotFound``: no such resource (or workspace)."""


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
    """The wait ran past its deadline while the job was still running (a retry of the task may wait again)."""

    def __init__(self, message: str, *, job_id: str, job_status: str | None = None) -> None:
        super().__init__(message)
        self.job_id = job_id
        self.job_status = job_status


class TrainingFileError(DashScopeConfigError):
    """A local file cannot be uploaded as it is: missing, over the size limit, or not valid training data.

    The message names the file, the 1-based line (when the problem is on one line) and what is wrong.
    """

    def __init__(self, message: str, *, path: str, line_number: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.line_number = line_number


class FileUploadError(DashScopeAPIError):
    """The API took the upload request but refused the file (an entry of ``failed_uploads``), e.g. a quota."""

    def _describe(self) -> str:
        return f"Upload of {self.resource_id} was refused: {self.code or 'error'}: {self.message}" + request_id_note(
            self.request_id
        )


class DeploymentError(DashScopeError, AirflowFailException):
    """A deployment is in a state that no retry of the task can change (it cannot become RUNNING)."""

    def __init__(self, message: str, *, deployed_model: str, deployment_status: str | None = None) -> None:
        super().__init__(message)
        self.deployed_model = deployed_model
        self.deployment_status = deployment_status


class DeploymentFailedError(DeploymentError):
    """The deployment ended FAILED (or in another status from which it cannot become RUNNING)."""


class DeploymentNotFoundError(DeploymentError):
    """The deployed model is unknown to the API."""


class DeploymentTimeoutError(DashScopeError):
    """The wait ran past its deadline before the deployment got where it was going (a retry may wait again)."""

    def __init__(self, message: str, *, deployed_model: str, deployment_status: str | None = None) -> None:
        super().__init__(message)
        self.deployed_model = deployed_model
        self.deployment_status = deployment_status


class CheckpointError(DashScopeError, AirflowFailException):
    """A checkpoint cannot be exported, or its export ended in a state no retry of the task can change."""

    def __init__(self, message: str, *, job_id: str, checkpoint: str | None = None, status: str | None = None) -> None:
        super().__init__(message)
        self.job_id = job_id
        self.checkpoint = checkpoint
        self.status = status


class CheckpointExportFailedError(CheckpointError):
    """The export ended FAILED or UNSUPPORTED."""


class CheckpointNotFoundError(CheckpointError):
    """The job, or the checkpoint, is unknown to the API."""


class CheckpointExportTimeoutError(DashScopeError):
    """The wait ran past its deadline while the export was still going (a retry of the task may wait again)."""

    def __init__(self, message: str, *, job_id: str, checkpoint: str | None = None, status: str | None = None) -> None:
        super().__init__(message)
        self.job_id = job_id
        self.checkpoint = checkpoint
        self.status = status


class QualityGateError(CheckpointError):
    """No checkpoint meets the task's threshold on a validation metric, or the job has no validation metrics."""

    def __init__(
        self,
        message: str,
        *,
        job_id: str,
        checkpoint: str | None = None,
        metric: str | None = None,
        value: float | None = None,
        threshold: float | None = None,
    ) -> None:
        super().__init__(message, job_id=job_id, checkpoint=checkpoint)
        self.metric = metric
        self.value = value
        self.threshold = threshold
