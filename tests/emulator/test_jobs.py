"""The job life cycle as pure functions of (job, now): timeline, cancel, usage, end time, JSON form."""

from __future__ import annotations

import pytest

from airflow_provider_dashscope.emulator import EmulatorConfig, jobs as lc
from airflow_provider_dashscope.emulator.jobs import Job

T0 = 1_000_000.0


def make_job(**settings) -> Job:
    fields = {"pending_seconds": 5.0, "running_seconds": 20.0, "canceling_seconds": 3.0}
    fields.update(settings)
    job = Job(job_id="ft-1", job_name="ft-1", model="m", base_model="m", created=T0, seq=1, **fields)
    job.timeline = lc.waiting_phases(T0, job.pending_seconds)
    return job


def statuses(job: Job, *offsets: float) -> list[str]:
    return [lc.status_at(job, T0 + dt) for dt in offsets]


def test_a_run_without_queueing_goes_pending_running_outcome() -> None:
    job = make_job()
    lc.plan_run(job, T0 + 5)
    assert job.timeline == [(T0, "PENDING"), (T0 + 5, "RUNNING"), (T0 + 25, "SUCCEEDED")]
    assert statuses(job, 0, 4.99, 5, 24.99, 25, 1e6) == ["PENDING", "PENDING", "RUNNING", "RUNNING"] + ["SUCCEEDED"] * 2


def test_a_late_slot_adds_a_queuing_phase() -> None:
    job = make_job(outcome="FAILED")
    lc.plan_run(job, T0 + 12)
    assert job.timeline == [(T0, "PENDING"), (T0 + 5, "QUEUING"), (T0 + 12, "RUNNING"), (T0 + 32, "FAILED")]
    assert lc.ready_at(job) == T0 + 5


def test_outcome_canceled_passes_through_canceling_and_holds_the_slot_until_then() -> None:
    job = make_job(outcome="CANCELED")
    lc.plan_run(job, T0 + 5)
    assert job.timeline[-2:] == [(T0 + 25, "CANCELING"), (T0 + 28, "CANCELED")]
    assert lc.slot_hold_seconds(job) == 23
    assert lc.slot_release(job) == T0 + 28


def test_replanning_keeps_the_pending_head_and_moves_the_run() -> None:
    job = make_job()
    lc.plan_run(job, T0 + 30)
    lc.plan_run(job, T0 + 8)
    assert job.timeline == [(T0, "PENDING"), (T0 + 5, "QUEUING"), (T0 + 8, "RUNNING"), (T0 + 28, "SUCCEEDED")]


def test_no_pending_time_means_no_pending_phase() -> None:
    job = make_job(pending_seconds=0)
    assert job.timeline == []
    lc.plan_run(job, T0)
    assert job.timeline[0] == (T0, "RUNNING")


def test_before_its_first_phase_a_job_is_in_that_phase() -> None:
    job = make_job()
    lc.plan_run(job, T0 + 5)
    assert lc.status_at(job, T0 - 100) == "PENDING"


def test_cancel_of_a_running_job_rewrites_only_the_future() -> None:
    job = make_job()
    lc.plan_run(job, T0 + 5)
    job.timeline = lc.cancel_phases(job, T0 + 10)
    assert job.timeline == [(T0, "PENDING"), (T0 + 5, "RUNNING"), (T0 + 10, "CANCELING"), (T0 + 13, "CANCELED")]
    assert lc.run_window(job) == (T0 + 5, T0 + 10)
    assert lc.trained_seconds(job, T0 + 100) == 5
    assert lc.slot_release(job) == T0 + 13
    assert lc.end_epoch(job) == T0 + 13


def test_cancel_before_the_run_drops_the_run() -> None:
    job = make_job()
    lc.plan_run(job, T0 + 5)
    job.timeline = lc.cancel_phases(job, T0 + 1)
    assert job.timeline == [(T0, "PENDING"), (T0 + 1, "CANCELING"), (T0 + 4, "CANCELED")]
    assert lc.run_window(job) is None
    assert lc.usage_at(job, "CANCELED", T0 + 10, 100) == 0


@pytest.mark.parametrize(
    "cancel_at, expected",
    [(5, 0), (10, 500), (15, 1000), (25, None)],  # at 25 the job is SUCCEEDED: no cancel
)
def test_usage_of_a_canceled_job_is_the_tokens_of_the_seconds_it_trained(cancel_at, expected) -> None:
    job = make_job()
    lc.plan_run(job, T0 + 5)
    if expected is None:
        assert lc.usage_at(job, lc.status_at(job, T0 + cancel_at), T0 + 100, 100) == 2000
        return
    job.timeline = lc.cancel_phases(job, T0 + cancel_at)
    assert lc.status_at(job, T0 + 100) == "CANCELED"
    assert lc.usage_at(job, "CANCELED", T0 + 100, 100) == expected


def test_usage_rules() -> None:
    job = make_job()
    assert lc.total_usage(job, 100) == 2000
    assert lc.usage_at(job, "SUCCEEDED", T0, 100) == 2000
    assert lc.usage_at(job, "FAILED", T0, 100) is None
    assert lc.usage_at(job, "RUNNING", T0, 100) is None
    job.usage = 77
    assert lc.usage_at(job, "SUCCEEDED", T0, 100) == 77
    seeded = make_job(usage=5000, seeded_status="CANCELED")
    seeded.timeline = lc.ended_phases("CANCELED", T0)
    assert lc.usage_at(seeded, "CANCELED", T0, 100) == 5000


def test_finetuned_output_names() -> None:
    assert lc.finetuned_output_of(make_job()) == "m-ft-1"
    assert lc.finetuned_output_of(make_job(suffix="sfx")) == "m-sfx-ft-1"
    assert lc.finetuned_output_of(make_job(finetuned_output="given")) == "given"


def test_pinned_jobs_keep_their_status_and_end_after_their_nominal_run() -> None:
    job = make_job(seeded_status="PAUSED", pinned=True, trains=False)
    job.timeline = []
    assert lc.status_at(job, T0 + 1e9) == "PAUSED"
    done = make_job(seeded_status="SUCCEEDED", pinned=True, trains=False)
    assert lc.end_epoch(done) == T0 + 25


def test_render_shows_terminal_fields_only_when_terminal() -> None:
    config = EmulatorConfig(tz_offset_hours=0, tokens_per_second=100)
    job = make_job(outcome="FAILED", failure_code="DataError", failure_message="bad", extra={"output_cnt": 1})
    lc.plan_run(job, T0 + 5)
    running = lc.render(job, T0 + 6, config)
    assert running["status"] == "RUNNING"
    assert not {"end_time", "usage", "code", "message", "finetuned_output"} & set(running)
    assert running["output_cnt"] == 1
    failed = lc.render(job, T0 + 30, config)
    assert (failed["status"], failed["code"], failed["message"]) == ("FAILED", "DataError", "bad")
    assert failed["end_time"] == "1970-01-12 13:47:05"  # T0 + 25 s in UTC
    assert "usage" not in failed and "finetuned_output" not in failed


def test_apply_settings_reads_durations_aliases_and_rejects_bad_values() -> None:
    job = make_job()
    lc.apply_settings(job, {"durations": {"running": 7, "pending_seconds": 1}, "outcome": "failed", "code": "X"})
    assert (job.running_seconds, job.pending_seconds, job.outcome, job.failure_code) == (7, 1, "FAILED", "X")
    with pytest.raises(ValueError, match="outcome"):
        lc.apply_settings(job, {"outcome": "PAUSED"})
    with pytest.raises(ValueError, match="running_seconds"):
        lc.apply_settings(job, {"running_seconds": -1})


def test_job_record_round_trips_through_a_dict() -> None:
    job = make_job()
    lc.plan_run(job, T0 + 5)
    again = Job.from_dict(job.to_dict())
    assert again == job
    assert isinstance(again.timeline[0], tuple)
