"""Training progress in the trigger's log, against the emulator over real HTTP (its training logs grow with its clock).

The emulator and the trigger share one virtual clock (:class:`VirtualTime`): the emulator writes one Trainer-style
line per second of training, and the trigger polls every ``poll_interval`` seconds of the same clock.
"""

from __future__ import annotations

import re

import pytest

from airflow_provider_dashscope.emulator.testing import FakeClock
from airflow_provider_dashscope.triggers.fine_tunes import DashScopeFineTuneJobTrigger
from tests._waiting import GET_JOB, VirtualTime, gets, seed

LOGS = "/fine-tunes/{job_id}/logs"


def log_reads(emu, job_id: str | None = None) -> int:
    return emu.request_count("GET", LOGS, job_id)


@pytest.fixture
def every_3_polls(monkeypatch):
    monkeypatch.setenv("AIRFLOW__DASHSCOPE__TRAINING_PROGRESS_EVERY_POLLS", "3")


@pytest.fixture
def vt_emu(make_emulator):
    """(emulator, virtual time): the emulator's clock is the triggers' clock."""
    clock = FakeClock()
    emu = make_emulator(clock)
    return emu, VirtualTime(emulator_clock=clock)


async def run_one(vt: VirtualTime, trigger: DashScopeFineTuneJobTrigger) -> list[dict]:
    async def drain() -> list[dict]:
        return [event.payload async for event in vt.drive(trigger).run()]

    (events,) = await vt.run([drain()])
    return events


def training_lines(logs, job_id: str) -> list[str]:
    return [line for line in logs.lines("info") if job_id in line and "training" in line]


async def test_progress_lines_while_running_then_one_summary_on_success(vt_emu, logs, every_3_polls):
    emu, vt = vt_emu
    seed(emu, "ft-progress", running_seconds=120, usage=5000, hyper_parameters={"n_epochs": 3})
    events = await run_one(vt, DashScopeFineTuneJobTrigger(job_id="ft-progress", poll_interval=10))

    assert [e["status"] for e in events] == ["success"]
    running_polls = gets(emu, "ft-progress") - 1
    # A read after 1 to 3 RUNNING answers (it only finds the end of the log), then one every 3; then the end of the
    # log once.
    reads_while_running = log_reads(emu, "ft-progress") - 1
    assert running_polls // 3 <= reads_while_running <= (running_polls + 2) // 3
    lines = training_lines(logs, "ft-progress")
    progress, summary = lines[:-1], lines[-1]
    assert len(progress) == reads_while_running - 1
    epochs = [float(re.search(r"epoch (\d+\.\d+)/3 ", line).group(1)) for line in progress]
    assert epochs == sorted(epochs) and len(set(epochs)) == len(epochs)  # training moved on between reads
    assert all(re.search(r"step \d+, loss \d\.\d{4}", line) for line in progress)
    assert all(re.search(r"about \d+ (s|min) left$", line) for line in progress[1:])  # once the pace is known
    assert re.fullmatch(
        r"Fine-tune job ft-progress finished training: trained for 2 min, 5000 tokens, final loss \d\.\d{4}", summary
    )


async def test_a_wait_that_saw_the_job_pending_reads_its_log_from_the_start_without_a_probe(
    vt_emu, logs, every_3_polls
):
    emu, vt = vt_emu
    seed(emu, "ft-from-start", pending_seconds=25, running_seconds=120, hyper_parameters={"n_epochs": 3})
    events = await run_one(vt, DashScopeFineTuneJobTrigger(job_id="ft-from-start", poll_interval=10))

    assert [e["status"] for e in events] == ["success"]
    running_polls = gets(emu, "ft-from-start") - 3  # minus the PENDING polls (2 or 3) and the SUCCEEDED one
    reads_while_running = log_reads(emu, "ft-from-start") - 1  # the last read is the end of the log
    assert running_polls // 3 <= reads_while_running <= (running_polls + 2) // 3
    lines = training_lines(logs, "ft-from-start")
    assert len(lines) == reads_while_running + 1  # each read brought progress (none found the end), and a summary
    assert int(re.search(r"step (\d+)", lines[0]).group(1)) <= 30  # after 3 polls 10 s apart


async def test_no_log_is_read_with_log_training_progress_off(vt_emu, logs):
    emu, vt = vt_emu
    seed(emu, "ft-quiet", running_seconds=60)
    events = await run_one(
        vt, DashScopeFineTuneJobTrigger(job_id="ft-quiet", poll_interval=10, log_training_progress=False)
    )

    assert [e["status"] for e in events] == ["success"]
    assert log_reads(emu) == 0
    assert training_lines(logs, "ft-quiet") == []


async def test_failing_log_reads_never_spend_the_failure_budget_nor_fail_the_wait(vt_emu, logs, every_3_polls):
    emu, vt = vt_emu
    seed(emu, "ft-nolog", running_seconds=120, usage=7)
    emu.add_fault(route="GET " + LOGS, status=503, times=-1)
    trigger = DashScopeFineTuneJobTrigger(job_id="ft-nolog", poll_interval=10, max_consecutive_failures=1)
    events = await run_one(vt, trigger)

    assert [e["status"] for e in events] == ["success"]  # a budget of 1 failed poll, and far more failed reads
    assert log_reads(emu, "ft-nolog") >= 4
    warnings = [line for line in logs.lines("warning") if "ft-nolog" in line]
    assert len(warnings) == 1 and "could not read the training log" in warnings[0]
    # The summary still comes, from the job alone.
    assert training_lines(logs, "ft-nolog")[-1].endswith("finished training: took 2 min from creation, 7 tokens")


async def test_a_log_that_cannot_be_read_turns_the_reads_off_after_one(vt_emu, logs):
    emu, vt = vt_emu
    seed(emu, "ft-gone-log", running_seconds=100)
    emu.add_fault(route="GET " + LOGS, status=404, times=-1)
    events = await run_one(vt, DashScopeFineTuneJobTrigger(job_id="ft-gone-log", poll_interval=10))

    assert [e["status"] for e in events] == ["success"]
    assert log_reads(emu, "ft-gone-log") == 1
    assert gets(emu, "ft-gone-log") >= 9


async def test_after_a_triggerer_restart_progress_resumes_from_the_end_of_the_log(vt_emu, logs, every_3_polls):
    emu, vt = vt_emu
    seed(emu, "ft-resumed", running_seconds=300, hyper_parameters={"n_epochs": 3})
    vt._advance_to(vt.now + 200)  # the job has trained for 200 s (200 log lines) when the trigger is rebuilt
    kwargs = DashScopeFineTuneJobTrigger(job_id="ft-resumed", poll_interval=10, last_status="RUNNING").serialize()[1]
    events = await run_one(vt, DashScopeFineTuneJobTrigger(**kwargs))

    assert [e["status"] for e in events] == ["success"]
    lines = training_lines(logs, "ft-resumed")
    steps = [int(re.search(r"step (\d+)", line).group(1)) for line in lines[:-1]]
    assert steps and steps[0] > 200, lines  # nothing from before the restart is replayed
    assert log_reads(emu, "ft-resumed") <= 1 + 10 // 3 + 1 + 1


def test_kwargs_serialized_before_log_training_progress_existed_rebuild_the_trigger_with_it_on():
    previous_release = {
        "job_id": "ft-202410291653-1c7f",
        "dashscope_conn_id": "dashscope_default",
        "poll_interval": 60.0,
        "deadline": None,
        "max_consecutive_failures": 5,
        "cancel_on_kill": False,
        "started_at": 1_800_000_000.0,
        "last_status": "RUNNING",
    }
    trigger = DashScopeFineTuneJobTrigger(**previous_release)

    assert trigger.log_training_progress is True
    assert trigger.serialize()[1] == {**previous_release, "log_training_progress": True}


async def test_the_status_route_is_still_the_only_one_polled_every_interval(vt_emu, every_3_polls):
    emu, vt = vt_emu
    seed(emu, "ft-count", running_seconds=300)
    await vt.run([_drain(vt, DashScopeFineTuneJobTrigger(job_id="ft-count", poll_interval=10))], until=vt.now + 200)

    polls = emu.request_count("GET", GET_JOB, "ft-count")
    assert 18 <= polls <= 23  # one GET per interval (10 s +/- 10 %) over 200 s
    assert log_reads(emu, "ft-count") <= 1 + polls // 3


async def _drain(vt: VirtualTime, trigger: DashScopeFineTuneJobTrigger) -> list[dict]:
    return [event.payload async for event in vt.drive(trigger).run()]
