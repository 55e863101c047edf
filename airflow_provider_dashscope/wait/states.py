"""Where a wait is and how it moves: the states of a :class:`~.machine.WaitMachine` and the one table of moves.

A wait begins :attr:`State.NEW` and ends :attr:`State.DONE`. Each thing that happens to it is an :class:`Input`;
:func:`transition` gives the next state from :data:`TRANSITIONS` and refuses any move the table does not hold, so
a driver that reports out of turn (a poll it was not asked for, a second report of one read) is told at once::

    NEW --OBSERVED--> NEW          NEW --SCHEDULED--> WAITING
    WAITING --POLL--> POLLING      WAITING --READ--> READING --LOGS--> WAITING
    POLLING --ANSWERED|TOLERATED--> WAITING
    POLLING --LAST_READ_DUE--> ENDING --READ--> FINAL_READ --LOGS--> ENDING
    NEW | WAITING | POLLING | ENDING --ENDED--> DONE
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum


class State(Enum):
    """Where one wait is."""

    #: Nothing is scheduled yet; the check before the wait may be observed.
    NEW = "new"
    #: The next poll is scheduled: sleep until it, or read the log meanwhile.
    WAITING = "waiting"
    #: A poll is outstanding (:meth:`WaitMachine.on_result` reports it).
    POLLING = "polling"
    #: A read of the log between polls is outstanding (:meth:`WaitMachine.on_logs` reports it).
    READING = "reading"
    #: A poll saw the end; the progress reads the end of the log before the summary.
    ENDING = "ending"
    #: That last read is outstanding.
    FINAL_READ = "final_read"
    #: The wait is over; :meth:`WaitMachine.next_action` gives the same :class:`Done` for ever.
    DONE = "done"


class Input(Enum):
    """What happens to a wait."""

    #: The check before the wait answered with a status that does not end it.
    OBSERVED = "observed"
    #: The first poll got its time.
    SCHEDULED = "scheduled"
    #: The machine asks for a poll ...
    POLL = "poll"
    #: ... or for a read of the log.
    READ = "read"
    #: A poll answered with a status that does not end the wait.
    ANSWERED = "answered"
    #: A poll failed, within the failure budget.
    TOLERATED = "tolerated"
    #: A poll answered with an end, and the progress wants a last read of the log first.
    LAST_READ_DUE = "last_read_due"
    #: A read of the log was reported.
    LOGS = "logs"
    #: The wait is over: an end status, a fatal failure, a spent budget, the resource gone, or the deadline.
    ENDED = "ended"


#: Every move a wait can make; any other is refused.
TRANSITIONS: Mapping[State, Mapping[Input, State]] = {
    State.NEW: {Input.OBSERVED: State.NEW, Input.SCHEDULED: State.WAITING, Input.ENDED: State.DONE},
    State.WAITING: {Input.POLL: State.POLLING, Input.READ: State.READING, Input.ENDED: State.DONE},
    State.POLLING: {
        Input.ANSWERED: State.WAITING,
        Input.TOLERATED: State.WAITING,
        Input.LAST_READ_DUE: State.ENDING,
        Input.ENDED: State.DONE,
    },
    State.READING: {Input.LOGS: State.WAITING},
    State.ENDING: {Input.READ: State.FINAL_READ, Input.ENDED: State.DONE},
    State.FINAL_READ: {Input.LOGS: State.ENDING},
    State.DONE: {},
}

#: The states in which the driver owes a report (of a poll or a read) before it may ask what to do next.
AWAITING_REPORT = frozenset({State.POLLING, State.READING, State.FINAL_READ})


class RefusedTransition(RuntimeError):
    """A move the table does not allow: a driver reported out of turn (a bug in the driver)."""


def transition(state: State, what: Input) -> State:
    """The state after ``what`` happens in ``state``; :class:`RefusedTransition` if that cannot happen there."""
    try:
        return TRANSITIONS[state][what]
    except KeyError:
        raise RefusedTransition(f"{what.name} cannot happen to a wait that is {state.name}") from None
