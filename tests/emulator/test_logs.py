"""The synthesized training log, driven by plain numbers (no server)."""

from __future__ import annotations

from airflow_provider_dashscope.emulator import EmulatorConfig, jobs as lc
from airflow_provider_dashscope.emulator.jobs import Job
from airflow_provider_dashscope.emulator.logs import MAX_LOG_STEPS, loss_at, training_log

T0 = 1_730_192_033.0  # 16:53:53 at UTC+8
CONFIG = EmulatorConfig(tokens_per_second=100, log_interval_seconds=1)


def planned(**settings) -> Job:
    fields = {"pending_seconds": 5.0, "running_seconds": 20.0, "canceling_seconds": 3.0}
    fields.update(settings)
    job = Job(job_id="ft-x", job_name="ft-x", model="qwen3-14b", base_model="qwen3-14b", created=T0, seq=1, **fields)
    job.timeline = lc.waiting_phases(T0, job.pending_seconds)
    lc.plan_run(job, T0 + job.pending_seconds)
    return job


def all_lines(job: Job, now: float) -> list[str]:
    log = training_log(job, now, CONFIG)
    return log.page(0, log.total)


def test_a_pending_job_has_only_its_submit_line() -> None:
    lines = all_lines(planned(), T0 + 1)
    assert lines == [
        "2024-10-29 16:53:53,000 - INFO - fine-tune job ft-x submitted: model=qwen3-14b, training_type=sft"
    ]


def test_one_step_line_per_interval_trained() -> None:
    job = planned(hyper_parameters={"n_epochs": 2, "learning_rate": "1.6e-5"})
    lines = all_lines(job, T0 + 5 + 7.5)
    assert len(lines) == 2 + 7
    assert lines[1] == "2024-10-29 16:53:58,000 - INFO - start training ft-x on qwen3-14b"
    assert lines[-1] == (
        f"2024-10-29 16:54:05,000 - INFO - {{'loss': {loss_at(7 / 20):.4f}, 'learning_rate': '1.6e-5', "
        "'epoch': 0.7, 'step': 7}"
    )


def test_a_succeeded_job_ends_with_its_usage_and_the_complete_marker() -> None:
    lines = all_lines(planned(), T0 + 100)
    assert len(lines) == 2 + 20 + 4
    assert lines[-3:] == [
        " Actual number of consumed tokens is 2000!",
        "2024-10-29 16:54:18,000 - INFO - training usage 2000",
        "2024-10-29 16:54:18,000 - INFO - ##FT_COMPLETE##",
    ]


def test_a_failed_job_ends_with_its_code_and_message() -> None:
    lines = all_lines(planned(outcome="FAILED", failure_code="DataError", failure_message="line 3"), T0 + 100)
    assert lines[-1] == "2024-10-29 16:54:18,000 - ERROR - training failed: DataError: line 3"
    assert "##FT_COMPLETE##" not in "".join(lines)


def test_a_canceled_job_logs_the_tokens_it_consumed() -> None:
    job = planned()
    job.timeline = lc.cancel_phases(job, T0 + 10)
    lines = all_lines(job, T0 + 100)
    assert len(lines) == 2 + 5 + 1
    assert lines[-1] == "2024-10-29 16:54:06,000 - INFO - training canceled, consumed tokens 500"


def test_pages_and_offsets() -> None:
    log = training_log(planned(), T0 + 100, CONFIG)
    assert log.page(20, 3) == [log.line(20), log.line(21), log.line(22)]
    assert log.page(log.total, 10) == []
    assert len(log.page(0, 1000)) == log.total


def test_steps_are_capped() -> None:
    job = planned(running_seconds=MAX_LOG_STEPS * 3.0)
    assert training_log(job, T0 + 1e9, CONFIG).total == 2 + MAX_LOG_STEPS + 4


def test_a_seeded_succeeded_job_without_a_run_has_a_full_log() -> None:
    job = planned(seeded_status="SUCCEEDED", trains=False)
    job.timeline = lc.ended_phases("SUCCEEDED", T0 + 25)
    lines = all_lines(job, T0 + 30)
    assert len(lines) == 2 + 20 + 4
    assert lines[1] == "2024-10-29 16:53:58,000 - INFO - start training ft-x on qwen3-14b"
