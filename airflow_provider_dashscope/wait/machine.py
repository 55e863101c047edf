"""The rules of waiting on a remote resource, as a state machine with no I/O.

A driver asks :meth:`WaitMachine.next_action` what to do at a given time and carries it out: :class:`Poll` (fetch
the resource once, then report the resource or the exception through :meth:`WaitMachine.on_result`), :class:`Sleep`
(for that many seconds) or :class:`Done` (the wait is over; fire or complete with its event). The clock and the
random source are passed in, so every rule can be driven in a test without a socket or a real sleep:

* **First poll.** A wait that starts from a status it has already seen (the check before waiting, or the status
  the task saw before deferring, e.g. after a triggerer restart) polls first at a random point within one interval,
  so waits that start together spread out; one that has seen nothing polls at once.
* **Interval.** Between polls it sleeps ``poll_interval`` times a factor in [0.9, 1.1] (:data:`JITTER`).
* **Retry-After.** After a failed poll whose answer carried ``Retry-After``, the next poll is no sooner than that
  (capped at ``retry_after_cap``, the connection's ``retry_max_delay``).
* **Failure budget.** A transient failure (network, timeout, 408, 429, 5xx, an unusable answer) is tolerated until
  ``max_consecutive_failures`` polls in a row have failed; an answer resets the count. Each poll is one HTTP
  attempt, so the budget counts requests in every mode.
* **Fatal answers.** 404 and every other non-transient error (bad key, bad request) end the wait at once, as does
  an exception that is not a DashScope error (a bug), which is logged with its traceback. A policy may make a 404
  the end it waits for (``gone_outcome``: a deletion is over when the resource is gone). :func:`.failures.classify`
  sorts a failed poll into gone, tolerated or fatal; the machine applies it.
* **Statuses.** The policy maps a status to an outcome; a status it does not know never ends the wait.
* **Deadline.** Never sleeps past ``deadline`` (epoch seconds); at the deadline the wait ends with a timeout.
* **Logging.** One INFO line per status change, one WARNING per tolerated failure, one ERROR when giving up: returned
  by :meth:`on_result` as :class:`LogLine` values for the driver's logger.
* **Progress (optional).** A :class:`Progress` (e.g. :class:`~.progress.TrainingProgress`) may ask, between polls,
  for a read of the resource's log: :class:`FetchLogs`, answered by a :class:`~.training_log.LogSlice` (or the
  exception) through :meth:`WaitMachine.on_logs`. Such reads are best effort: their failures never count against the
  failure budget, never end the wait and never move the poll schedule. After a success seen by a poll the progress
  may ask for one last read before :class:`Done`.

Where a wait is, is one :class:`~.states.State`; every change of it goes through :func:`.states.transition`, the one
table of moves.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

from airflow_provider_dashscope.wait.failures import Gone, Tolerated, classify
from airflow_provider_dashscope.wait.outcomes import Outcome, WaitEvent
from airflow_provider_dashscope.wait.policy import WaitPolicy
from airflow_provider_dashscope.wait.states import (
    AWAITING_REPORT,
    TRANSITIONS,
    Input,
    RefusedTransition,
    State,
    transition,
)
from airflow_provider_dashscope.wait.training_log import LogSlice

R = TypeVar("R")
R_contra = TypeVar("R_contra", contravariant=True)

#: Each sleep between polls is the poll interval times a factor drawn from this range, so waits started together
#: drift apart instead of polling in lock-step.
JITTER = (0.9, 1.1)


# ----------------------------------------------------------------------------------------------------------------
# What the machine asks for, and what it is told
# ----------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Poll:
    """Fetch the resource once (one HTTP attempt) and report what came back."""


@dataclass(frozen=True)
class FetchLogs:
    """Read the resource's log once (best effort): ``lines`` lines after skipping ``offset``; report the
    :class:`~.training_log.LogSlice` (or the exception) through :meth:`WaitMachine.on_logs`. ``final``: the read
    after the wait's success."""

    offset: int
    lines: int
    final: bool = False


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Done:
    event: WaitEvent


Action = Poll | FetchLogs | Sleep | Done


class LogLine(NamedTuple):
    """A line for the driver's logger: ``logger.log(level, message, *args, exc_info=error)``."""

    level: int
    message: str
    args: tuple[Any, ...] = ()
    error: BaseException | None = None


class Progress(Protocol[R_contra]):
    """What a wait reports about the work behind a resource, from its log (see :mod:`.progress`)."""

    @property
    def summary_due(self) -> bool:
        """A last read is wanted before the summary of a success."""

    def on_answer(self, resource: R_contra, status: str, now: float) -> None:
        """An answered poll whose status does not end the wait."""

    def on_end(self, resource: R_contra, outcome: Outcome) -> list[LogLine]:
        """A polled answer ends the wait: lines to write now (or ask for a last read through ``summary_due``)."""

    def next_read(self) -> FetchLogs | None:
        """The read to make now, if any."""

    def on_logs(self, result: LogSlice | BaseException, now: float) -> list[LogLine]:
        """What a read brought, or the exception it raised."""

    def summary(self, resource: R_contra) -> list[LogLine]:
        """The lines written after the last read of a success."""


# ----------------------------------------------------------------------------------------------------------------
# The machine
# ----------------------------------------------------------------------------------------------------------------
class WaitMachine(Generic[R]):
    """One wait on one resource. Not thread-safe; one driver feeds it.

    :param policy: What the resource's statuses mean and how to describe them.
    :param resource_id: The id of the resource (for events and log lines).
    :param poll_interval: Seconds between polls (> 0).
    :param deadline: Epoch seconds at which the wait times out; ``None`` for no deadline.
    :param max_consecutive_failures: Failed polls in a row tolerated (>= 1).
    :param started_at: Epoch seconds when the wait began (for the elapsed time in log lines).
    :param last_status: The status already seen before this machine existed (spreads the first poll).
    :param retry_after_cap: The most a server's ``Retry-After`` may delay the next poll; ``None`` for no cap.
    :param rand: A random source returning floats in [0, 1).
    :param progress: Reads of the resource's log between polls, and the lines they give (``None``: no reads).
    """

    # A triggerer holds thousands of these: no per-instance dict.
    __slots__ = (
        "_event", "_next_poll_at", "_rand", "_state", "deadline", "failures", "last_resource", "max_failures",
        "policy", "poll_interval", "progress", "resource_id", "retry_after_cap", "started_at", "status",
    )  # fmt: skip

    def __init__(
        self,
        policy: WaitPolicy[R],
        resource_id: str,
        *,
        poll_interval: float,
        deadline: float | None,
        max_consecutive_failures: int,
        started_at: float,
        last_status: str | None = None,
        retry_after_cap: float | None = None,
        rand: Callable[[], float] = random.random,
        progress: Progress[R] | None = None,
    ) -> None:
        self.policy = policy
        self.resource_id = resource_id
        self.poll_interval = poll_interval
        self.deadline = deadline
        self.max_failures = max_consecutive_failures
        self.started_at = started_at
        self.status = last_status
        self.retry_after_cap = retry_after_cap
        self._rand = rand
        self.failures = 0
        self.last_resource: R | None = None
        self.progress = progress
        self._state = State.NEW
        #: When the next poll is due (meaningful once the first poll is scheduled).
        self._next_poll_at = 0.0
        #: The ending event: held in ENDING and FINAL_READ, final in DONE.
        self._event: WaitEvent | None = None

    @property
    def state(self) -> State:
        return self._state

    @property
    def event(self) -> WaitEvent | None:
        """The ending event, once the wait is over."""
        return self._event if self._state is State.DONE else None

    def _move(self, what: Input) -> None:
        self._state = transition(self._state, what)

    def _expect(self, what: Input, refusal: str) -> None:
        if what not in TRANSITIONS[self._state]:
            raise RefusedTransition(f"{refusal} (the wait is {self._state.name})")

    # ------------------------------------------------------------------------------------------------------------
    # What to do next
    # ------------------------------------------------------------------------------------------------------------
    def next_action(self, now: float) -> Action:
        state = self._state
        if state is State.DONE:
            assert self._event is not None
            return Done(self._event)
        if state in AWAITING_REPORT:
            raise RefusedTransition(
                "next_action() while a fetch is outstanding; report it with on_result()/on_logs() first"
            )
        past_deadline = self.deadline is not None and now >= self.deadline
        if state is State.ENDING:
            assert self._event is not None
            read = None if past_deadline or self.progress is None else self.progress.next_read()
            if read is None:
                return Done(self._end(self._event))
            self._move(Input.READ)
            return read
        if past_deadline:
            return Done(self._end(self._timeout_event()))
        if state is State.NEW:
            spread = self.poll_interval * self._rand() if self.status is not None else 0.0
            self._next_poll_at = now + spread
            self._move(Input.SCHEDULED)
        elif self.progress is not None:
            read = self.progress.next_read()
            if read is not None:
                self._move(Input.READ)
                return read
        if now >= self._next_poll_at:
            self._move(Input.POLL)
            return Poll()
        wake = self._next_poll_at if self.deadline is None else min(self._next_poll_at, self.deadline)
        return Sleep(max(0.0, wake - now))

    # ------------------------------------------------------------------------------------------------------------
    # What happened
    # ------------------------------------------------------------------------------------------------------------
    def observe(self, resource: R, now: float) -> list[LogLine]:
        """Take the result of the check made before the wait (with the hook's own retries), not of a poll."""
        self._expect(Input.OBSERVED, "observe() is for the check before the wait, before any poll")
        return self._on_resource(resource, now, polled=False)

    def on_result(self, result: R | BaseException, now: float) -> list[LogLine]:
        """Take the outcome of the poll :meth:`next_action` asked for: the resource, or the exception it raised."""
        self._expect(Input.ANSWERED, "on_result() without an outstanding poll")
        if isinstance(result, BaseException):
            return self._on_error(result, now)
        return self._on_resource(result, now, polled=True)

    def on_logs(self, result: LogSlice | BaseException, now: float) -> list[LogLine]:
        """Take the outcome of the read :meth:`next_action` asked for (never counted as a failure)."""
        self._expect(Input.LOGS, "on_logs() without an outstanding read")
        assert self.progress is not None  # a read is only asked for by a progress
        self._move(Input.LOGS)
        lines = self.progress.on_logs(result, now)
        if self._state is State.ENDING and not self.progress.summary_due:
            assert self.last_resource is not None and self._event is not None
            lines.extend(self.progress.summary(self.last_resource))
            self._end(self._event)
        return lines

    def _on_resource(self, resource: R, now: float, *, polled: bool) -> list[LogLine]:
        policy = self.policy
        self.failures = 0
        self.last_resource = resource
        status = policy.status_of(resource)
        lines = []
        if status != self.status:
            if self.status is None:
                lines.append(LogLine(logging.INFO, "%s %s is %s", (policy.kind, self.resource_id, status)))
            else:
                lines.append(
                    LogLine(
                        logging.INFO,
                        "%s %s: %s -> %s after %.0f s",
                        (policy.kind, self.resource_id, self.status, status, now - self.started_at),
                    )
                )
            self.status = status
        outcome = policy.outcome_of(status)
        if outcome is not None:
            event = self._make_event(outcome, policy.end_message(resource, outcome))
            if polled and self.progress is not None:
                lines.extend(self.progress.on_end(resource, outcome))
                if self.progress.summary_due:
                    self._event = event
                    self._move(Input.LAST_READ_DUE)
                    return lines
            self._end(event)
        elif polled:
            self._next_poll_at = now + self._jittered_interval()
            self._move(Input.ANSWERED)
            if self.progress is not None:
                self.progress.on_answer(resource, status, now)
        else:
            self._move(Input.OBSERVED)
        return lines

    def _on_error(self, error: BaseException, now: float) -> list[LogLine]:
        kind, rid = self.policy.kind, self.resource_id
        failure = classify(error, gone_ends=self.policy.gone_outcome is not None)
        if isinstance(failure, Gone):
            assert self.policy.gone_outcome is not None
            self.failures = 0
            gone = f"{kind} {rid} is gone (HTTP 404)"
            self._end(self._make_event(self.policy.gone_outcome, gone, http_status=404, request_id=failure.request_id))
            elapsed = now - self.started_at
            return [LogLine(logging.INFO, "%s %s: %s -> gone after %.0f s", (kind, rid, self.status, elapsed))]
        lines = []
        if isinstance(failure, Tolerated):
            self.failures += 1
            if self.failures < self.max_failures:
                self._next_poll_at = now + failure.delay(self._jittered_interval(), self.retry_after_cap)
                self._move(Input.TOLERATED)
                tolerated = (kind, rid, self.failures, self.max_failures, error)
                return [LogLine(logging.WARNING, "%s %s: poll failed (%d of %d tolerated in a row): %s", tolerated)]
            given_up = (kind, rid, self.failures, error)
            lines.append(LogLine(logging.ERROR, "%s %s: %d polls failed in a row; giving up: %s", given_up))
            failure = failure.exhausted
        elif failure.unexpected:
            lines.append(LogLine(logging.ERROR, "%s %s: unexpected error while polling", (kind, rid), error))
        self._end(
            self._make_event(
                Outcome.ERROR, failure.message, http_status=failure.http_status, request_id=failure.request_id
            )
        )
        return lines

    def _jittered_interval(self) -> float:
        return self.poll_interval * (JITTER[0] + (JITTER[1] - JITTER[0]) * self._rand())

    # ------------------------------------------------------------------------------------------------------------
    # Events
    # ------------------------------------------------------------------------------------------------------------
    def _make_event(
        self, outcome: Outcome, message: str, *, http_status: int | None = None, request_id: str | None = None
    ) -> WaitEvent:
        resource = self.last_resource
        summary = self.policy.summary_of(resource) if resource is not None else None
        if request_id is None and resource is not None:
            request_id = self.policy.request_id_of(resource)
        return WaitEvent(
            outcome=outcome,
            resource_id=self.resource_id,
            message=message,
            resource_status=self.status if resource is not None else None,
            resource=summary,
            http_status=http_status,
            request_id=request_id,
        )

    def _timeout_event(self) -> WaitEvent:
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.deadline))
        still = self.status if self.last_resource is not None else "unknown"
        message = (
            f"Timed out waiting for {self.policy.kind.lower()} {self.resource_id}: still {still} at the deadline {when}"
        )
        return self._make_event(Outcome.TIMEOUT, message)

    def _end(self, event: WaitEvent) -> WaitEvent:
        self._move(Input.ENDED)
        self._event = event
        return event
