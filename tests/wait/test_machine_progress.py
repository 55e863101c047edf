"""The wait machine with a training progress: log reads between polls never change the schedule, the failure budget
or the outcome. Plain numbers, no socket."""

from __future__ import annotations

import asyncio
import logging

import pytest

from airflow_provider_dashscope.exceptions import ServiceUnavailableError
from airflow_provider_dashscope.models import FineTuneJob
from airflow_provider_dashscope.wait.drivers import run_async, run_sync
from airflow_provider_dashscope.wait.fine_tunes import FINE_TUNE_JOB
from airflow_provider_dashscope.wait.machine import Done, FetchLogs, Poll, Sleep, WaitMachine
from airflow_provider_dashscope.wait.outcomes import Outcome
from airflow_provider_dashscope.wait.progress import TrainingProgress
from airflow_provider_dashscope.wait.training_log import LogSlice

JOB_ID = "ft-202410291653-1c7f"
T0 = 1_000_000.0


def job(status: str, **fields) -> FineTuneJob:
    return FineTuneJob.from_api(
        {"job_id": JOB_ID, "status": status, "hyper_parameters": {"n_epochs": 2}, **fields}, "req-1"
    )


def machine(every_polls: int = 2, **kwargs) -> WaitMachine[FineTuneJob]:
    kwargs.setdefault("poll_interval", 10.0)
    kwargs.setdefault("deadline", None)
    kwargs.setdefault("max_consecutive_failures", 2)
    kwargs.setdefault("started_at", T0)
    kwargs.setdefault("rand", lambda: 0.5)  # every sleep is exactly one interval
    progress = TrainingProgress(JOB_ID, every_polls=every_polls, rand=lambda: 0.999)  # first read: at every_polls
    return WaitMachine(FINE_TUNE_JOB, JOB_ID, progress=progress, **kwargs)


def busy() -> ServiceUnavailableError:
    return ServiceUnavailableError("busy", status_code=503, code="ServiceUnavailable")


def test_a_read_comes_between_polls_and_never_moves_the_poll_schedule():
    m = machine(every_polls=1)
    assert m.next_action(T0) == Poll()
    m.on_result(job("RUNNING"), T0)
    assert m.next_action(T0) == FetchLogs(0, 1)  # the first RUNNING answer: learn where the log ends
    m.on_logs(LogSlice(0, 2, ()), T0 + 3)  # the read took 3 s
    assert m.next_action(T0 + 3) == Sleep(pytest.approx(7.0))  # the next poll is still one interval after the last
    assert m.next_action(T0 + 10) == Poll()


def test_failed_reads_never_spend_the_failure_budget_nor_end_the_wait():
    m = machine(every_polls=1, max_consecutive_failures=2)
    now = T0
    for _ in range(6):  # six answered polls, each followed by a read that fails
        assert m.next_action(now) == Poll()
        m.on_result(job("RUNNING"), now)
        action = m.next_action(now)
        if isinstance(action, FetchLogs):
            m.on_logs(busy(), now)
        now += 10
        assert m.failures == 0
    assert m.next_action(now) == Poll()
    m.on_result(busy(), now)
    assert m.failures == 1  # a failed poll still counts, from zero
    m.next_action(now + 10)
    m.on_result(job("SUCCEEDED"), now + 10)
    action = m.next_action(now + 10)
    if isinstance(action, FetchLogs):
        m.on_logs(busy(), now + 10)
        action = m.next_action(now + 10)
    assert isinstance(action, Done) and action.event.outcome is Outcome.SUCCESS


def test_a_success_waits_for_one_last_read_and_its_summary_then_is_done():
    m = machine(every_polls=1)
    m.next_action(T0)
    m.on_result(job("RUNNING"), T0)
    m.next_action(T0)
    m.on_logs(LogSlice(0, 2, ()), T0)
    m.next_action(T0 + 10)
    lines = m.on_result(job("SUCCEEDED", usage=777), T0 + 10)
    assert [line.message % line.args for line in lines] == [f"Fine-tune job {JOB_ID}: RUNNING -> SUCCEEDED after 10 s"]
    assert m.event is None  # not done yet
    assert m.next_action(T0 + 10) == FetchLogs(2, 1000, final=True)
    lines = m.on_logs(LogSlice(2, 4, ("{'loss': 0.5, 'epoch': 2.0}", "##FT_COMPLETE##")), T0 + 11)
    assert [line.message % line.args for line in lines] == [
        f"Fine-tune job {JOB_ID} finished training: 777 tokens, final loss 0.5000"
    ]
    action = m.next_action(T0 + 11)
    assert isinstance(action, Done)
    assert action.event.outcome is Outcome.SUCCESS and action.event.resource["usage"] == 777


def test_past_the_deadline_a_success_is_not_held_for_its_last_read():
    m = machine(every_polls=1, deadline=T0 + 15)
    m.next_action(T0)
    m.on_result(job("RUNNING"), T0)
    m.next_action(T0)
    m.on_logs(LogSlice(0, 2, ()), T0)
    m.next_action(T0 + 10)
    m.on_result(job("SUCCEEDED"), T0 + 16)  # the answer came back after the deadline
    action = m.next_action(T0 + 16)
    assert isinstance(action, Done) and action.event.outcome is Outcome.SUCCESS


@pytest.mark.parametrize(("status", "outcome"), [("FAILED", Outcome.FAILED), ("CANCELED", Outcome.CANCELLED)])
def test_other_ends_are_done_at_once_without_a_read(status, outcome):
    m = machine(every_polls=1)
    m.next_action(T0)
    m.on_result(job("RUNNING"), T0)
    m.next_action(T0)
    m.on_logs(LogSlice(0, 2, ()), T0)
    m.next_action(T0 + 10)
    m.on_result(job(status), T0 + 10)
    action = m.next_action(T0 + 10)
    assert isinstance(action, Done) and action.event.outcome is outcome


def test_the_check_before_waiting_is_not_a_poll_and_asks_for_no_read():
    m = machine(every_polls=1)
    m.observe(job("RUNNING"), T0)
    assert isinstance(m.next_action(T0), Sleep)


def test_an_outstanding_read_must_be_reported_first():
    m = machine(every_polls=1)
    m.next_action(T0)
    m.on_result(job("RUNNING"), T0)
    assert isinstance(m.next_action(T0), FetchLogs)
    with pytest.raises(RuntimeError, match="outstanding"):
        m.next_action(T0)
    with pytest.raises(RuntimeError, match="on_result"):
        m.on_result(job("RUNNING"), T0)


def test_on_logs_without_a_read_is_refused():
    with pytest.raises(RuntimeError, match="on_logs"):
        machine().on_logs(LogSlice(0, 1, ()), T0)


# ----------------------------------------------------------------------------------------------------------------
# The drivers carry out the reads
# ----------------------------------------------------------------------------------------------------------------
class Script:
    def __init__(self, statuses, log_lines) -> None:
        self.statuses = list(statuses)
        self.log_lines = list(log_lines)
        self.now = T0
        self.reads: list[FetchLogs] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def fetch(self) -> FineTuneJob:
        return job(self.statuses.pop(0), usage=42)

    def fetch_logs(self, read: FetchLogs) -> LogSlice:
        self.reads.append(read)
        lines = self.log_lines[read.offset : read.offset + read.lines]
        return LogSlice(read.offset, len(self.log_lines), tuple(lines))


LINES = ["header", "{'loss': 2.0, 'epoch': 0.5}", "{'loss': 1.0, 'epoch': 1.0}", "{'loss': 0.5, 'epoch': 2.0}"]


def test_run_sync_reads_the_log_and_writes_progress_and_summary(caplog):
    caplog.set_level(logging.INFO)
    script = Script(["RUNNING", "RUNNING", "RUNNING", "SUCCEEDED"], [])
    polls = 0

    def fetch() -> FineTuneJob:  # the log grows by one line per poll
        nonlocal polls
        polls += 1
        script.log_lines = LINES[: polls + 1]
        return script.fetch()

    event = run_sync(
        machine(every_polls=1), fetch, logging.getLogger("t"), clock=script.clock, sleep=script.sleep,
        fetch_logs=script.fetch_logs,
    )  # fmt: skip
    assert event.outcome is Outcome.SUCCESS
    assert [(r.offset, r.lines, r.final) for r in script.reads] == [
        (0, 1, False), (2, 1000, False), (3, 1000, False), (4, 1000, True),
    ]  # fmt: skip
    messages = [r.getMessage() for r in caplog.records if "training" in r.getMessage()]
    assert messages == [
        f"Fine-tune job {JOB_ID} training: epoch 1.00/2 (50%), loss 1.0000",
        f"Fine-tune job {JOB_ID} training: epoch 2.00/2 (100%), loss 0.5000",
        f"Fine-tune job {JOB_ID} finished training: 42 tokens, final loss 0.5000",
    ]


def test_run_async_reads_the_log_the_same_way():
    script = Script(["RUNNING", "SUCCEEDED"], LINES)

    async def fetch() -> FineTuneJob:
        return script.fetch()

    async def fetch_logs(read: FetchLogs) -> LogSlice:
        return script.fetch_logs(read)

    async def asleep(seconds: float) -> None:
        script.sleep(seconds)

    event = asyncio.run(
        run_async(
            machine(every_polls=2), fetch, logging.getLogger("t"), clock=script.clock, sleep=asleep,
            fetch_logs=fetch_logs,
        )
    )  # fmt: skip
    assert event.outcome is Outcome.SUCCESS
    # One RUNNING answer: no read yet; at the success, the end of the log in two steps (where it ends, then its
    # last lines).
    assert [(r.offset, r.lines, r.final) for r in script.reads] == [(0, 1, True), (0, 1000, True)]


def test_a_driver_without_fetch_logs_turns_progress_off_and_still_ends_the_wait(caplog):
    script = Script(["RUNNING", "RUNNING", "SUCCEEDED"], LINES)
    event = run_sync(
        machine(every_polls=1), script.fetch, logging.getLogger("t"), clock=script.clock, sleep=script.sleep
    )
    assert event.outcome is Outcome.SUCCESS
    assert any("no progress lines for this wait" in r.getMessage() for r in caplog.records)
