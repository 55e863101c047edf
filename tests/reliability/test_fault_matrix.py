"""The fault matrix, hook and trigger columns: every fault of ``_faults.FAULTS``, injected over loopback.

"recover": the fault happens fewer times than the budget allows, and the call returns the right job.
"exhaust": the fault never stops; the call ends with a typed error that names the job id (and the request id when
the API sent one) after exactly the budget: 4 HTTP attempts for the sync hook (``max_retries=3``), 4 failed polls
for the trigger (``max_consecutive_failures=4``). The hook's sleeps are recorded (``hook._sleep``) and the trigger's
and the worker-side wait's run on a recorded fake time, so Retry-After handling is checked without waiting for it.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import time
from typing import Any

import pytest

from airflow_provider_dashscope._http.async_transport import AsyncTransport
from airflow_provider_dashscope._http.sync_transport import SyncTransport
from airflow_provider_dashscope.emulator.testing import EmulatorThread
from airflow_provider_dashscope.exceptions import DashScopeError, DashScopeTransportError
from airflow_provider_dashscope.hooks.dashscope import DashScopeHook
from airflow_provider_dashscope.models import JobStatus
from airflow_provider_dashscope.triggers.fine_tunes import DashScopeFineTuneJobTrigger
from airflow_provider_dashscope.wait.fine_tunes import FINE_TUNE_JOB
from airflow_provider_dashscope.wait.outcomes import WaitEvent

from ._faults import FAULTS, HOOK_ATTEMPTS, TRIGGER_POLLS, Fault
from .conftest import (
    GET_JOB,
    assert_no_key,
    closed_port,
    conn_json,
    error_texts,
    seed_job,
)

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
RETRY_BASE, RETRY_CAP = 0.01, 0.05  # the connection's retry_base_delay / retry_max_delay
#: No single wait between two polls may exceed this here (poll interval 0.01 s, retry cap 0.05 s): a server must not
#: be able to stall a wait with one header.
MAX_TRIGGER_SLEEP = 1.0


def cases(path: str, case: str) -> list:
    params = []
    for fault in FAULTS:
        reason = fault.xfail.get(f"{path}-{case}")
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        params.append(pytest.param(fault, id=fault.key, marks=marks))
    return params


class Injector:
    """Injects a fault for one job and records every sleep; "heals" a transport fault after N failed attempts."""

    def __init__(self, emu: EmulatorThread, monkeypatch: pytest.MonkeyPatch) -> None:
        self.emu = emu
        self.monkeypatch = monkeypatch
        self.sleeps: list[float] = []
        self.servers: list[EmulatorThread] = []
        self._heal_after: int | None = None
        self._heal = None

    def inject(self, fault: Fault, job_id: str, times: int) -> str:
        """Arm ``fault`` ``times`` times (-1: forever) for ``job_id``; return the connection id to use."""
        if fault.fault is not None:
            self.emu.add_fault(route="GET " + GET_JOB, job_id=job_id, times=times, **fault.fault)
            return "dashscope_default"
        if fault.transport == "refused":
            if times == -1:
                return "refused"
            port = closed_port()
            self.monkeypatch.setenv("AIRFLOW_CONN_REFUSED_THEN_UP", conn_json(f"http://127.0.0.1:{port}/api/v1"))
            # The API comes up (on the refused port) after `times` refused attempts.
            self._arm(times, lambda: self.servers.append(EmulatorThread(self.emu.state, port=port).start()))
            return "refused_then_up"
        if fault.transport == "dns":
            if times == -1:
                return "dns"
            host = "dns-recovers.localhost"
            resolves = {"ok": False}
            real_getaddrinfo = socket.getaddrinfo

            def getaddrinfo(name, *args, **kwargs):
                if name == host:
                    if not resolves["ok"]:
                        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
                    name = "127.0.0.1"
                return real_getaddrinfo(name, *args, **kwargs)

            self.monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
            self.monkeypatch.setenv("AIRFLOW_CONN_DNS_THEN_UP", conn_json(f"http://{host}:{self.emu.port}/api/v1"))
            self._arm(times, lambda: resolves.update(ok=True))
            return "dns_then_up"
        raise AssertionError(fault)

    def _arm(self, after: int, heal) -> None:
        self._heal_after, self._heal = after, heal

    def slept(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if self._heal is not None and len(self.sleeps) == self._heal_after:
            self._heal()
            self._heal = None


@pytest.fixture
def injector(conn, monkeypatch):
    injector = Injector(conn, monkeypatch)
    yield injector
    for server in injector.servers:
        server.stop()


@pytest.fixture
def attempts(monkeypatch) -> dict[str, int]:
    """Count the hook's attempts (one per HTTP request it makes), sync and async."""
    counter = {"sync": 0, "async": 0}
    send_once, asend_once = SyncTransport._send_once, AsyncTransport._send_once

    def counting_send_once(self, *args, **kwargs):
        counter["sync"] += 1
        return send_once(self, *args, **kwargs)

    async def counting_asend_once(self, *args, **kwargs):
        counter["async"] += 1
        return await asend_once(self, *args, **kwargs)

    monkeypatch.setattr(SyncTransport, "_send_once", counting_send_once)
    monkeypatch.setattr(AsyncTransport, "_send_once", counting_asend_once)
    return counter


def gets(emu: EmulatorThread, job_id: str) -> int:
    return emu.request_count("GET", GET_JOB, job_id)


def check_hook_sleeps(fault: Fault, sleeps: list[float]) -> None:
    """Retry-After is waited (capped at retry_max_delay); otherwise capped exponential backoff with equal jitter."""
    retry_after = (fault.fault or {}).get("retry_after")
    for attempt, seconds in enumerate(sleeps, start=1):
        if retry_after is not None:
            assert seconds == pytest.approx(min(float(retry_after), RETRY_CAP)), sleeps
        else:
            backoff = min(RETRY_CAP, RETRY_BASE * 2 ** (attempt - 1))
            assert backoff / 2 - 1e-9 <= seconds <= backoff + 1e-9, sleeps


def check_error(fault: Fault, error: BaseException, job_id: str) -> None:
    """A clear typed error: the class, the job id, the HTTP status, the request id when the API sent one."""
    text = str(error)
    assert isinstance(error, DashScopeError) and isinstance(error, fault.error), repr(error)
    assert job_id in text, text
    if fault.http_status is not None:
        assert error.status_code == fault.http_status, text
        assert f"HTTP {fault.http_status}" in text, text
    request_id = getattr(error, "request_id", None)
    if fault.request_id:
        assert request_id and UUID.fullmatch(request_id), text
        assert request_id in text, text
    if isinstance(error, DashScopeTransportError):
        if fault.transport in ("refused", "dns"):
            assert error.connect_failed and "could not connect" in text, text
        if fault.key in ("read_timeout", "very_slow"):
            assert error.timeout and "timed out" in text, text
    assert_no_key(*error_texts(error))


# ------------------------------------------------------------------------------------------------------------------
# Sync hook
# ------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("fault", cases("hook", "recover"))
def test_hook_recovers_when_the_fault_stops_within_the_budget(fault: Fault, conn, injector, attempts):
    job_id = f"ft-hook-recover-{fault.key}"
    expected = seed_job(conn, job_id)
    times = fault.recover_times
    assert times < HOOK_ATTEMPTS
    hook = DashScopeHook(injector.inject(fault, job_id, times))
    hook._sleep = injector.slept

    if not fault.terminal_error:
        # Not an error: each call returns the job with the unknown status (not terminal); the caller keeps waiting.
        seen = [hook.get_fine_tune_job(job_id) for _ in range(times + 1)]
        assert [job.status_text for job in seen] == ["PAUSED"] * times + ["SUCCEEDED"]
        assert not any(job.is_terminal for job in seen[:-1])
        assert injector.sleeps == [] and attempts["sync"] == times + 1
        job = seen[-1]
    else:
        job = hook.get_fine_tune_job(job_id)
        assert attempts["sync"] == times + 1
        assert len(injector.sleeps) == times
        check_hook_sleeps(fault, injector.sleeps)

    assert job.job_id == job_id and job.status == JobStatus.SUCCEEDED
    assert job.finetuned_output == expected["finetuned_output"]
    assert job.usage == expected["usage"] == 4321
    assert job.request_id and UUID.fullmatch(job.request_id)
    if fault.fault is not None:
        assert gets(conn, job_id) == times + 1


@pytest.mark.parametrize("fault", cases("hook", "exhaust"))
def test_hook_gives_up_after_exactly_the_budget_with_a_typed_error(fault: Fault, conn, injector, attempts):
    job_id = f"ft-hook-exhaust-{fault.key}"
    seed_job(conn, job_id, status="RUNNING")
    hook = DashScopeHook(injector.inject(fault, job_id, -1))
    hook._sleep = injector.slept

    if not fault.terminal_error:
        job = hook.get_fine_tune_job(job_id)  # an unknown status is reported, never an error, never terminal
        assert job.status_text == "PAUSED" and not job.is_terminal
        assert attempts["sync"] == fault.hook_attempts == 1 and gets(conn, job_id) == 1
        return

    with pytest.raises(DashScopeError) as info:
        hook.get_fine_tune_job(job_id)
    assert attempts["sync"] == fault.hook_attempts, info.value
    assert len(injector.sleeps) == fault.hook_attempts - 1
    check_hook_sleeps(fault, injector.sleeps)
    if fault.fault is not None:
        assert gets(conn, job_id) == fault.hook_attempts
    check_error(fault, info.value, job_id)


# ------------------------------------------------------------------------------------------------------------------
# Trigger
# ------------------------------------------------------------------------------------------------------------------
class RecordedTime:
    """A fake clock for a wait: each sleep is recorded by the injector and moves the clock at once."""

    def __init__(self, injector: Injector) -> None:
        self.injector = injector
        self.now = 1_000_000.0  # small enough that float seconds stay exact to the microsecond

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.injector.slept(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)
        await asyncio.sleep(0)


async def run_trigger(trigger: DashScopeFineTuneJobTrigger, injector: Injector) -> list[dict[str, Any]]:
    """Every event the trigger yields. Its sleeps are recorded, on a fake clock (a bad one cannot hang the test)."""
    fake = RecordedTime(injector)
    trigger.clock, trigger.sleep = fake.clock, fake.asleep
    if trigger.deadline is not None:  # deadlines were given relative to the wall clock; move them to the fake one
        trigger.deadline += fake.now - time.time()
    trigger.started_at = fake.now
    events: list[dict[str, Any]] = []

    async def collect() -> None:
        async for event in trigger.run():
            events.append(event.payload)

    await asyncio.wait_for(collect(), timeout=90)
    return events


def make_trigger(job_id: str, conn_id: str, **kwargs: Any) -> DashScopeFineTuneJobTrigger:
    return DashScopeFineTuneJobTrigger(
        job_id=job_id,
        dashscope_conn_id=conn_id,
        poll_interval=0.01,
        max_consecutive_failures=TRIGGER_POLLS,
        **kwargs,
    )


@pytest.mark.parametrize("fault", cases("trigger", "recover"))
async def test_trigger_recovers_when_the_fault_stops_within_the_budget(fault: Fault, conn, injector, attempts):
    job_id = f"ft-trigger-recover-{fault.key}"
    expected = seed_job(conn, job_id)
    times = fault.recover_times
    assert times < TRIGGER_POLLS

    events = await run_trigger(make_trigger(job_id, injector.inject(fault, job_id, times)), injector)

    assert len(events) == 1, events
    event = events[0]
    assert event["status"] == "success", event
    assert event["job_id"] == job_id and event["job_status"] == "SUCCEEDED"
    assert event["job"]["finetuned_output"] == expected["finetuned_output"]
    assert event["job"]["usage"] == 4321
    # aiohttp re-sends a GET once by itself when the connection drops before any byte: one poll may consume two
    # injected faults. Every HTTP request consumes one, so the request count is exact either way.
    resends = fault.trigger_requests // TRIGGER_POLLS
    failed_polls = times // resends
    assert attempts["async"] == failed_polls + 1
    if fault.fault is not None:
        assert gets(conn, job_id) == times + 1
    assert len(injector.sleeps) == failed_polls
    retry_after = (fault.fault or {}).get("retry_after")
    if retry_after is not None and float(retry_after) < MAX_TRIGGER_SLEEP:
        assert all(seconds >= float(retry_after) for seconds in injector.sleeps), injector.sleeps  # honoured
    assert all(seconds <= MAX_TRIGGER_SLEEP for seconds in injector.sleeps), injector.sleeps


@pytest.mark.parametrize("fault", cases("trigger", "exhaust"))
async def test_trigger_gives_up_after_exactly_the_budget_with_an_error_event(fault: Fault, conn, injector, attempts):
    job_id = f"ft-trigger-exhaust-{fault.key}"
    seed_job(conn, job_id, status="RUNNING")
    conn_id = injector.inject(fault, job_id, -1)

    if not fault.terminal_error:
        # An unknown status never ends the wait: only the deadline does, with a timeout event that names it.
        events = await run_trigger(make_trigger(job_id, conn_id, deadline=time.time() + 1.0), injector)
        assert len(events) == 1 and events[0]["status"] == "timeout", events
        assert events[0]["job_status"] == "PAUSED" and "still PAUSED" in events[0]["message"]
        assert gets(conn, job_id) >= 2
        return

    events = await run_trigger(make_trigger(job_id, conn_id), injector)

    assert len(events) == 1, events
    event = events[0]
    assert event["status"] == "error", event
    assert attempts["async"] == TRIGGER_POLLS, event
    if fault.fault is not None:
        assert gets(conn, job_id) == fault.trigger_requests, event
    assert len(injector.sleeps) == TRIGGER_POLLS - 1
    assert all(seconds <= MAX_TRIGGER_SLEEP for seconds in injector.sleeps), injector.sleeps
    assert event["job_id"] == job_id and job_id in event["message"], event
    if fault.http_status is not None:
        assert event["http_status"] == fault.http_status and f"HTTP {fault.http_status}" in event["message"]
    if fault.request_id:
        assert event["request_id"] and UUID.fullmatch(event["request_id"]), event
        assert event["request_id"] in event["message"], event
    json.dumps(event)  # the event crosses processes as JSON
    # What the deferred task raises from this event (execute_complete): a DashScopeError with the same message.
    with pytest.raises(DashScopeError) as info:
        raise FINE_TUNE_JOB.error_of(WaitEvent.from_payload(event))
    assert job_id in str(info.value)
    assert_no_key(json.dumps(event), *error_texts(info.value))


# ------------------------------------------------------------------------------------------------------------------
# The operators' worker-side wait (deferrable=False) follows the trigger's rules, Retry-After included
# ------------------------------------------------------------------------------------------------------------------
RETRY_AFTER_FAULTS = [
    pytest.param(
        fault,
        id=fault.key,
        marks=[pytest.mark.xfail(strict=True, reason=fault.xfail["trigger-recover"])] if fault.xfail else [],
    )
    for fault in FAULTS
    if (fault.fault or {}).get("retry_after")
]


@pytest.mark.parametrize("fault", RETRY_AFTER_FAULTS)
def test_the_worker_side_wait_honours_a_retry_after_without_stalling(fault: Fault, conn, monkeypatch):
    from airflow_provider_dashscope.operators.fine_tunes import DashScopeFineTuneJobOperator

    job_id = f"ft-worker-{fault.key}"
    expected = seed_job(conn, job_id)
    route = "GET " + GET_JOB
    conn.add_fault(route=route, job_id=job_id, kind="unknown_status", job_status="RUNNING", times=1)  # first check
    conn.add_fault(route=route, job_id=job_id, times=1, **fault.fault)  # the first poll (one attempt) fails
    operator = DashScopeFineTuneJobOperator(
        task_id="wait", job_id=job_id, deferrable=False, poll_interval=0.01, max_consecutive_failures=TRIGGER_POLLS
    )
    delays: list[float] = []
    fake = RecordedTime(Injector(conn, monkeypatch))
    fake.injector.sleeps = delays
    operator.wait_clock, operator.wait_sleep = fake.clock, fake.sleep

    class TI:
        def xcom_push(self, key: str, value: Any, **kwargs: Any) -> None:
            pass

    result = operator.execute({"ti": TI(), "task_instance": TI(), "params": {}})

    assert result["finetuned_output"] == expected["finetuned_output"] and result["usage"] == 4321
    assert gets(conn, job_id) == 1 + 1 + 1  # the check, the poll that failed, the poll that succeeded
    # After the poll that failed with Retry-After, the next poll waited the Retry-After, capped at retry_max_delay
    # as the hook's own retries are: never a day.
    assert len(delays) == 2 and delays[1] >= min(float(fault.fault["retry_after"]), RETRY_CAP), delays
    assert all(seconds <= MAX_TRIGGER_SLEEP for seconds in delays), delays
