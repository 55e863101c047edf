"""A wait survives a triggerer restart and a trigger that runs twice at once (Airflow's HA triggerers), with one
correct result and never a create, cancel or delete request.

Restart: the trigger runs, its asyncio task is cancelled mid-wait (what a stopping triggerer does), ``cleanup()`` is
called, and a new trigger is built from the same ``serialize()`` kwargs (after a JSON round trip, as stored in the
DB); the job ends meanwhile and the new trigger fires the right event. Twice at once: two instances from the same
kwargs poll concurrently, on one event loop and on two (two triggerer processes); both fire the same single event.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import re
import threading
import time
from typing import Any

import pytest

from airflow_provider_dashscope._http.async_transport import open_session_count
from airflow_provider_dashscope.emulator.testing import EmulatorThread
from airflow_provider_dashscope.triggers.fine_tunes import DashScopeFineTuneJobTrigger

from .conftest import GET_JOB, KEY, assert_no_key, seed_job

CREATE, CANCEL = "/fine-tunes", "/fine-tunes/{job_id}/cancel"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def side_effects(emu: EmulatorThread) -> dict[str, int]:
    return {
        "create": emu.request_count("POST", CREATE),
        "cancel": emu.request_count("POST", CANCEL),
        "delete": emu.request_count("DELETE", GET_JOB),
    }


def from_stored(trigger: DashScopeFineTuneJobTrigger) -> DashScopeFineTuneJobTrigger:
    """Rebuild a trigger the way the triggerer does: classpath + kwargs, after a trip through JSON (the DB)."""
    classpath, kwargs = trigger.serialize()
    module, _, name = classpath.rpartition(".")
    stored = json.loads(json.dumps(kwargs))
    return getattr(importlib.import_module(module), name)(**stored)


async def first_events(trigger: DashScopeFineTuneJobTrigger) -> list[dict[str, Any]]:
    return [event.payload async for event in trigger.run()]


async def wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


def comparable(event: dict[str, Any]) -> dict[str, Any]:
    """The event without the per-response request id (each trigger made its own requests)."""
    event = dict(event, request_id=None, message=UUID.sub("<request-id>", event["message"]))
    event["job"] = dict(event["job"], request_id=None)
    return event


@pytest.mark.parametrize("cancel_on_kill", [False, True], ids=["plain", "cancel_on_kill"])
async def test_a_job_still_running_when_the_triggerer_restarts_ends_with_one_correct_event(conn, cancel_on_kill):
    job_id = f"ft-restart-{int(cancel_on_kill)}"
    seed_job(conn, job_id, status="RUNNING")
    first = DashScopeFineTuneJobTrigger(
        job_id=job_id, poll_interval=0.02, cancel_on_kill=cancel_on_kill, last_status="RUNNING"
    )
    events: list[dict[str, Any]] = []

    async def consume() -> None:
        async for event in first.run():
            events.append(event.payload)

    task = asyncio.ensure_future(consume())
    await wait_for(lambda: conn.request_count("GET", GET_JOB, job_id) >= 3)
    task.cancel()  # the triggerer stops (restart, deploy, lost lease)
    with pytest.raises(asyncio.CancelledError):
        await task
    await first.cleanup()
    assert events == []  # nothing fired for a job that had not ended
    polled = conn.request_count("GET", GET_JOB, job_id)
    await asyncio.sleep(0.2)
    assert conn.request_count("GET", GET_JOB, job_id) == polled  # the cancelled trigger really stopped
    assert open_session_count() == 0  # and left no HTTP session open

    expected = seed_job(conn, job_id, status="SUCCEEDED", usage=777)  # the job ends while no triggerer runs

    second = from_stored(first)
    assert second.serialize() == first.serialize()
    again = await asyncio.wait_for(first_events(second), timeout=30)

    assert len(again) == 1, again
    event = again[0]
    assert event["status"] == "success" and event["job_id"] == job_id and event["job_status"] == "SUCCEEDED"
    assert event["job"]["finetuned_output"] == expected["finetuned_output"] and event["job"]["usage"] == 777
    assert side_effects(conn) == {"create": 0, "cancel": 0, "delete": 0}
    assert open_session_count() == 0
    assert_no_key(json.dumps(first.serialize()), repr(first), repr(second), json.dumps(event))


async def test_the_same_trigger_running_twice_on_one_loop_fires_the_same_single_event(conn):
    job_id = "ft-twice-one-loop"
    seed_job(conn, job_id, status="RUNNING")
    original = DashScopeFineTuneJobTrigger(job_id=job_id, poll_interval=0.02, cancel_on_kill=True)
    twins = [from_stored(original), from_stored(original)]
    runs = [asyncio.ensure_future(first_events(t)) for t in twins]

    await wait_for(lambda: conn.request_count("GET", GET_JOB, job_id) >= 6)  # both are polling
    assert not any(run.done() for run in runs)
    expected = seed_job(conn, job_id, status="SUCCEEDED", usage=555)
    results = await asyncio.wait_for(asyncio.gather(*runs), timeout=30)

    assert [len(events) for events in results] == [1, 1], results
    a, b = results[0][0], results[1][0]
    assert a["status"] == b["status"] == "success"
    assert comparable(a) == comparable(b)
    assert a["job"]["finetuned_output"] == expected["finetuned_output"] and a["job"]["usage"] == 555
    assert side_effects(conn) == {"create": 0, "cancel": 0, "delete": 0}
    assert open_session_count() == 0


def test_the_same_trigger_in_two_triggerer_processes_fires_the_same_single_event(conn):
    """Two event loops in two threads stand for two triggerers that both picked the trigger up."""
    job_id = "ft-twice-two-loops"
    seed_job(conn, job_id, status="RUNNING")
    original = DashScopeFineTuneJobTrigger(job_id=job_id, poll_interval=0.02, cancel_on_kill=True)
    results: dict[int, Any] = {}

    def triggerer(index: int) -> None:
        try:
            results[index] = asyncio.run(asyncio.wait_for(first_events(from_stored(original)), timeout=60))
        except BaseException as err:  # reported by the assertions below
            results[index] = err

    threads = [threading.Thread(target=triggerer, args=(i,), daemon=True) for i in (0, 1)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    while conn.request_count("GET", GET_JOB, job_id) < 6:
        assert time.monotonic() < deadline and not results, results
        time.sleep(0.01)
    expected = seed_job(conn, job_id, status="FAILED", code="DataError", message="line 3 is not JSON")
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive()

    assert all(isinstance(results[i], list) and len(results[i]) == 1 for i in (0, 1)), results
    a, b = results[0][0], results[1][0]
    assert a["status"] == b["status"] == "failed"
    assert comparable(a) == comparable(b)
    assert a["job"]["code"] == expected["code"] == "DataError" and "line 3 is not JSON" in a["message"]
    assert side_effects(conn) == {"create": 0, "cancel": 0, "delete": 0}
    assert KEY not in json.dumps(a)
