"""Fixtures of the trigger, sensor and operator tests: the emulator on 127.0.0.1, a connection to it, clocks, log capture
and a stand-in for the task context.

Everything talks real HTTP to :class:`EmulatorThread`; nothing of the package is mocked.
"""

from __future__ import annotations

import json
import logging
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import pytest

from airflow_provider_dashscope.emulator import EmulatorConfig, EmulatorState
from airflow_provider_dashscope.emulator.testing import EmulatorThread, FakeClock

#: A recognisable key: tests assert it never shows up in serialized kwargs, reprs, events or logs.
API_KEY = "sk-waiting-SECRET-7f3a9c"
GET_JOB = "/fine-tunes/{job_id}"
CANCEL_JOB = "/fine-tunes/{job_id}/cancel"
CREATE_JOB = "/fine-tunes"


class PollClock:
    """Emulator clock that moves ``step`` seconds per ``GET /fine-tunes/{job_id}`` the emulator has seen.

    A job seeded with ``running_seconds=k*step`` is RUNNING for the first ``k-1`` polls and ends on poll ``k``,
    whatever the wall clock does: waits are deterministic and no test sleeps for the emulator.
    """

    def __init__(self, step: float = 1.0, start: float | None = None) -> None:
        self.step = step
        self.start = time.time() if start is None else start
        self.state: EmulatorState | None = None

    def __call__(self) -> float:
        polls = self.state.request_count("GET", GET_JOB) if self.state is not None else 0
        return self.start + self.step * polls


class FakeTime:
    """A clock and a sleep for a trigger's wait: sleeping records the seconds and moves the clock, at once."""

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        import asyncio

        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)

    def sync_sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def drive(self, trigger: Any) -> Any:
        """Make ``trigger`` wait on this fake time; returns it."""
        trigger.clock, trigger.sleep = self.clock, self.sleep
        return trigger

    def drive_task(self, task: Any) -> Any:
        """Make an operator's or a sensor's worker-side wait run on this fake time; returns it."""
        task.wait_clock, task.wait_sleep = self.clock, self.sync_sleep
        return task


@pytest.fixture
def make_emulator(monkeypatch: pytest.MonkeyPatch):
    """``make_emulator(clock=None, key=API_KEY, conn_key=None, **config)`` -> a started EmulatorThread.

    It also points the ``dashscope_default`` connection at it (password ``conn_key`` or the emulator's key), with
    fast hook retries (``max_retries=1``, ``retry_base_delay=0.01``). Stopped after the test.
    """
    started: list[EmulatorThread] = []

    def make(clock: Any = None, *, conn_key: str | None = None, **config: Any) -> EmulatorThread:
        config.setdefault("pending_seconds", 0)
        config.setdefault("running_seconds", 3600)
        config.setdefault("canceling_seconds", 0)
        if clock is not None:
            config["clock"] = clock
        state = EmulatorState(EmulatorConfig(api_key=API_KEY, **config))
        if isinstance(clock, PollClock):
            clock.state = state
        emu = EmulatorThread(state).start()
        started.append(emu)
        connection = {
            "conn_type": "dashscope",
            "password": conn_key or API_KEY,
            "host": emu.base_url,
            "extra": {"retry_base_delay": 0.01, "max_retries": 1},
        }
        monkeypatch.setenv("AIRFLOW_CONN_DASHSCOPE_DEFAULT", json.dumps(connection))
        return emu

    yield make
    for emu in started:
        emu.stop()


@pytest.fixture
def emu(make_emulator) -> EmulatorThread:
    """An emulator on the wall clock (jobs run for an hour unless seeded otherwise)."""
    return make_emulator()


@pytest.fixture
def poll_clock() -> PollClock:
    return PollClock(step=1.0)


@pytest.fixture
def poll_emu(make_emulator, poll_clock) -> EmulatorThread:
    """An emulator whose clock advances one second per job poll."""
    return make_emulator(poll_clock)


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock(start=time.time())


def seed(emu: EmulatorThread, job_id: str, **settings: Any) -> str:
    """Seed one job with a fixed id (model ``qwen3-14b`` unless given)."""
    settings.setdefault("model", "qwen3-14b")
    return emu.seed([{"job_id": job_id, **settings}])[0]


def gets(emu: EmulatorThread, job_id: str | None = None) -> int:
    return emu.request_count("GET", GET_JOB, job_id)


def cancels(emu: EmulatorThread, job_id: str | None = None) -> int:
    return emu.request_count("POST", CANCEL_JOB, job_id)


def creates(emu: EmulatorThread) -> int:
    return emu.request_count("POST", CREATE_JOB)


# ------------------------------------------------------------------------------------------------------------------
# Logs: Airflow 2 logs through stdlib logging, Airflow 3 through structlog
# ------------------------------------------------------------------------------------------------------------------
@dataclass
class Logs:
    caplog: pytest.LogCaptureFixture
    structlog_entries: list = field(default_factory=list)

    def lines(self, level: str | None = None) -> list[str]:
        found = [r.getMessage() for r in self.caplog.records if level is None or r.levelname.lower() == level.lower()]
        for entry in self.structlog_entries:
            if level is None or str(entry.get("log_level", "")).lower() == level.lower():
                found.append(str(entry.get("event", "")))
        return found

    def clear(self) -> None:
        self.caplog.clear()
        self.structlog_entries.clear()


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG)
    try:
        from structlog.testing import capture_logs
    except ImportError:  # Airflow 2 has no structlog
        capture_logs = None
    with capture_logs() if capture_logs else nullcontext() as entries:
        yield Logs(caplog, entries if entries is not None else [])


# ------------------------------------------------------------------------------------------------------------------
# A minimal stand-in for Airflow's task context (what the operators read from it: ti.xcom_push, try_number, ...)
# ------------------------------------------------------------------------------------------------------------------
class FakeTI:
    """Records ``xcom_push`` calls; carries the identity fields the Create operator names its jobs after."""

    def __init__(
        self,
        *,
        dag_id: str = "finetune_gate",
        task_id: str = "train",
        run_id: str = "manual__2026-11-25T10:00:00+00:00",
        map_index: int = -1,
        try_number: int = 1,
    ) -> None:
        self.dag_id = dag_id
        self.task_id = task_id
        self.run_id = run_id
        self.map_index = map_index
        self.try_number = try_number
        self.pushes: list[tuple[str, Any]] = []

    def xcom_push(self, key: str, value: Any, **kwargs: Any) -> None:
        json.dumps(value)  # XCom values must be JSON-serializable
        self.pushes.append((key, value))

    @property
    def xcoms(self) -> dict[str, Any]:
        return dict(self.pushes)

    def retry(self) -> FakeTI:
        """The same task instance on its next try."""
        return FakeTI(
            dag_id=self.dag_id,
            task_id=self.task_id,
            run_id=self.run_id,
            map_index=self.map_index,
            try_number=self.try_number + 1,
        )


class FakeDagRun:
    def __init__(self, run_id: str, start_date: Any) -> None:
        self.run_id = run_id
        self.start_date = start_date


def make_context(ti: FakeTI | None = None, *, params: dict[str, Any] | None = None) -> dict[str, Any]:
    import pendulum

    ti = ti or FakeTI()
    run_start = pendulum.now("UTC").subtract(minutes=1)
    return {
        "ti": ti,
        "task_instance": ti,
        "run_id": ti.run_id,
        "dag_run": FakeDagRun(ti.run_id, run_start),
        "params": params or {},
    }


# ------------------------------------------------------------------------------------------------------------------
# Real trigger events, to feed execute_complete exactly what the trigger produces
# ------------------------------------------------------------------------------------------------------------------
EVENT_KINDS = ("success", "failed", "cancelled", "not_found", "error", "timeout")


def event_from_trigger(emu: EmulatorThread, kind: str, job_id: str = "ft-202411251000-e0e0") -> dict[str, Any]:
    """Run the real trigger against ``emu`` (wall clock) until it fires; set up the job so it fires ``kind``."""
    from airflow_provider_dashscope.triggers.fine_tunes import DashScopeFineTuneJobTrigger

    kwargs: dict[str, Any] = {"poll_interval": 0.02}
    if kind == "success":
        seed(emu, job_id, running_seconds=0, usage=2048, finetuned_output=f"qwen3-14b-{job_id}")
    elif kind == "failed":
        seed(emu, job_id, running_seconds=0, outcome="FAILED", code="DataError", message="line 3 is not JSON")
    elif kind == "cancelled":
        seed(emu, job_id, running_seconds=0, outcome="CANCELED", canceling_seconds=0)
    elif kind == "error":
        seed(emu, job_id)
        emu.add_fault(route="GET " + GET_JOB, status=503, times=-1)
        kwargs["max_consecutive_failures"] = 1
    elif kind == "timeout":
        seed(emu, job_id, running_seconds=3600)
        kwargs["deadline"] = time.time() + 0.1
    elif kind != "not_found":
        raise ValueError(kind)
    event = first_event(DashScopeFineTuneJobTrigger(job_id=job_id, **kwargs))
    emu.clear_faults()
    return event


def first_event(trigger: Any) -> dict[str, Any]:
    """Run ``trigger`` on a new event loop until its first event; that event's payload."""
    import asyncio

    async def first() -> dict[str, Any]:
        async for event in trigger.run():
            return event.payload
        raise AssertionError("the trigger ended without an event")

    return asyncio.run(first())


# ------------------------------------------------------------------------------------------------------------------
# One virtual clock for many waits on one event loop (and the emulator)
# ------------------------------------------------------------------------------------------------------------------
class VirtualTime:
    """A clock and a sleep shared by many triggers on one loop: time jumps to the next wake-up only once every wait
    is asleep (none has a request in flight), so what happens per interval is exact, whatever the machine's speed.

    ``emulator_clock`` (a :class:`FakeClock`) moves with it, so the emulator's jobs train in the same time.
    Use :meth:`drive` on each trigger, then ``await vt.run(coroutines, until=...)``.
    """

    def __init__(self, start: float | None = None, emulator_clock: FakeClock | None = None) -> None:
        import heapq

        self._heapq = heapq
        self.now = time.time() if start is None else start
        self.emulator_clock = emulator_clock
        if emulator_clock is not None:
            emulator_clock.set(self.now)
        self._sleepers: list = []
        self._seq = 0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        import asyncio

        future = asyncio.get_running_loop().create_future()
        self._seq += 1
        self._heapq.heappush(self._sleepers, (self.now + max(0.0, seconds), self._seq, future))
        await future

    def drive(self, trigger: Any) -> Any:
        trigger.clock, trigger.sleep = self.clock, self.sleep
        return trigger

    def _advance_to(self, when: float) -> None:
        if when > self.now:
            if self.emulator_clock is not None:
                self.emulator_clock.advance(when - self.now)
            self.now = when

    async def run(
        self,
        coroutines: list,
        *,
        until: float | None = None,
        timeout: float = 60.0,
        sleepers: int | None = None,
        idle: Any = None,
    ) -> list:
        """Run the coroutines to the end (or cancel them at virtual time ``until``); return their results.

        Time moves when every coroutine is asleep, or, with ``sleepers`` (a number, or a callable giving it), when
        that many sleeps are pending and ``idle()`` says nothing else is at work (e.g. one shared poll loop whose
        subscribers have taken every event).
        """
        import asyncio

        tasks = [asyncio.ensure_future(c) for c in coroutines]
        deadline = time.monotonic() + timeout
        while not all(t.done() for t in tasks):
            if time.monotonic() > deadline:
                for t in tasks:
                    t.cancel()
                raise AssertionError(f"virtual-time run did not finish within {timeout:.0f} s of real time")
            await asyncio.sleep(0.002)  # real time for requests in flight
            self._sleepers = [s for s in self._sleepers if not s[2].done()]
            self._heapq.heapify(self._sleepers)
            live = sum(1 for t in tasks if not t.done())
            needed = live if sleepers is None else sleepers() if callable(sleepers) else sleepers
            if not self._sleepers or len(self._sleepers) < needed:
                continue
            if idle is not None and not idle():
                continue
            when = self._sleepers[0][0]
            if until is not None and when > until:
                self._advance_to(until)
                for t in tasks:
                    t.cancel()
                break
            self._advance_to(when)
            while self._sleepers and self._sleepers[0][0] <= self.now:
                _, _, future = self._heapq.heappop(self._sleepers)
                future.set_result(None)
        return await asyncio.gather(*tasks, return_exceptions=True)
