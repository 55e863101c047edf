"""The rule of a watcher: what each look reports, what the cursor keeps, and what a restart does. Plain values."""

from __future__ import annotations

import json

import pendulum
import pytest

from airflow_provider_dashscope.models import FineTuneJob
from airflow_provider_dashscope.watch.cursor import (
    MAX_REPORTED,
    JobFilter,
    WatchCursor,
    event_payload,
    needs_catch_up,
    step,
    store_key,
)
from airflow_provider_dashscope.watch.scan import Snapshot, horizon_of

BASE = pendulum.datetime(2026, 11, 25, 8, 0, tz="Asia/Shanghai")
SUCCEEDED = JobFilter(frozenset({"SUCCEEDED"}))


def job(n: int, status: str = "SUCCEEDED", **fields) -> FineTuneJob:
    fields.setdefault("model", "qwen3-14b")
    created = BASE.add(minutes=n)
    end = created.add(minutes=30) if status in ("SUCCEEDED", "FAILED", "CANCELED") else None
    return FineTuneJob(job_id=f"ft-{n:04d}", status=status, create_time=created, end_time=end, **fields)


def look(*jobs: FineTuneJob, covers_after=None) -> Snapshot:
    ordered = tuple(sorted(jobs, key=lambda j: j.create_time, reverse=True))
    return Snapshot(ordered, covers_after, horizon_of(ordered))


def ids(jobs) -> list[str]:
    return [j.job_id for j in jobs]


def test_a_first_look_reports_nothing_that_had_already_ended():
    first = step(WatchCursor(), look(job(1), job(2, "FAILED"), job(3), job(4, "RUNNING")), SUCCEEDED)

    assert first.report == ()
    assert first.history == 2
    assert first.changed and first.cursor.started
    assert first.cursor.horizon == BASE.add(minutes=4)  # the running job
    assert first.cursor.done == frozenset()  # nothing ended at or after the horizon


def test_a_job_that_ends_later_is_reported_once():
    cursor = step(WatchCursor(), look(job(1), job(4, "RUNNING")), SUCCEEDED).cursor
    later = step(cursor, look(job(1), job(4), job(5, "RUNNING")), SUCCEEDED)
    assert ids(later.report) == ["ft-0004"]
    again = step(later.cursor, look(job(1), job(4), job(5, "RUNNING")), SUCCEEDED)
    assert again.report == () and not again.changed


def test_a_job_created_and_finished_between_two_looks_is_reported():
    cursor = step(WatchCursor(), look(job(1)), SUCCEEDED).cursor
    result = step(cursor, look(job(1), job(2)), SUCCEEDED)
    assert ids(result.report) == ["ft-0002"]


def test_jobs_are_reported_in_the_order_they_ended():
    cursor = step(WatchCursor(), look(job(1, "RUNNING")), SUCCEEDED).cursor
    quick = job(3)
    slow = FineTuneJob(
        job_id="ft-0001",
        status="SUCCEEDED",
        model="qwen3-14b",
        create_time=BASE.add(minutes=1),
        end_time=BASE.add(hours=5),
    )
    assert ids(step(cursor, look(slow, quick), SUCCEEDED).report) == ["ft-0003", "ft-0001"]


@pytest.mark.parametrize(
    ("job_filter", "expected"),
    [
        (JobFilter(frozenset({"SUCCEEDED"})), ["ft-0002", "ft-0004", "ft-0005"]),
        (JobFilter(frozenset({"FAILED", "CANCELED"})), ["ft-0003"]),
        (JobFilter(frozenset({"SUCCEEDED"}), model="qwen3-8b"), ["ft-0004", "ft-0005"]),
        (JobFilter(frozenset({"SUCCEEDED"}), job_name_prefix="nightly-"), ["ft-0005"]),
    ],
)
def test_the_filter_decides_what_is_reported_and_everything_ended_is_accounted_for(job_filter, expected):
    cursor = step(WatchCursor(), look(job(1, "RUNNING")), job_filter).cursor
    jobs = look(
        job(1, "RUNNING"),
        job(2),
        job(3, "FAILED"),
        job(4, model="qwen3-8b"),
        job(5, model="ft-continued", base_model="qwen3-8b", job_name="nightly-5"),
    )
    result = step(cursor, jobs, job_filter)
    assert ids(result.report) == expected
    assert {"ft-0002", "ft-0003", "ft-0004", "ft-0005"} <= result.cursor.done


def test_the_horizon_moves_past_ended_jobs_and_done_forgets_what_is_behind_it():
    c1 = step(WatchCursor(), look(job(1, "RUNNING"), job(2), job(3, "RUNNING")), SUCCEEDED).cursor
    assert c1.horizon == BASE.add(minutes=1) and c1.done == {"ft-0002"}
    c2 = step(c1, look(job(1), job(2), job(3, "RUNNING")), SUCCEEDED).cursor
    assert c2.horizon == BASE.add(minutes=3) and c2.done == frozenset()


def test_a_restored_cursor_reports_what_ended_meanwhile_and_nothing_twice():
    cursor = step(WatchCursor(), look(job(1), job(2, "RUNNING"), job(3, "RUNNING")), SUCCEEDED).cursor
    cursor = step(cursor, look(job(1), job(2), job(3, "RUNNING")), SUCCEEDED).cursor  # reports ft-0002
    stored = json.loads(json.dumps(cursor.to_json()))  # through the asset state store
    # While no triggerer ran, ft-0003 ended and ft-0006 was created and ended.
    restored = WatchCursor.from_json(stored)
    assert restored == cursor
    result = step(restored, look(job(1), job(2), job(3), job(6)), SUCCEEDED)
    assert ids(result.report) == ["ft-0003", "ft-0006"]


def test_a_look_that_does_not_reach_back_to_the_horizon_needs_a_catch_up():
    cursor = step(WatchCursor(), look(job(1), job(2, "RUNNING")), SUCCEEDED).cursor
    assert needs_catch_up(cursor, look(job(5), covers_after=BASE.add(minutes=4)))
    assert not needs_catch_up(cursor, look(job(2), job(5), covers_after=BASE.add(minutes=1)))
    assert not needs_catch_up(cursor, look(job(5)))  # the whole list
    assert not needs_catch_up(WatchCursor(), look(job(5), covers_after=BASE.add(minutes=4)))  # a first look
    truncated = Snapshot((job(5),), BASE.add(minutes=4), BASE.add(minutes=5), truncated=True)
    assert not needs_catch_up(cursor, truncated)  # as far as a look may go


def test_reported_ids_are_bounded():
    cursor = WatchCursor(started=True, horizon=None, reported=tuple(f"old-{i}" for i in range(MAX_REPORTED)))
    result = step(cursor, look(job(1), job(2)), SUCCEEDED)
    assert len(result.cursor.reported) == MAX_REPORTED
    assert result.cursor.reported[-2:] == ("ft-0001", "ft-0002")


def test_a_reported_id_is_never_reported_again_even_outside_done():
    cursor = WatchCursor(started=True, horizon=BASE, reported=("ft-0002",))
    assert ids(step(cursor, look(job(1), job(2)), SUCCEEDED).report) == ["ft-0001"]


@pytest.mark.parametrize(
    "value",
    [None, "x", {}, {"version": 2, "started": True, "done": [], "reported": []},
     {"version": 1, "started": True, "horizon": "yesterday", "done": [], "reported": []},
     {"version": 1, "started": True, "horizon": None, "done": "ft-1", "reported": []}],
)  # fmt: skip
def test_an_unreadable_stored_cursor_is_refused(value):
    assert WatchCursor.from_json(value) is None


def test_each_filter_on_a_connection_has_its_own_store_key():
    keys = {
        store_key("dashscope_default", SUCCEEDED),
        store_key("dashscope_default", JobFilter(frozenset({"SUCCEEDED"}), model="qwen3-8b")),
        store_key("dashscope_other", SUCCEEDED),
        store_key("dashscope_default", JobFilter(frozenset({"SUCCEEDED", "FAILED"}))),
    }
    assert len(keys) == 4
    assert store_key("dashscope_default", SUCCEEDED) == store_key(
        "dashscope_default", JobFilter(frozenset({"SUCCEEDED"}))
    )


def test_the_event_payload_is_the_jobs_summary_as_json():
    payload = event_payload(job(7, finetuned_output="qwen3-14b-ft-0007", usage=4321, job_name="nightly"), "conn")
    assert json.loads(json.dumps(payload)) == payload
    assert payload["job_id"] == "ft-0007" and payload["status"] == "SUCCEEDED"
    assert payload["finetuned_output"] == "qwen3-14b-ft-0007" and payload["usage"] == 4321
    assert payload["job_name"] == "nightly" and payload["dashscope_conn_id"] == "conn"
    assert payload["end_time"] == BASE.add(minutes=37).isoformat()
    assert "request_id" not in payload
