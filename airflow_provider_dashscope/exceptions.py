"""Exceptions raised by the DashScope provider.

Everything derives from :class:`DashScopeError`, an ``AirflowException``. Errors that come from the API carry
``status_code``, ``code``, ``message`` and ``request_id`` so a user can quote them to support; none of them ever
holds a request header or the API key. Every exception survives a pickle round trip with its fields (Airflow
pickles exceptions when they cross processes).

A wait on a resource that ended badly raises a :class:`ResourceWaitError` (kind, resource id, last status): failed,
cancelled, not found (also a :class:`NotFoundError`) or timed out, one concrete class per kind of resource, all in
one table, :data:`WAIT_ERRORS`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, NamedTuple, Protocol

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
    ``job_id`` is a deprecated alias of ``resource_id`` (for a call about a fine-tune job), as an attribute and as a
    keyword of the constructor.
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
        job_id: str | None = None,
    ) -> None:
        if job_id is not None:
            warnings.warn(_JOB_ID_DEPRECATED, DeprecationWarning, stacklevel=2)
            if resource_id is None:
                resource_id, resource_key = job_id, "job_id"
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
        """Deprecated: ``resource_id`` when the call was about a fine-tune job (``resource_key == "job_id"``)."""
        warnings.warn(_JOB_ID_DEPRECATED, DeprecationWarning, stacklevel=2)
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


_JOB_ID_DEPRECATED = "DashScopeAPIError.job_id is deprecated; use resource_id (and resource_key) instead"


class InvalidParameterError(DashScopeAPIError):
    """400 ``InvalidParameter``: a parameter is missing, invalid or malformed."""


class UnsupportedOperationError(DashScopeAPIError):
    """400 ``UnsupportedOperation``: the resource's current state does not allow the operation."""


class AuthenticationError(DashScopeAPIError):
    """401 (e.g. ``InvalidApiKey``): the API key is missing or wrong."""


class PermissionDeniedError(AuthenticationError):
    """403 (e.g. ``AccessDenied``): the key is valid but may not do this (the workspace, the model, an unpaid bill).

    A subclass of :class:`AuthenticationError`, which 403 raised before it existed, so ``except AuthenticationError``
    still catches it; catch ``PermissionDeniedError`` first to tell the two apart.
    """


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


# ----------------------------------------------------------------------------------------------------------------
# A wait on a resource that ended badly
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ResourceKind:
    """The facts an error about one kind of resource needs: its name and what its API calls its id and status."""

    #: A capitalised noun, as messages and log lines say it: ``Fine-tune job``.
    name: str
    #: The names of the id and the status in the API (and the errors' attributes of old): ``job_id``, ``job_status``.
    id_name: str
    status_name: str
    #: What a user checks when the API does not know the id: ``the job id``.
    id_hint: str
    #: Its possessive: ``the job's`` (region and workspace).
    owner: str


FINE_TUNE_JOB = ResourceKind("Fine-tune job", "job_id", "job_status", "the job id", "the job's")
DEPLOYMENT = ResourceKind("Deployment", "deployed_model", "deployment_status", "the deployed_model", "the deployment's")
#: A checkpoint's export; its id is ``<job_id>:<checkpoint>``.
CHECKPOINT_EXPORT = ResourceKind(
    "Checkpoint export", "export_id", "export_status", "the job id and the checkpoint name", "the job's"
)


class ResourceWaitError(DashScopeError):
    """A wait on a resource ended badly: it failed, was cancelled, is unknown to the API, or the wait timed out.

    Carries ``kind`` (the kind of resource: ``Fine-tune job``), ``resource_id`` and ``status`` (the last status seen,
    ``None`` when none was). Each resource's classes also take and show the id and status under its API's names
    (``job_id``/``job_status``, ``deployed_model``/``deployment_status``).
    """

    resource: ClassVar[ResourceKind] = ResourceKind("Resource", "resource_id", "status", "the id", "the resource's")

    def __init__(
        self, message: str, *, resource_id: str | None = None, status: str | None = None, **names: Any
    ) -> None:
        resource_id, status = self._names(resource_id, status, names)
        super().__init__(message)
        self.resource_id = resource_id
        self.status = status

    @property
    def kind(self) -> str:
        return self.resource.name

    @classmethod
    def _names(cls, resource_id: str | None, status: str | None, names: dict[str, Any]) -> tuple[str, str | None]:
        """The id and status, given as ``resource_id``/``status`` or under the resource's own names."""
        kind = cls.resource
        unknown = set(names) - {kind.id_name, kind.status_name}
        if unknown:
            raise TypeError(f"{cls.__name__}() got unexpected keyword arguments: {', '.join(sorted(unknown))}")
        resource_id = names.get(kind.id_name, resource_id)
        if resource_id is None:
            raise TypeError(f"{cls.__name__}() needs the {kind.id_name} (or resource_id) of the resource")
        return resource_id, names.get(kind.status_name, status)


class ResourceFailedError(ResourceWaitError, AirflowFailException):
    """The resource ended in a failed state (no retry of the task can change it)."""


class ResourceCancelledError(ResourceWaitError, AirflowFailException):
    """The resource was cancelled (no retry of the task can change it)."""


# Its resource_id is always set (a str), where a NotFoundError's may be None.
class ResourceNotFoundError(ResourceWaitError, NotFoundError, AirflowFailException):  # type: ignore[misc]
    """The API does not know the resource (HTTP 404): a :class:`NotFoundError` that no retry of the task can change.

    Built by :meth:`about` (the message names the id and what to check); ``status_code`` is 404.
    """

    def __init__(
        self,
        message: str,
        *,
        resource_id: str | None = None,
        status: str | None = None,
        request_id: str | None = None,
        code: str | None = None,
        **names: Any,
    ) -> None:
        resource_id, status = self._names(resource_id, status, names)
        self.status = status
        DashScopeAPIError.__init__(
            self,
            message,
            status_code=404,
            code=code,
            request_id=request_id,
            resource_id=resource_id,
            resource_key=self.resource.id_name,
        )

    @classmethod
    def about(cls, resource_id: str, request_id: str | None) -> ResourceNotFoundError:
        """The error for a 404 on ``resource_id``: it names the id and what to check."""
        kind = cls.resource
        return cls(
            f"{kind.name} {resource_id} was not found (HTTP 404, request_id={request_id or 'unknown'}); check "
            f"{kind.id_hint} and that the connection points at {kind.owner} region and workspace",
            resource_id=resource_id,
            request_id=request_id,
        )

    def _describe(self) -> str:
        return self.message


class ResourceWaitTimeoutError(ResourceWaitError):
    """The wait ran past its deadline before the resource got where it was going (a retry of the task may wait
    again)."""


class _Identified(Protocol):
    @property
    def resource_id(self) -> str: ...

    @property
    def status(self) -> str | None: ...


class _JobNames:
    """The names a fine-tune job error's fields have always had."""

    resource: ClassVar[ResourceKind] = FINE_TUNE_JOB

    @property
    def job_id(self: _Identified) -> str:
        return self.resource_id

    @property
    def job_status(self: _Identified) -> str | None:
        return self.status


class _DeploymentNames:
    """The names a deployment error's fields have always had."""

    resource: ClassVar[ResourceKind] = DEPLOYMENT

    @property
    def deployed_model(self: _Identified) -> str:
        return self.resource_id

    @property
    def deployment_status(self: _Identified) -> str | None:
        return self.status


class FineTuneJobError(_JobNames, ResourceWaitError, AirflowFailException):
    """A fine-tune job ended in a state that no retry of the task can change."""


class FineTuneJobFailedError(FineTuneJobError, ResourceFailedError):
    """The job ended FAILED."""


class FineTuneJobCancelledError(FineTuneJobError, ResourceCancelledError):
    """The job ended CANCELED."""


class FineTuneJobNotFoundError(FineTuneJobError, ResourceNotFoundError):  # type: ignore[misc]  # as its base
    """The job id is unknown to the API (a :class:`NotFoundError`)."""


class FineTuneJobTimeoutError(_JobNames, ResourceWaitTimeoutError):
    """The wait ran past its deadline while the job was still running (a retry of the task may wait again)."""


class DeploymentError(_DeploymentNames, ResourceWaitError, AirflowFailException):
    """A deployment is in a state that no retry of the task can change (it cannot become RUNNING)."""


class DeploymentFailedError(DeploymentError, ResourceFailedError):
    """The deployment ended FAILED (or in another status from which it cannot become RUNNING)."""


class DeploymentNotFoundError(DeploymentError, ResourceNotFoundError):  # type: ignore[misc]  # as its base
    """The deployed model is unknown to the API (a :class:`NotFoundError`)."""


class DeploymentTimeoutError(_DeploymentNames, ResourceWaitTimeoutError):
    """The wait ran past its deadline before the deployment got where it was going (a retry may wait again)."""


class _ExportNames:
    """The names of a checkpoint export error's fields: the job, the checkpoint, the export's status."""

    resource: ClassVar[ResourceKind] = CHECKPOINT_EXPORT

    @property
    def export_id(self: _Identified) -> str:
        return self.resource_id

    @property
    def job_id(self: _Identified) -> str:
        return self.resource_id.rpartition(":")[0] or self.resource_id

    @property
    def checkpoint(self: _Identified) -> str | None:
        return self.resource_id.rpartition(":")[2] or None

    @property
    def export_status(self: _Identified) -> str | None:
        return self.status


class CheckpointExportError(_ExportNames, ResourceWaitError, AirflowFailException):
    """A checkpoint's export ended in a state no retry of the task can change."""


class CheckpointExportFailedError(CheckpointExportError, ResourceFailedError):
    """The export ended FAILED or UNSUPPORTED."""


class CheckpointNotFoundError(CheckpointExportError, ResourceNotFoundError):  # type: ignore[misc]  # as its base
    """The job, or the checkpoint, is unknown to the API (a :class:`NotFoundError`)."""


class CheckpointExportTimeoutError(_ExportNames, ResourceWaitTimeoutError):
    """The wait ran past its deadline while the export was still going (a retry of the task may wait again)."""


class QualityGateError(DashScopeError, AirflowFailException):
    """No checkpoint meets the task's threshold on a validation metric, or the job logged no such metric.

    Carries ``job_id``, ``checkpoint`` (the best one, when there were metrics), ``metric``, ``value`` (its best
    value) and ``threshold``.
    """

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
        super().__init__(message)
        self.job_id = job_id
        self.checkpoint = checkpoint
        self.metric = metric
        self.value = value
        self.threshold = threshold


class WaitErrors(NamedTuple):
    """The exception for each bad end of a wait on one kind of resource."""

    failed: type[ResourceWaitError]
    cancelled: type[ResourceWaitError]
    not_found: type[ResourceNotFoundError]
    timed_out: type[ResourceWaitTimeoutError]


#: The one table of bad ends, by kind of resource. A deployment is never cancelled: such an end reads as failed.
WAIT_ERRORS: Mapping[str, WaitErrors] = {
    FINE_TUNE_JOB.name: WaitErrors(
        FineTuneJobFailedError, FineTuneJobCancelledError, FineTuneJobNotFoundError, FineTuneJobTimeoutError
    ),
    DEPLOYMENT.name: WaitErrors(
        DeploymentFailedError, DeploymentFailedError, DeploymentNotFoundError, DeploymentTimeoutError
    ),
    CHECKPOINT_EXPORT.name: WaitErrors(
        CheckpointExportFailedError,
        CheckpointExportFailedError,
        CheckpointNotFoundError,
        CheckpointExportTimeoutError,
    ),
}
