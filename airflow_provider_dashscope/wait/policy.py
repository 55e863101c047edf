"""What a wait needs to know about one kind of resource; the rules themselves live in :mod:`.machine`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from airflow_provider_dashscope.exceptions import WAIT_ERRORS, DashScopeError
from airflow_provider_dashscope.wait.outcomes import EventKeys, Outcome, WaitEvent

R = TypeVar("R")


@dataclass(frozen=True)
class WaitPolicy(Generic[R]):
    """How to read one kind of resource while waiting on it.

    ``outcome_of`` maps a status to how the wait ends (``None``: keep waiting), so "ready" may be a status that is
    not final for the API (a deployment is ready when RUNNING). A status the policy does not know is never an end.
    ``gone_outcome`` says what a 404 means: by default an error (the resource is unknown), but for a wait on a
    deletion it is the end being waited for. The exceptions of its bad ends are its kind's row of
    :data:`~airflow_provider_dashscope.exceptions.WAIT_ERRORS`.
    """

    #: A capitalised noun for log lines and messages: ``Fine-tune job``.
    kind: str
    event_keys: EventKeys
    status_of: Callable[[R], str]
    outcome_of: Callable[[str], Outcome | None]
    #: A small JSON-safe dict of the resource, carried by the ending event.
    summary_of: Callable[[R], dict[str, Any]]
    #: The message of an event that ends on a status (success, failed or cancelled).
    end_message: Callable[[R, Outcome], str]
    request_id_of: Callable[[R], str | None]
    #: The keys of the summary a task returns (its ``return_value`` XCom) ...
    result_keys: tuple[str, ...]
    #: ... and those it also pushes as XComs of their own.
    xcom_keys: tuple[str, ...]
    #: How a 404 ends the wait: ``None`` makes it an error; a deletion's wait makes it ``Outcome.SUCCESS``.
    gone_outcome: Outcome | None = None

    def result_of(self, summary: Mapping[str, Any] | None) -> dict[str, Any]:
        """The small dict a task returns, from the summary an event carries."""
        summary = summary or {}
        return {key: summary.get(key) for key in self.result_keys}

    def error_of(self, event: WaitEvent) -> Exception:
        """The exception a task raises for an event that is not a success: its kind's class for a failed, cancelled
        or timed-out end or a 404 (a ``NotFoundError``); a plain :class:`DashScopeError` for any other error."""
        errors = WAIT_ERRORS[self.kind]
        ended = {Outcome.FAILED: errors.failed, Outcome.CANCELLED: errors.cancelled, Outcome.TIMEOUT: errors.timed_out}
        cls = ended.get(event.outcome)
        if cls is not None:
            return cls(event.message, resource_id=event.resource_id, status=event.resource_status)
        if event.http_status == 404:
            return errors.not_found.about(event.resource_id, event.request_id)
        return DashScopeError(event.message)
