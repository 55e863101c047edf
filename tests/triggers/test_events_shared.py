"""Watchers on one connection and interval share one look at the list through Airflow 3.3's shared streams.

Driven through Airflow's own ``SharedStreamManager`` (what the triggerer uses), against the emulator over real
HTTP, on one virtual clock: the only sleep is the shared poll loop's, so time moves when it sleeps.
"""

from __future__ import annotations

import asyncio

import pytest

from airflow_provider_dashscope.emulator.testing import FakeClock
from airflow_provider_dashscope.triggers.events import DashScopeFineTuneJobEventTrigger
from airflow_provider_dashscope.watch import scan
from tests._waiting import VirtualTime
from tests.triggers.test_events import FakeStateStore, history, lists

shared_stream = pytest.importorskip(
    "airflow.triggers.shared_stream", reason="shared streams need Airflow 3.3+ (each watcher runs its own look before)"
)

INTERVAL = 30.0


class Outstanding:
    """What the subscribers of the shared poll loop are doing: time stands still while one of them has an event to
    finish, or is busy with something else than waiting for the next one (a read back, say)."""

    def __init__(self) -> None:
        self.per_subscriber: dict[int, int] = {}
        self.waiting: set[int] = set()
        self.subscribers: set[int] = set()

    def idle(self) -> bool:
        return not any(self.per_subscriber.values())

    def sleepers_needed(self) -> int:
        """The poll loop, and every subscriber that is not waiting on the stream (it must be asleep)."""
        return 1 + len(self.subscribers - self.waiting)

    async def tracked(self, index: int, stream):
        """The subscriber's stream; asking for the next event means it is done with the one before."""
        iterator = stream.__aiter__()
        taken = False
        while True:
            if taken:
                self.per_subscriber[index] -= 1
            self.waiting.add(index)
            try:
                item = await iterator.__anext__()
            finally:
                self.waiting.discard(index)
            taken = True
            yield item


@pytest.fixture
def outstanding() -> Outstanding:
    return Outstanding()


@pytest.fixture
def vt_emu(make_emulator, monkeypatch, outstanding):
    clock = FakeClock()
    emu = make_emulator(clock)
    vt = VirtualTime(emulator_clock=clock)
    # The shared poll loop is a classmethod: it takes the class's clock and sleep.
    monkeypatch.setattr(DashScopeFineTuneJobEventTrigger, "clock", staticmethod(vt.clock))
    monkeypatch.setattr(DashScopeFineTuneJobEventTrigger, "sleep", staticmethod(vt.sleep))
    looks = DashScopeFineTuneJobEventTrigger.open_shared_stream.__func__

    async def counted(cls, kwargs):
        async for snapshot in looks(cls, kwargs):
            for index in outstanding.per_subscriber:
                outstanding.per_subscriber[index] += 1
            yield snapshot

    monkeypatch.setattr(DashScopeFineTuneJobEventTrigger, "open_shared_stream", classmethod(counted))
    return emu, vt


async def run_shared(
    vt: VirtualTime, outstanding: Outstanding, watchers, seconds: float, *, join_late: dict | None = None,
    leave_after: dict | None = None,
) -> list[list[dict]]:  # fmt: skip
    """Subscribe the watchers to one SharedStreamManager (``join_late``/``leave_after``: index -> virtual seconds);
    return each watcher's event payloads after ``seconds`` of virtual time."""
    manager = shared_stream.SharedStreamManager()
    events: list[list[dict]] = [[] for _ in watchers]
    join_late, leave_after = join_late or {}, leave_after or {}

    async def consume(index: int, trigger: DashScopeFineTuneJobEventTrigger) -> None:
        key = trigger.shared_stream_key()
        if index in join_late:
            await vt.sleep(join_late[index])
        outstanding.per_subscriber[index] = 0
        outstanding.subscribers.add(index)
        stream = outstanding.tracked(index, manager.subscribe(trigger_id=index, trigger=trigger, key=key))
        try:
            async for event in trigger.filter_shared_stream(stream):
                events[index].append(event.payload)
        finally:
            outstanding.per_subscriber.pop(index, None)
            outstanding.subscribers.discard(index)
            await manager.unsubscribe(index, key)

    async def run(index: int, trigger: DashScopeFineTuneJobEventTrigger) -> None:
        if index not in leave_after:
            return await consume(index, trigger)
        task = asyncio.ensure_future(consume(index, trigger))
        await vt.sleep(leave_after[index])
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    try:
        await vt.run(
            [run(i, t) for i, t in enumerate(watchers)],
            until=vt.now + seconds,
            sleepers=lambda: (
                outstanding.sleepers_needed() + sum(1 for i in join_late if i not in outstanding.subscribers)
            ),
            idle=outstanding.idle,
        )
    finally:
        await manager.stop_all()
    return events


def watchers(count: int, **kwargs) -> list[DashScopeFineTuneJobEventTrigger]:
    made = []
    for i in range(count):
        trigger = DashScopeFineTuneJobEventTrigger(job_name_prefix=f"team-{i:02d}-", poll_interval=INTERVAL, **kwargs)
        trigger.asset_state_store = FakeStateStore()
        made.append(trigger)
    return made


async def test_twenty_watchers_cost_the_api_the_same_as_one(vt_emu, outstanding):
    emu, vt = vt_emu
    history(emu, "ft-old")
    jobs = [{"job_id": f"ft-team-{i:02d}", "job_name": f"team-{i:02d}-run", "model": "qwen3-14b", "running_seconds": 10}
            for i in range(20)]  # fmt: skip
    emu.seed(jobs)  # they train one after another: 10 s each

    one = await run_shared(vt, outstanding, watchers(1), 300)
    lists_for_one = lists(emu)
    emu.state.reset()
    emu.seed(jobs)
    twenty = await run_shared(vt, outstanding, watchers(20), 300)
    lists_for_twenty = lists(emu) - 0

    assert lists_for_twenty == lists_for_one == 11  # one look every 30 s, one page each: 0, 30, ..., 300
    assert [e["job_id"] for e in one[0]] == ["ft-team-00"]
    assert [[e["job_id"] for e in found] for found in twenty] == [[f"ft-team-{i:02d}"] for i in range(20)]


async def test_the_shared_stream_key_is_the_connection_and_the_interval():
    a = DashScopeFineTuneJobEventTrigger(model="qwen3-14b", poll_interval=60)
    b = DashScopeFineTuneJobEventTrigger(statuses=["FAILED"], job_name_prefix="x", poll_interval=60)
    c = DashScopeFineTuneJobEventTrigger(poll_interval=30)
    d = DashScopeFineTuneJobEventTrigger(dashscope_conn_id="other", poll_interval=60)
    assert a.shared_stream_key() == b.shared_stream_key()
    assert len({a.shared_stream_key(), c.shared_stream_key(), d.shared_stream_key()}) == 3


async def test_a_watcher_that_joins_late_with_an_old_cursor_reads_back_to_it_and_reports_what_it_missed(
    vt_emu, monkeypatch, outstanding
):
    monkeypatch.setattr(scan, "LIST_PAGE_SIZE", 2)
    emu, vt = vt_emu
    history(emu, *(f"ft-old-{i}" for i in range(6)))
    emu.seed({"job_id": "ft-missed", "model": "qwen3-14b", "running_seconds": 50, "job_name": "team-01-x"})
    # The late watcher's earlier life: it looked while ft-missed was running, then its triggerer went away.
    late = watchers(2)[1]
    store = late.asset_state_store
    (first_life,) = await run_shared(vt, outstanding, [late], 10)
    assert first_life == [] and store.writes == 1

    vt._advance_to(vt.now + 100)  # ft-missed ends while no triggerer runs the late watcher
    emu.seed([{"job_id": f"ft-new-{i}", "model": "qwen3-14b", "status": "SUCCEEDED"} for i in range(4)])
    early = watchers(1)[0]
    again = DashScopeFineTuneJobEventTrigger(**late.serialize()[1])
    again.asset_state_store = store
    found = await run_shared(vt, outstanding, [early, again], 100, join_late={1: 45})

    # The shared looks reach back only to the newest job (all ended): the late watcher read back to ft-missed itself.
    assert found == [[], [found[1][0]]]
    assert found[1][0]["job_id"] == "ft-missed"


async def test_a_subscriber_that_leaves_does_not_stop_the_others(vt_emu, outstanding):
    emu, vt = vt_emu
    emu.seed({"job_id": "ft-after", "job_name": "team-01-a", "model": "qwen3-14b", "running_seconds": 100})
    first, second = watchers(2)
    found = await run_shared(vt, outstanding, [first, second], 200, leave_after={0: 40})

    assert found == [[], [found[1][0]]]
    assert found[1][0]["job_id"] == "ft-after"
