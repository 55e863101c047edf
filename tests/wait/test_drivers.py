"""The sync and async drivers: they sleep, fetch and log exactly what the machine says, nothing else."""

from __future__ import annotations

import asyncio
import logging

import pytest

from airflow_provider_dashscope.exceptions import ServiceUnavailableError
from airflow_provider_dashscope.models import FineTuneJob
from airflow_provider_dashscope.wait.drivers import run_async, run_sync
from airflow_provider_dashscope.wait.fine_tunes import FINE_TUNE_JOB
from airflow_provider_dashscope.wait.machine import WaitMachine
from airflow_provider_dashscope.wait.outcomes import Outcome

JOB_ID = "ft-202410291653-1c7f"
T0 = 1_000_000.0


class Script:
    """Answers of successive polls (a job status or an exception), a fake clock, and what was slept."""

    def __init__(self, *answers) -> None:
        self.answers = list(answers)
        self.now = T0
        self.sleeps: list[float] = []
        self.fetches = 0

    def fetch(self) -> FineTuneJob:
        self.fetches += 1
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return FineTuneJob.from_api({"job_id": JOB_ID, "status": answer})

    async def afetch(self) -> FineTuneJob:
        await asyncio.sleep(0)
        return self.fetch()

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


def machine(**kwargs) -> WaitMachine[FineTuneJob]:
    kwargs.setdefault("deadline", None)
    return WaitMachine(
        FINE_TUNE_JOB,
        JOB_ID,
        poll_interval=10.0,
        max_consecutive_failures=2,
        started_at=T0,
        rand=lambda: 0.5,
        **kwargs,
    )


BUSY = ServiceUnavailableError("busy", status_code=503)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_both_drivers_carry_out_the_same_decisions(mode: str, caplog) -> None:
    script = Script("RUNNING", BUSY, "RUNNING", "SUCCEEDED")
    log = logging.getLogger("test.drivers")
    caplog.set_level(logging.INFO, logger="test.drivers")
    if mode == "sync":
        event = run_sync(machine(), script.fetch, log, clock=script.clock, sleep=script.sleep)
    else:
        event = asyncio.run(run_async(machine(), script.afetch, log, clock=script.clock, sleep=script.asleep))

    assert event.outcome is Outcome.SUCCESS and event.resource_status == "SUCCEEDED"
    assert script.fetches == 4 and script.sleeps == [10.0, 10.0, 10.0]
    assert [r.getMessage() for r in caplog.records if r.name == "test.drivers"] == [
        f"Fine-tune job {JOB_ID} is RUNNING",
        f"Fine-tune job {JOB_ID}: poll failed (1 of 2 tolerated in a row): {BUSY}",
        f"Fine-tune job {JOB_ID}: RUNNING -> SUCCEEDED after 30 s",
    ]


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_bug_in_a_fetch_ends_the_wait_with_an_error_event_and_its_traceback(mode: str, caplog) -> None:
    script = Script(ZeroDivisionError("division by zero"))
    log = logging.getLogger("test.drivers")
    if mode == "sync":
        event = run_sync(machine(), script.fetch, log, clock=script.clock, sleep=script.sleep)
    else:
        event = asyncio.run(run_async(machine(), script.afetch, log, clock=script.clock, sleep=script.asleep))

    assert event.outcome is Outcome.ERROR and event.message == "ZeroDivisionError: division by zero"
    [record] = [r for r in caplog.records if r.name == "test.drivers"]
    assert record.levelno == logging.ERROR and record.exc_info and record.exc_info[0] is ZeroDivisionError


def test_cancellation_passes_through_the_async_driver() -> None:
    async def cancelled() -> FineTuneJob:
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(run_async(machine(), cancelled, logging.getLogger("test.drivers")))
