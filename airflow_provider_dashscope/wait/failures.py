"""A failed poll, classified with no I/O: :class:`Gone`, :class:`Tolerated` or :class:`Fatal` (see :func:`classify`).

The :class:`~.machine.WaitMachine` applies the class: a tolerated failure spends one unit of the failure budget and
delays the next poll; a fatal one (or the one that spends the budget) ends the wait with an error; a 404 on a wait
for the resource to go ends it with the policy's ``gone_outcome``.
"""

from __future__ import annotations

from dataclasses import dataclass

from airflow_provider_dashscope._http.retry import is_transient
from airflow_provider_dashscope.exceptions import DashScopeAPIError, DashScopeError, NotFoundError


@dataclass(frozen=True)
class Fatal:
    """A failure no other poll can change: the wait ends with an error."""

    message: str
    http_status: int | None = None
    request_id: str | None = None
    #: Not a DashScope error (a bug): logged with its traceback.
    unexpected: bool = False


@dataclass(frozen=True)
class Tolerated:
    """A transient failure: another poll may succeed, no sooner than the server's ``Retry-After`` (if it sent one)."""

    retry_after: float | None
    #: How the wait ends when this failure spends the failure budget.
    exhausted: Fatal

    def delay(self, interval: float, cap: float | None) -> float:
        """Seconds before the next poll: ``interval``, or the server's ``Retry-After`` (capped) when longer."""
        if self.retry_after is None:
            return interval
        return max(interval, self.retry_after if cap is None else min(self.retry_after, cap))


@dataclass(frozen=True)
class Gone:
    """A 404 on a wait for the resource to go: the end it waits for."""

    request_id: str | None


def classify(error: BaseException, *, gone_ends: bool) -> Gone | Tolerated | Fatal:
    """What a failed poll means. ``gone_ends``: a 404 is the end the wait is for (a deletion)."""
    if isinstance(error, NotFoundError):
        return Gone(error.request_id) if gone_ends else Fatal(str(error), error.status_code, error.request_id)
    if not isinstance(error, DashScopeError):
        return Fatal(f"{type(error).__name__}: {error}", request_id=getattr(error, "request_id", None), unexpected=True)
    fatal = Fatal(
        str(error),
        error.status_code if isinstance(error, DashScopeAPIError) else None,
        getattr(error, "request_id", None),
    )
    if is_transient(error):
        return Tolerated(getattr(error, "retry_after", None), fatal)
    return fatal
