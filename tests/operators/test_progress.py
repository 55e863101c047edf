"""Training progress in the task log: worker-side waits (operators, the sensor in poke mode) read the job's log through
the same wait engine as the trigger; ``log_training_progress`` travels into the trigger when the task defers."""

from __future__ import annotations

import re

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred

from airflow_provider_dashscope.emulator.testing import FakeClock
from airflow_provider_dashscope.operators.fine_tunes import (
    DashScopeCreateFineTuneJobOperator,
    DashScopeFineTuneJobOperator,
)
from airflow_provider_dashscope.sensors.fine_tunes import DashScopeFineTuneJobSensor
from tests._waiting import FakeTime, gets, make_context, seed

LOGS = "/fine-tunes/{job_id}/logs"


class LinkedTime(FakeTime):
    """The task's fake time, with the emulator's clock moving along (its jobs train while the task sleeps)."""

    def __init__(self, emulator_clock: FakeClock) -> None:
        super().__init__(emulator_clock())
        self.emulator_clock = emulator_clock

    def sync_sleep(self, seconds: float) -> None:
        super().sync_sleep(seconds)
        self.emulator_clock.advance(seconds)


@pytest.fixture
def linked(make_emulator, monkeypatch):
    monkeypatch.setenv("AIRFLOW__DASHSCOPE__TRAINING_PROGRESS_EVERY_POLLS", "2")
    clock = FakeClock()
    return make_emulator(clock), LinkedTime(clock)


def training_lines(logs, job_id: str) -> list[str]:
    return [line for line in logs.lines("info") if job_id in line and "training" in line]


@pytest.mark.parametrize(
    "make_task",
    [
        lambda job_id, **kw: DashScopeFineTuneJobSensor(task_id="s", job_id=job_id, mode="poke", **kw),
        lambda job_id, **kw: DashScopeFineTuneJobOperator(task_id="o", job_id=job_id, **kw),
    ],
    ids=["sensor-poke", "operator"],
)
def test_a_worker_side_wait_writes_progress_lines_and_a_summary(linked, logs, make_task):
    emu, time = linked
    seed(emu, "ft-worker", running_seconds=100, usage=1234, hyper_parameters={"n_epochs": 2})
    task = time.drive_task(make_task("ft-worker", poll_interval=10, deferrable=False))
    result = task.execute(make_context())

    assert result["status"] == "SUCCEEDED"
    lines = training_lines(logs, "ft-worker")
    assert len(lines) >= 3
    assert all(re.search(r"training: epoch \d\.\d\d/2 \(\d+%\), step \d+, loss \d\.\d{4}", line) for line in lines[:-1])
    assert re.fullmatch(
        r"Fine-tune job ft-worker finished training: trained for 2 min, 1234 tokens, final loss \d\.\d{4}", lines[-1]
    )
    assert 2 <= emu.request_count("GET", LOGS, "ft-worker") <= gets(emu, "ft-worker") // 2 + 2


def test_log_training_progress_false_reads_no_log_on_the_worker(linked, logs):
    emu, time = linked
    seed(emu, "ft-silent", running_seconds=100)
    task = time.drive_task(
        DashScopeFineTuneJobOperator(
            task_id="o", job_id="ft-silent", poll_interval=10, deferrable=False, log_training_progress=False
        )
    )
    task.execute(make_context())

    assert emu.request_count("GET", LOGS) == 0
    assert training_lines(logs, "ft-silent") == []


def test_failing_log_reads_never_fail_a_worker_side_wait(linked, logs):
    emu, time = linked
    seed(emu, "ft-worker-nolog", running_seconds=100)
    emu.add_fault(route="GET " + LOGS, status=500, times=-1)
    task = time.drive_task(
        DashScopeFineTuneJobOperator(
            task_id="o", job_id="ft-worker-nolog", poll_interval=10, deferrable=False, max_consecutive_failures=1
        )
    )
    assert task.execute(make_context())["status"] == "SUCCEEDED"
    assert emu.request_count("GET", LOGS, "ft-worker-nolog") >= 3


@pytest.mark.parametrize("setting", [True, False])
@pytest.mark.parametrize(
    "make_task",
    [
        lambda **kw: DashScopeFineTuneJobSensor(task_id="s", job_id="ft-defer", deferrable=True, **kw),
        lambda **kw: DashScopeFineTuneJobOperator(task_id="o", job_id="ft-defer", deferrable=True, **kw),
        lambda **kw: DashScopeCreateFineTuneJobOperator(
            task_id="c", model="qwen3-14b", training_file_ids=["file-1"], deferrable=True, **kw
        ),
    ],
    ids=["sensor", "operator", "create"],
)
def test_the_setting_travels_into_the_trigger(emu, make_task, setting):
    seed(emu, "ft-defer")
    with pytest.raises(TaskDeferred) as deferred:
        make_task(log_training_progress=setting).execute(make_context())

    assert deferred.value.trigger.serialize()[1]["log_training_progress"] is setting
    assert emu.request_count("GET", LOGS) == 0  # the check before deferring reads no log
