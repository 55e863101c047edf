"""Waits on the same job share their requests: N waits cost one GET per interval, each keeps its own rules.

Against the emulator over real HTTP. The triggers and the emulator share one virtual clock (:class:`VirtualTime`):
time moves only when every wait is asleep, so requests per interval are counted exactly.
"""

from __future__ import annotations

import asyncio
import json
import math
import random

import pytest

from airflow_provider_dashscope._http.coalescing import shared_requests
from airflow_provider_dashscope.emulator.testing import FakeClock
from airflow_provider_dashscope.triggers.fine_tunes import DashScopeFineTuneJobTrigger
from airflow_provider_dashscope.wait.machine import JITTER
from tests._waiting import API_KEY, GET_JOB, VirtualTime, gets, seed

LOGS = "/fine-tunes/{job_id}/logs"
INTERVAL = 10.0


@pytest.fixture(autouse=True)
def _seeded_jitter():
    state = random.getstate()
    random.seed(1234)
    yield
    random.setstate(state)


@pytest.fixture
def vt_emu(make_emulator):
    clock = FakeClock()
    emu = make_emulator(clock)
    return emu, VirtualTime(emulator_clock=clock)


def wait_on(vt: VirtualTime, job_id: str, **kwargs) -> DashScopeFineTuneJobTrigger:
    kwargs.setdefault("poll_interval", INTERVAL)
    kwargs.setdefault("last_status", "RUNNING")  # as after deferring: first polls spread over one interval
    return vt.drive(DashScopeFineTuneJobTrigger(job_id=job_id, **kwargs))


async def drain(trigger: DashScopeFineTuneJobTrigger) -> list[dict]:
    return [event.payload async for event in trigger.run()]


def most_gets(span: float, interval: float = INTERVAL) -> int:
    """Requests for one key are at least 0.9 interval apart."""
    return math.floor(span / (JITTER[0] * interval)) + 1


@pytest.mark.parametrize("waits", [1, 20])
async def test_n_waits_on_one_job_make_one_get_per_interval(vt_emu, waits):
    emu, vt = vt_emu
    seed(emu, "ft-popular", running_seconds=3600)
    span = 300.0
    triggers = [wait_on(vt, "ft-popular", log_training_progress=False) for _ in range(waits)]
    await vt.run([drain(t) for t in triggers], until=vt.now + span)

    sent = gets(emu, "ft-popular")
    assert sent <= most_gets(span)
    assert sent >= span / (JITTER[1] * INTERVAL) - 1  # and the job is still polled every interval


async def test_each_wait_fires_its_own_event_and_logs_its_own_lines(vt_emu, logs):
    emu, vt = vt_emu
    seed(emu, "ft-shared-end", running_seconds=95, usage=321)
    triggers = [wait_on(vt, "ft-shared-end", log_training_progress=False) for _ in range(10)]
    results = await vt.run([drain(t) for t in triggers])

    assert [r[0]["status"] for r in results] == ["success"] * 10
    assert all(r[0]["job"]["usage"] == 321 for r in results)
    changes = [line for line in logs.lines("info") if "ft-shared-end: RUNNING -> SUCCEEDED" in line]
    assert len(changes) == 10  # each wait logs its own status change
    assert gets(emu, "ft-shared-end") <= most_gets(95 + INTERVAL * JITTER[1])


async def test_each_wait_keeps_its_own_deadline(vt_emu):
    emu, vt = vt_emu
    seed(emu, "ft-deadlines", running_seconds=200)
    start = vt.now
    early = [wait_on(vt, "ft-deadlines", deadline=start + 50, log_training_progress=False) for _ in range(3)]
    late = [wait_on(vt, "ft-deadlines", log_training_progress=False) for _ in range(3)]
    results = await vt.run([drain(t) for t in early + late])

    assert [r[0]["status"] for r in results] == ["timeout"] * 3 + ["success"] * 3
    assert gets(emu, "ft-deadlines") <= most_gets(200 + INTERVAL * JITTER[1])


async def test_an_error_answer_is_shared_not_multiplied_and_each_wait_counts_it_in_its_own_budget(vt_emu, logs):
    emu, vt = vt_emu
    seed(emu, "ft-throttled", running_seconds=3600)
    emu.add_fault(route="GET " + GET_JOB, status=429, times=3)  # the next three GETs are throttled
    fragile = [wait_on(vt, "ft-throttled", max_consecutive_failures=1, log_training_progress=False) for _ in range(5)]
    sturdy = [wait_on(vt, "ft-throttled", max_consecutive_failures=5, log_training_progress=False) for _ in range(5)]
    results = await vt.run([drain(t) for t in fragile + sturdy], until=vt.now + 100)

    assert [r[0]["status"] for r in results[:5]] == ["error"] * 5
    assert all(r[0]["http_status"] == 429 for r in results[:5])
    assert all(isinstance(r, asyncio.CancelledError) for r in results[5:])  # still waiting at the end, unharmed
    assert gets(emu, "ft-throttled") <= most_gets(100)  # ten waits, never ten requests per interval
    tolerated = [line for line in logs.lines("warning") if "ft-throttled: poll failed" in line]
    assert 5 <= len(tolerated) <= 5 * 3  # each sturdy wait counted the throttled answers it got, itself


async def test_waits_on_different_jobs_or_connections_are_not_shared(vt_emu, monkeypatch):
    emu, vt = vt_emu
    seed(emu, "ft-a", running_seconds=3600)
    seed(emu, "ft-b", running_seconds=3600)
    other = json.loads(__import__("os").environ["AIRFLOW_CONN_DASHSCOPE_DEFAULT"])
    monkeypatch.setenv("AIRFLOW_CONN_DASHSCOPE_OTHER", json.dumps(other))
    span = 100.0
    triggers = [
        wait_on(vt, "ft-a", log_training_progress=False),
        wait_on(vt, "ft-b", log_training_progress=False),
        wait_on(vt, "ft-a", dashscope_conn_id="dashscope_other", log_training_progress=False),
    ]
    await vt.run([drain(t) for t in triggers], until=vt.now + span)

    assert gets(emu, "ft-b") >= span / (JITTER[1] * INTERVAL) - 1
    # ft-a is polled over two connections: two schedules, each at most one GET per 0.9 interval.
    assert most_gets(span) < gets(emu, "ft-a") <= 2 * most_gets(span)


async def test_log_reads_are_shared_too(vt_emu, monkeypatch):
    monkeypatch.setenv("AIRFLOW__DASHSCOPE__TRAINING_PROGRESS_EVERY_POLLS", "3")
    emu, vt = vt_emu
    seed(emu, "ft-logs-shared", running_seconds=3600)
    span = 300.0
    triggers = [wait_on(vt, "ft-logs-shared") for _ in range(20)]
    await vt.run([drain(t) for t in triggers], until=vt.now + span)

    reads = emu.request_count("GET", LOGS, "ft-logs-shared")
    # One read to find the end of the log (shared), then at most one per 3 x 0.9 intervals.
    assert reads <= 1 + math.floor(span / (3 * JITTER[0] * INTERVAL)) + 1
    assert gets(emu, "ft-logs-shared") <= most_gets(span)


async def test_nothing_is_kept_once_the_last_wait_on_a_job_ends(vt_emu):
    emu, vt = vt_emu
    seed(emu, "ft-forgotten", running_seconds=30)
    await vt.run([drain(wait_on(vt, "ft-forgotten")) for _ in range(3)])

    group = ("dashscope_default", "Fine-tune job", "ft-forgotten")
    assert shared_requests().holders(group) == 0
    assert shared_requests()._groups == {}


# ------------------------------------------------------------------------------------------------------------------
# Cancellation: one wait cancelled never cancels the request for the others (real time, a slow answer)
# ------------------------------------------------------------------------------------------------------------------
async def test_cancelling_one_wait_never_cancels_the_shared_request(emu, logs):
    seed(emu, "ft-slow", running_seconds=0, usage=99)
    emu.add_fault(route="GET " + GET_JOB, kind="slow", delay=0.5, times=1)
    kill_me = asyncio.ensure_future(drain(DashScopeFineTuneJobTrigger(job_id="ft-slow", poll_interval=60)))
    keep_me = asyncio.ensure_future(drain(DashScopeFineTuneJobTrigger(job_id="ft-slow", poll_interval=60)))
    while gets(emu, "ft-slow") < 1:  # the shared GET is in flight (the emulator holds its answer for 0.5 s)
        await asyncio.sleep(0.005)
    kill_me.cancel()
    with pytest.raises(asyncio.CancelledError):
        await kill_me
    events = await asyncio.wait_for(keep_me, 30)

    assert [e["status"] for e in events] == ["success"]
    assert events[0]["job"]["usage"] == 99
    assert gets(emu, "ft-slow") == 1  # the survivor got the shared answer; nothing was sent again
    assert API_KEY not in json.dumps(events)


async def test_a_request_whose_every_waiter_was_cancelled_still_finishes_quietly(emu):
    seed(emu, "ft-orphan", running_seconds=0)
    emu.add_fault(route="GET " + GET_JOB, kind="slow", delay=0.3, times=1)
    waits = [asyncio.ensure_future(drain(DashScopeFineTuneJobTrigger(job_id="ft-orphan"))) for _ in range(3)]
    while gets(emu, "ft-orphan") < 1:
        await asyncio.sleep(0.005)
    for wait in waits:
        wait.cancel()
    results = await asyncio.gather(*waits, return_exceptions=True)

    assert all(isinstance(r, asyncio.CancelledError) for r in results)
    assert gets(emu, "ft-orphan") == 1
    assert shared_requests()._groups == {}


# ------------------------------------------------------------------------------------------------------------------
# One poll hook per connection for the waits a loop starts within a minute
# ------------------------------------------------------------------------------------------------------------------
async def test_waits_started_together_poll_through_one_hook_per_connection(emu, monkeypatch):
    from airflow_provider_dashscope.hooks.dashscope import DashScopeHook

    created: list[str] = []
    original = DashScopeHook.__init__

    def counting(self, dashscope_conn_id="dashscope_default", **kwargs):
        created.append(dashscope_conn_id)
        original(self, dashscope_conn_id, **kwargs)

    monkeypatch.setattr(DashScopeHook, "__init__", counting)
    for i in range(20):
        seed(emu, f"ft-hook-{i}", running_seconds=0)
    results = await asyncio.gather(
        *(drain(DashScopeFineTuneJobTrigger(job_id=f"ft-hook-{i}", poll_interval=0.01)) for i in range(20))
    )

    assert [r[0]["status"] for r in results] == ["success"] * 20
    assert created == ["dashscope_default"]


async def test_a_wait_started_a_minute_later_gets_a_new_hook_and_so_a_changed_connection():
    from airflow_provider_dashscope.hooks.dashscope import CONFIG_CACHE_SECONDS
    from airflow_provider_dashscope.triggers.base import _poll_hook

    first = _poll_hook("dashscope_default", now=1000.0)
    assert _poll_hook("dashscope_default", now=1000.0 + CONFIG_CACHE_SECONDS - 1) is first
    assert _poll_hook("dashscope_other", now=1000.0) is not first
    assert _poll_hook("dashscope_default", now=1000.0 + CONFIG_CACHE_SECONDS) is not first
