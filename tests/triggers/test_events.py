"""DashScopeFineTuneJobEventTrigger against the emulator over real HTTP: what it reports, and across restarts.

The watcher and the emulator share one virtual clock (:class:`VirtualTime`), so jobs end and looks happen at exact
times. A watcher runs forever: each test collects its events and stops it at a virtual time.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging

import pytest

from airflow_provider_dashscope.emulator.testing import FakeClock
from airflow_provider_dashscope.triggers.events import DashScopeFineTuneJobEventTrigger
from airflow_provider_dashscope.watch import scan
from tests._waiting import API_KEY, VirtualTime

LIST = "/fine-tunes"
INTERVAL = 30.0


class FakeStateStore:
    """The asset state store a triggerer gives a watcher on Airflow 3.3+ (JSON values, async get and set)."""

    def __init__(self) -> None:
        self.values: dict[str, object] = {}
        self.writes = 0

    async def aget(self, key: str, default=None):
        await asyncio.sleep(0)
        return json.loads(json.dumps(self.values[key])) if key in self.values else default

    async def aset(self, key: str, value) -> None:
        await asyncio.sleep(0)
        self.values[key] = json.loads(json.dumps(value))
        self.writes += 1


@pytest.fixture
def vt_emu(make_emulator):
    clock = FakeClock()
    emu = make_emulator(clock)
    return emu, VirtualTime(emulator_clock=clock)


def watcher(vt: VirtualTime, store: FakeStateStore | None = None, **kwargs) -> DashScopeFineTuneJobEventTrigger:
    kwargs.setdefault("poll_interval", INTERVAL)
    trigger = DashScopeFineTuneJobEventTrigger(**kwargs)
    trigger.clock, trigger.sleep = vt.clock, vt.sleep
    trigger.asset_state_store = store
    return trigger


async def watch(vt: VirtualTime, trigger: DashScopeFineTuneJobEventTrigger, seconds: float, *extra) -> list[dict]:
    """Run the watcher for ``seconds`` of virtual time (with ``extra`` coroutines); return its events' payloads."""
    events: list[dict] = []

    async def collect() -> None:
        async for event in trigger.run():
            events.append(event.payload)

    await vt.run([collect(), *extra], until=vt.now + seconds)
    return events


def at(vt: VirtualTime, when: float, action):
    async def later() -> None:
        await vt.sleep(when - vt.now)
        action()

    return later()


def lists(emu) -> int:
    return emu.request_count("GET", LIST)


def history(emu, *names: str) -> list[str]:
    """Jobs that ended before the watcher started (created an hour ago)."""
    return emu.seed(
        [
            {"job_id": name, "model": "qwen3-14b", "status": "SUCCEEDED", "create_time": emu.state.now() - 3600}
            for name in names
        ]
    )


# ------------------------------------------------------------------------------------------------------------------
# Arguments
# ------------------------------------------------------------------------------------------------------------------
class TestArguments:
    def test_kwargs_are_primitives_that_rebuild_the_same_trigger_with_a_stable_hash(self):
        trigger = DashScopeFineTuneJobEventTrigger(
            statuses=["failed", "SUCCEEDED"], model="qwen3-14b", job_name_prefix="nightly-", poll_interval=120
        )
        classpath, kwargs = trigger.serialize()
        module, _, name = classpath.rpartition(".")
        assert getattr(importlib.import_module(module), name) is DashScopeFineTuneJobEventTrigger
        assert kwargs == {
            "dashscope_conn_id": "dashscope_default",
            "statuses": ["FAILED", "SUCCEEDED"],
            "model": "qwen3-14b",
            "job_name_prefix": "nightly-",
            "poll_interval": 120.0,
        }
        assert json.loads(json.dumps(kwargs)) == kwargs
        assert DashScopeFineTuneJobEventTrigger(**kwargs).serialize() == (classpath, kwargs)
        base = pytest.importorskip("airflow.triggers.base")
        if hasattr(base, "BaseEventTrigger"):
            same = DashScopeFineTuneJobEventTrigger(
                statuses=("SUCCEEDED", "FAILED"), model="qwen3-14b", job_name_prefix="nightly-", poll_interval=120.0
            )
            assert base.BaseEventTrigger.hash(*same.serialize()) == base.BaseEventTrigger.hash(classpath, kwargs)

    @pytest.mark.parametrize(
        ("kwargs", "field"),
        [
            ({"statuses": []}, "statuses"),
            ({"statuses": ["RUNNING"]}, "statuses"),
            ({"statuses": "DONE"}, "statuses"),
            ({"model": ""}, "model"),
            ({"job_name_prefix": 3}, "job_name_prefix"),
            ({"poll_interval": 0}, "poll_interval"),
            ({"dashscope_conn_id": ""}, "dashscope_conn_id"),
        ],
    )
    def test_bad_arguments_are_refused_when_the_dag_is_parsed(self, kwargs, field):
        with pytest.raises(ValueError, match=field):
            DashScopeFineTuneJobEventTrigger(**kwargs)

    def test_the_kwargs_never_hold_the_key(self, emu):
        assert API_KEY not in json.dumps(DashScopeFineTuneJobEventTrigger().serialize())


# ------------------------------------------------------------------------------------------------------------------
# What is reported
# ------------------------------------------------------------------------------------------------------------------
async def test_a_new_watcher_reports_nothing_old_and_each_job_that_ends_afterwards_once(vt_emu, logs):
    emu, vt = vt_emu
    history(emu, "ft-old-1", "ft-old-2")
    (job_id,) = emu.seed({"model": "qwen3-14b", "running_seconds": 100, "usage": 4321})
    events = await watch(vt, watcher(vt, FakeStateStore()), 400)

    assert [e["job_id"] for e in events] == [job_id]
    event = events[0]
    assert event["status"] == "SUCCEEDED" and event["usage"] == 4321
    assert event["finetuned_output"] == f"qwen3-14b-{job_id}"
    assert event["base_model"] == "qwen3-14b" and event["end_time"] and event["create_time"]
    assert event["dashscope_conn_id"] == "dashscope_default" and event["job_name"] == job_id
    assert json.loads(json.dumps(event)) == event and API_KEY not in json.dumps(event)
    assert any("2 matching job(s) that had already ended are not reported" in line for line in logs.lines("info"))
    assert lists(emu) == 14  # one page per look, a look every 30 s: 0, 30, ..., 390


async def test_a_job_created_and_finished_between_two_looks_is_reported(vt_emu):
    emu, vt = vt_emu
    start = vt.now
    quick = lambda: emu.seed({"job_id": "ft-quick", "model": "qwen3-14b", "running_seconds": 5})  # noqa: E731
    events = await watch(vt, watcher(vt, FakeStateStore()), 100, at(vt, start + 40, quick))

    assert [e["job_id"] for e in events] == ["ft-quick"]  # created at 40 s, done at 45 s, seen ended at 60 s


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, ["ft-a", "ft-c"]),
        ({"statuses": ["FAILED"]}, ["ft-b"]),
        ({"statuses": ["SUCCEEDED", "FAILED"], "model": "qwen3-8b"}, ["ft-c"]),
        ({"statuses": ["SUCCEEDED", "FAILED"], "job_name_prefix": "nightly-"}, ["ft-b"]),
    ],
)
async def test_statuses_model_and_name_prefix_filter_the_reports(vt_emu, kwargs, expected):
    emu, vt = vt_emu
    emu.seed(
        [
            {"job_id": "ft-a", "model": "qwen3-14b", "running_seconds": 10},
            {
                "job_id": "ft-b",
                "model": "qwen3-14b",
                "running_seconds": 10,
                "outcome": "FAILED",
                "job_name": "nightly-b",
            },
            {"job_id": "ft-c", "model": "qwen3-8b", "running_seconds": 10},
        ]
    )
    events = await watch(vt, watcher(vt, FakeStateStore(), **kwargs), 200)
    assert [e["job_id"] for e in events] == expected


async def test_a_failing_list_is_logged_and_the_watch_goes_on(vt_emu, logs):
    emu, vt = vt_emu
    emu.seed({"job_id": "ft-late", "model": "qwen3-14b", "running_seconds": 50})
    emu.add_fault(route="GET " + LIST, status=503, times=3)  # the first look fails, with the hook's one retry
    events = await watch(vt, watcher(vt, FakeStateStore()), 400)

    assert [e["job_id"] for e in events] == ["ft-late"]
    assert any("failed (1 look(s) in a row)" in line for line in logs.lines("warning"))
    assert any("works again" in line for line in logs.lines("info"))


async def test_a_look_reads_only_back_to_the_oldest_job_not_ended(vt_emu, monkeypatch):
    monkeypatch.setattr(scan, "LIST_PAGE_SIZE", 5)
    emu, vt = vt_emu
    history(emu, *(f"ft-old-{i:02d}" for i in range(30)))  # six pages of history
    emu.seed({"job_id": "ft-long", "model": "qwen3-14b", "running_seconds": 200})
    events = await watch(vt, watcher(vt, FakeStateStore()), 170)

    assert events == []
    # The first look reads the whole list (7 pages); each later one only page 1 (ft-long is its newest job).
    assert lists(emu) == 7 + 5


async def test_a_list_longer_than_a_look_may_read_is_watched_as_far_as_it_goes_and_says_so(vt_emu, monkeypatch, logs):
    monkeypatch.setattr(scan, "LIST_PAGE_SIZE", 2)
    monkeypatch.setattr(scan, "MAX_SCAN_PAGES", 3)
    emu, vt = vt_emu
    history(emu, *(f"ft-old-{i:02d}" for i in range(10)))
    await watch(vt, watcher(vt, FakeStateStore()), 10)

    assert lists(emu) == 3
    assert any("stopped after 6 jobs" in line and "not watched" in line for line in logs.lines("warning"))


# ------------------------------------------------------------------------------------------------------------------
# Across a triggerer restart
# ------------------------------------------------------------------------------------------------------------------
async def test_after_a_restart_jobs_that_ended_meanwhile_are_reported_and_none_twice(vt_emu, logs):
    emu, vt = vt_emu
    store = FakeStateStore()
    emu.seed(
        [
            {"job_id": "ft-before", "model": "qwen3-14b", "running_seconds": 50},
            {"job_id": "ft-during", "model": "qwen3-14b", "running_seconds": 100},  # trains after ft-before
        ]
    )
    first_life = await watch(vt, watcher(vt, store), 100)
    assert [e["job_id"] for e in first_life] == ["ft-before"]

    # The triggerer is down for 500 s: ft-during ends, and ft-unseen is created and ends.
    vt._advance_to(vt.now + 200)
    emu.seed({"job_id": "ft-unseen", "model": "qwen3-14b", "running_seconds": 10})
    vt._advance_to(vt.now + 300)
    kwargs = watcher(vt).serialize()[1]
    second_life = await watch(vt, watcher(vt, store, **kwargs), 100)

    assert [e["job_id"] for e in second_life] == ["ft-during", "ft-unseen"]
    assert any("Resuming the watch" in line for line in logs.lines("info"))


async def test_without_a_state_store_a_restart_warns_and_what_ended_meanwhile_is_missed_not_repeated(vt_emu, logs):
    emu, vt = vt_emu
    emu.seed(
        [
            {"job_id": "ft-before", "model": "qwen3-14b", "running_seconds": 50},
            {"job_id": "ft-during", "model": "qwen3-14b", "running_seconds": 100},
        ]
    )
    first_life = await watch(vt, watcher(vt, None), 100)
    vt._advance_to(vt.now + 500)
    emu.seed({"job_id": "ft-after", "model": "qwen3-14b", "running_seconds": 10})
    second_life = await watch(vt, watcher(vt, None), 100)

    assert [e["job_id"] for e in first_life] == ["ft-before"]
    assert [e["job_id"] for e in second_life] == ["ft-after"]
    warnings = [line for line in logs.lines("warning") if "No asset state store" in line]
    assert len(warnings) == 2
    assert "not reported" in warnings[0] and "not reported again" in warnings[0]


async def test_the_cursor_is_stored_before_the_event_is_fired_and_only_when_it_changed(vt_emu):
    emu, vt = vt_emu
    store = FakeStateStore()
    emu.seed({"job_id": "ft-one", "model": "qwen3-14b", "running_seconds": 50})
    trigger = watcher(vt, store)
    seen_in_store: list[bool] = []

    async def collect() -> None:
        async for event in trigger.run():
            (cursor,) = store.values.values()
            seen_in_store.append(event.payload["job_id"] in cursor["reported"])

    await vt.run([collect()], until=vt.now + 600)
    assert seen_in_store == [True]
    assert store.writes == 2  # the first look, and the look that reported ft-one; nothing while nothing changed


async def test_watchers_with_other_filters_on_one_asset_keep_their_own_cursors(vt_emu):
    emu, vt = vt_emu
    store = FakeStateStore()
    emu.seed({"job_id": "ft-x", "model": "qwen3-14b", "running_seconds": 50, "outcome": "FAILED"})
    events: list[dict] = []

    async def collect(trigger: DashScopeFineTuneJobEventTrigger) -> None:
        async for event in trigger.run():
            events.append(event.payload)

    # One virtual-time run for both watchers (two nested runs would each move the shared clock).
    watchers = [watcher(vt, store), watcher(vt, store, statuses=["FAILED"])]
    await vt.run([collect(w) for w in watchers], until=vt.now + 100)
    assert len(store.values) == 2  # a cursor per watcher
    assert [event["status"] for event in events] == ["FAILED"]  # only the FAILED watcher reports the job


async def test_an_unreadable_store_starts_afresh_with_a_warning(vt_emu, logs):
    emu, vt = vt_emu

    class BrokenStore(FakeStateStore):
        async def aget(self, key, default=None):
            raise RuntimeError("state store unavailable")

    history(emu, "ft-old")
    events = await watch(vt, watcher(vt, BrokenStore()), 60)
    assert events == []
    assert any("Could not read this watcher's cursor" in line for line in logs.lines("warning"))


async def test_a_watcher_on_several_assets_keeps_its_cursor_on_each(vt_emu):
    emu, vt = vt_emu

    class Accessors:  # the shape of Airflow's AssetStateStoreAccessors for two watched assets
        def __init__(self) -> None:
            self._by_name = {"a": FakeStateStore(), "b": FakeStateStore()}
            self._by_uri: dict = {}

        async def aget(self, key, default=None):
            raise ValueError("Task has 2 concrete inlets and outlets")

        aset = aget

    store = Accessors()
    history(emu, "ft-old")
    await watch(vt, watcher(vt, store), 10)
    assert all(len(accessor.values) == 1 for accessor in store._by_name.values())


async def test_a_watcher_logs_through_its_own_logger_and_never_the_key(vt_emu, caplog):
    caplog.set_level(logging.DEBUG)
    emu, vt = vt_emu
    emu.seed({"job_id": "ft-log", "model": "qwen3-14b", "running_seconds": 10})
    await watch(vt, watcher(vt, FakeStateStore()), 100)
    assert API_KEY not in caplog.text
