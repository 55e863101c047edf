"""The wait's states and its one table of moves: every allowed move, every refused one, and a machine that follows it."""

from __future__ import annotations

import itertools

import pytest

from airflow_provider_dashscope.exceptions import ServiceUnavailableError
from airflow_provider_dashscope.models import FineTuneJob
from airflow_provider_dashscope.wait.fine_tunes import FINE_TUNE_JOB
from airflow_provider_dashscope.wait.machine import Done, FetchLogs, Poll, Sleep, WaitMachine
from airflow_provider_dashscope.wait.progress import TrainingProgress
from airflow_provider_dashscope.wait.states import (
    AWAITING_REPORT,
    TRANSITIONS,
    Input,
    RefusedTransition,
    State,
    transition,
)
from airflow_provider_dashscope.wait.training_log import LogSlice

JOB_ID = "ft-202410291653-1c7f"
T0 = 1_000_000.0

#: The spec, written out: (state, what happens) -> the next state. Every pair not here is refused.
ALLOWED = {
    (State.NEW, Input.OBSERVED): State.NEW,
    (State.NEW, Input.SCHEDULED): State.WAITING,
    (State.NEW, Input.ENDED): State.DONE,
    (State.WAITING, Input.POLL): State.POLLING,
    (State.WAITING, Input.READ): State.READING,
    (State.WAITING, Input.ENDED): State.DONE,
    (State.POLLING, Input.ANSWERED): State.WAITING,
    (State.POLLING, Input.TOLERATED): State.WAITING,
    (State.POLLING, Input.LAST_READ_DUE): State.ENDING,
    (State.POLLING, Input.ENDED): State.DONE,
    (State.READING, Input.LOGS): State.WAITING,
    (State.ENDING, Input.READ): State.FINAL_READ,
    (State.ENDING, Input.ENDED): State.DONE,
    (State.FINAL_READ, Input.LOGS): State.ENDING,
}
REFUSED = sorted(set(itertools.product(State, Input)) - set(ALLOWED), key=lambda pair: (pair[0].name, pair[1].name))


def cases(pairs) -> list:
    return [pytest.param(state, what, id=f"{state.name}-{what.name}") for state, what in pairs]


@pytest.mark.parametrize(("state", "what"), cases(ALLOWED))
def test_every_allowed_move(state: State, what: Input) -> None:
    assert transition(state, what) is ALLOWED[state, what]


@pytest.mark.parametrize(("state", "what"), cases(REFUSED))
def test_every_other_move_is_refused(state: State, what: Input) -> None:
    with pytest.raises(RefusedTransition, match=f"{what.name} cannot happen to a wait that is {state.name}"):
        transition(state, what)


def test_the_table_is_exactly_the_spec() -> None:
    table = {(state, what): target for state, moves in TRANSITIONS.items() for what, target in moves.items()}
    assert table == ALLOWED
    assert set(TRANSITIONS) == set(State)
    assert len(REFUSED) == len(State) * len(Input) - len(ALLOWED) == 49
    assert issubclass(RefusedTransition, RuntimeError)


def test_done_is_the_only_end_and_every_state_reaches_it() -> None:
    assert TRANSITIONS[State.DONE] == {}
    for start in State:
        seen, frontier = {start}, [start]
        while frontier:
            for target in TRANSITIONS[frontier.pop()].values():
                if target not in seen:
                    seen.add(target)
                    frontier.append(target)
        assert State.DONE in seen, start


def test_a_report_is_owed_exactly_where_only_reports_may_come() -> None:
    reports = {Input.ANSWERED, Input.TOLERATED, Input.LAST_READ_DUE, Input.LOGS, Input.ENDED}
    owing = {state for state, moves in TRANSITIONS.items() if moves and set(moves) <= reports}
    assert owing == AWAITING_REPORT == {State.POLLING, State.READING, State.FINAL_READ}


# ----------------------------------------------------------------------------------------------------------------
# The machine follows the table
# ----------------------------------------------------------------------------------------------------------------
def job(status: str) -> FineTuneJob:
    return FineTuneJob.from_api({"job_id": JOB_ID, "status": status, "hyper_parameters": {"n_epochs": 2}}, "req-1")


def machine(**kwargs) -> WaitMachine[FineTuneJob]:
    kwargs.setdefault("max_consecutive_failures", 2)
    return WaitMachine(
        FINE_TUNE_JOB, JOB_ID, poll_interval=10.0, deadline=None, started_at=T0, rand=lambda: 0.5, **kwargs
    )


def walk(m: WaitMachine[FineTuneJob], answers: list, logs: list) -> list[State]:
    """Drive ``m`` from the check before the wait to its end; the states it passes, each once in a row."""
    answers_left, logs_left = iter(answers), iter(logs)
    states = [m.state]
    m.observe(job("RUNNING"), T0)
    states.append(m.state)
    now = T0
    while not isinstance(action := m.next_action(now), Done):
        states.append(m.state)
        if isinstance(action, Sleep):
            now += action.seconds
        elif isinstance(action, Poll):
            m.on_result(next(answers_left), now)
        else:
            assert isinstance(action, FetchLogs)
            m.on_logs(next(logs_left), now)
        states.append(m.state)
    assert action.event == m.event and m.event.succeeded
    return [state for i, state in enumerate(states) if i == 0 or state is not states[i - 1]]


S = State


def test_a_wait_with_progress_walks_the_table_from_new_to_done() -> None:
    m = machine(progress=TrainingProgress(JOB_ID, every_polls=1, rand=lambda: 0.999))
    answers = [job("RUNNING"), ServiceUnavailableError("busy", status_code=503), job("SUCCEEDED")]
    assert walk(m, answers, [LogSlice(0, 1, ("x",)), LogSlice(1, 3, ("b", "c"))]) == [
        S.NEW, S.WAITING, S.POLLING, S.WAITING, S.READING, S.WAITING, S.POLLING, S.WAITING, S.POLLING, S.ENDING,
        S.FINAL_READ, S.DONE,  # the last read's report passes ENDING on its way to DONE (no further read is due)
    ]  # fmt: skip


def test_a_success_before_any_read_takes_two_last_reads() -> None:
    m = machine(progress=TrainingProgress(JOB_ID, every_polls=100, rand=lambda: 0.999))
    logs = [LogSlice(0, 30, ("a",)), LogSlice(10, 30, ("{'train_runtime': 60.0, 'epoch': 2.0}",))]
    assert walk(m, [job("RUNNING"), job("SUCCEEDED")], logs) == [
        S.NEW, S.WAITING, S.POLLING, S.WAITING, S.POLLING, S.ENDING,
        S.FINAL_READ, S.ENDING,  # where the log ends ...
        S.FINAL_READ, S.DONE,  # ... then its last lines
    ]  # fmt: skip


def test_the_event_shows_only_once_the_wait_is_done() -> None:
    progress = TrainingProgress(JOB_ID, every_polls=1, rand=lambda: 0.999)
    m = machine(progress=progress)
    m.next_action(T0)
    m.on_result(job("RUNNING"), T0)
    m.next_action(T0)
    m.on_logs(LogSlice(0, 3, ("x",)), T0)
    m.next_action(T0 + 10)
    m.on_result(job("SUCCEEDED"), T0 + 10)
    assert m.state is State.ENDING and m.event is None  # held for the last read
    m.next_action(T0 + 10)
    m.on_logs(ServiceUnavailableError("busy", status_code=503), T0 + 10)
    assert m.state is State.DONE and m.event is not None and m.event.succeeded


@pytest.mark.parametrize(
    ("setup", "call", "refusal"),
    [
        ("new", "on_result", "on_result() without an outstanding poll (the wait is NEW)"),
        ("new", "on_logs", "on_logs() without an outstanding read (the wait is NEW)"),
        ("polling", "next_action", "next_action() while a fetch is outstanding"),
        ("polling", "observe", "observe() is for the check before the wait, before any poll (the wait is POLLING)"),
        ("polling", "on_logs", "on_logs() without an outstanding read (the wait is POLLING)"),
        ("waiting", "on_result", "on_result() without an outstanding poll (the wait is WAITING)"),
        ("waiting", "observe", "observe() is for the check before the wait, before any poll (the wait is WAITING)"),
        ("done", "on_result", "on_result() without an outstanding poll (the wait is DONE)"),
        ("done", "observe", "observe() is for the check before the wait, before any poll (the wait is DONE)"),
    ],
)
def test_a_report_out_of_turn_is_refused_and_changes_nothing(setup: str, call: str, refusal: str) -> None:
    m = machine()
    if setup != "new":
        m.next_action(T0)
    if setup == "waiting":
        m.on_result(job("RUNNING"), T0)
    if setup == "done":
        m.on_result(job("FAILED"), T0)
    before = m.state
    calls = {
        "next_action": lambda: m.next_action(T0),
        "observe": lambda: m.observe(job("RUNNING"), T0),
        "on_result": lambda: m.on_result(job("RUNNING"), T0),
        "on_logs": lambda: m.on_logs(LogSlice(0, 0, ()), T0),
    }
    with pytest.raises(RefusedTransition) as info:
        calls[call]()
    assert str(info.value).startswith(refusal)
    assert m.state is before
