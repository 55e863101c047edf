"""The rule of shared requests, with plain coroutines and numbers: when an answer is reused, and what is kept."""

from __future__ import annotations

import asyncio
from contextlib import contextmanager

import pytest

from airflow_provider_dashscope._http.coalescing import SharedRequests, shared_requests
from airflow_provider_dashscope.exceptions import ThrottlingError


@contextmanager
def holding(shared: SharedRequests, *groups: str):
    """Waits holding these groups (one hold per name given) for the block."""
    for group in groups:
        shared.hold(group)
    try:
        yield
    finally:
        for group in groups:
            shared.release(group)


class Upstream:
    def __init__(self, error: BaseException | None = None) -> None:
        self.calls = 0
        self.error = error
        self.release = asyncio.Event()
        self.release.set()

    async def send(self) -> int:
        self.calls += 1
        number = self.calls
        await self.release.wait()
        if self.error is not None:
            raise self.error
        return number


async def test_an_answer_sent_less_than_max_age_ago_is_reused_and_an_older_one_is_not():
    shared, upstream = SharedRequests(), Upstream()
    with holding(shared, "job", "job"):  # two waits on the job
        assert await shared.fetch("job", "get", upstream.send, now=100.0, max_age=9.0) == 1
        assert await shared.fetch("job", "get", upstream.send, now=108.9, max_age=9.0) == 1
        assert await shared.fetch("job", "get", upstream.send, now=109.0, max_age=9.0) == 2  # exactly max_age: new
        assert await shared.fetch("job", "get", upstream.send, now=110.0, max_age=0.5) == 3  # each asker's own bound
    assert (shared.sent, shared.reused) == (3, 1)


async def test_keys_and_groups_are_separate():
    shared, upstream = SharedRequests(), Upstream()
    with holding(shared, "job-1", "job-1", "job-2", "job-2"):
        assert await shared.fetch("job-1", "get", upstream.send, now=0.0, max_age=9.0) == 1
        assert await shared.fetch("job-1", "logs", upstream.send, now=0.0, max_age=9.0) == 2
        assert await shared.fetch("job-2", "get", upstream.send, now=0.0, max_age=9.0) == 3


async def test_max_age_none_reuses_any_earlier_answer():
    shared, upstream = SharedRequests(), Upstream()
    with holding(shared, "job", "job"):
        await shared.fetch("job", "end-of-log", upstream.send, now=0.0, max_age=None)
        assert await shared.fetch("job", "end-of-log", upstream.send, now=1e9, max_age=None) == 1


async def test_an_answer_in_flight_is_awaited_by_every_asker():
    shared, upstream = SharedRequests(), Upstream()
    upstream.release.clear()
    with holding(shared, "job", "job"):
        askers = [
            asyncio.ensure_future(shared.fetch("job", "get", upstream.send, now=0.0, max_age=9.0)) for _ in range(5)
        ]
        await asyncio.sleep(0)
        upstream.release.set()
        assert await asyncio.gather(*askers) == [1] * 5
    assert upstream.calls == 1


async def test_an_error_is_shared_like_an_answer():
    error = ThrottlingError("slow down", status_code=429, code="Throttling")
    shared, upstream = SharedRequests(), Upstream(error)
    with holding(shared, "job", "job"):
        for _ in range(3):
            with pytest.raises(ThrottlingError) as raised:
                await shared.fetch("job", "get", upstream.send, now=0.0, max_age=9.0)
            assert raised.value is error
    assert upstream.calls == 1


async def test_a_cancelled_asker_leaves_the_request_running_for_the_others():
    shared, upstream = SharedRequests(), Upstream()
    upstream.release.clear()
    with holding(shared, "job", "job"):
        first = asyncio.ensure_future(shared.fetch("job", "get", upstream.send, now=0.0, max_age=9.0))
        second = asyncio.ensure_future(shared.fetch("job", "get", upstream.send, now=0.0, max_age=9.0))
        await asyncio.sleep(0)
        first.cancel()
        await asyncio.sleep(0)
        upstream.release.set()
        assert await second == 1
        assert first.cancelled()


async def test_a_wait_alone_on_its_job_asks_directly_and_nothing_is_kept():
    shared, upstream = SharedRequests(), Upstream()
    await shared.fetch("job", "get", upstream.send, now=0.0, max_age=9.0)  # outside a hold
    with holding(shared, "job"):  # one wait: nobody to share with
        await shared.fetch("job", "get", upstream.send, now=0.0, max_age=9.0)
        await shared.fetch("job", "get", upstream.send, now=0.0, max_age=9.0)
    assert upstream.calls == 3 and shared.reused == 0
    with holding(shared, "job"):
        with holding(shared, "job"):
            await shared.fetch("job", "get", upstream.send, now=0.0, max_age=9.0)
            await shared.fetch("job", "get", upstream.send, now=0.0, max_age=9.0)
            assert upstream.calls == 4 and shared.reused == 1
        assert shared.holders("job") == 1
        await shared.fetch("job", "get", upstream.send, now=1.0, max_age=9.0)  # alone again: a fresh answer is taken
        assert upstream.calls == 4
        await shared.fetch("job", "get", upstream.send, now=10.0, max_age=9.0)  # then it asks directly
        assert upstream.calls == 5 and shared._groups["job"].latest == {}
    assert shared.holders("job") == 0 and shared._groups == {}


def test_each_event_loop_has_its_own_registry():
    async def registry() -> SharedRequests:
        first = shared_requests()
        assert shared_requests() is first
        return first

    assert asyncio.run(registry()) is not asyncio.run(registry())
