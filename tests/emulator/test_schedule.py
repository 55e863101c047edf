"""The one-at-a-time, first-in-first-out training slot, driven by plain numbers."""

from __future__ import annotations

from airflow_provider_dashscope.emulator.schedule import SlotRequest, assign_slots


def test_a_free_slot_starts_each_job_when_it_is_ready() -> None:
    assert assign_slots([SlotRequest(5, 10), SlotRequest(20, 10)], float("-inf")) == [5, 20]


def test_jobs_queue_behind_each_other_in_order() -> None:
    waiting = [SlotRequest(5, 20), SlotRequest(6, 20), SlotRequest(7, 1)]
    assert assign_slots(waiting, float("-inf")) == [5, 25, 45]


def test_a_busy_slot_delays_the_first_job() -> None:
    assert assign_slots([SlotRequest(0, 3), SlotRequest(1, 3)], 10) == [10, 13]


def test_a_late_ready_job_leaves_a_gap() -> None:
    assert assign_slots([SlotRequest(0, 3), SlotRequest(100, 3)], 0) == [0, 100]


def test_zero_length_runs_do_not_hold_the_slot() -> None:
    assert assign_slots([SlotRequest(0, 0), SlotRequest(0, 0), SlotRequest(0, 5)], 0) == [0, 0, 0]


def test_nothing_waiting() -> None:
    assert assign_slots([], 42) == []
