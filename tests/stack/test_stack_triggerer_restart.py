"""Real-stack end-to-end test on Airflow 3: the gate example DAG through a real scheduler, triggerer,
dag-processor and api-server, with the triggerer stopped and restarted while the sensor is deferred.

The emulator runs in this process (a thread on 127.0.0.1); the Airflow processes reach it over loopback.
Its clock is wall-clock time plus an offset that the test moves forward: the seeded job stays RUNNING for as
long as the test needs (however slow the machine is) and SUCCEEDS only once the restarted triggerer has been
seen polling it. Every process the test starts is stopped by its pid/process group, pass or fail.
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path

import airflow
import pytest

from airflow_provider_dashscope.emulator import EmulatorThread
from tests.stack._emulated import OffsetClock, RecordingState, recording_emulator
from tests.stack._procs import Budget, Timeline, http_ok, wait_for
from tests.stack._stackrun import AirflowStack, airflow_stack, connection_env, reported

AIRFLOW_MAJOR = int(str(airflow.__version__).split(".", 1)[0])

pytestmark = [
    pytest.mark.stack,
    pytest.mark.skipif(
        AIRFLOW_MAJOR < 3,
        reason=f"real-stack test needs Airflow 3 (api-server, dag-processor, Task SDK); installed {airflow.__version__}",
    ),
]

REPO_ROOT = Path(__file__).resolve().parents[2]

DAG_ID = "dashscope_finetune_gate"
RUN_ID = "stack_run_1"
SENSOR = "wait_for_finetune"
RESULT = "finetune_result"
DEPLOY = "deploy"
JOB_ROUTE = "/fine-tunes/{job_id}"
#: The seeded job's training time on the emulator's clock; the test jumps the clock by this much to finish it.
JOB_RUNNING_SECONDS = 3600.0
#: Everything from the trigger to the successful run must fit in this many seconds (bounded waits, no long sleeps).
RUN_BUDGET = 150.0
TERMINAL_BAD = {"failed", "upstream_failed", "skipped", "removed", "up_for_retry"}


@pytest.fixture
def emulator(stack_key: str):
    with recording_emulator(stack_key) as emu:
        yield emu


@pytest.fixture
def stack(tmp_path, airflow_bin, emulator, stack_key):
    env = {**connection_env(emulator.root_url, stack_key), "DASHSCOPE_EXAMPLE_POLL_INTERVAL": "1"}
    dags = REPO_ROOT / "example_dags"
    with airflow_stack(tmp_path, airflow_bin=airflow_bin, dags=dags, env=env, secrets_to_hide=[stack_key]) as stack:
        yield stack


def test_deferred_sensor_survives_a_triggerer_restart(stack: AirflowStack, emulator: EmulatorThread, stack_key: str):
    with reported(stack) as tl:
        _run_scenario(stack, emulator, stack_key, tl)


def _run_scenario(stack: AirflowStack, emulator: EmulatorThread, stack_key: str, tl: Timeline) -> None:
    state: RecordingState = emulator.state  # type: ignore[assignment]
    clock: OffsetClock = emulator.clock  # type: ignore[attr-defined]
    finetuned_output = "qwen-turbo-ft-stack-" + secrets.token_hex(4)
    usage = 424242
    (job_id,) = emulator.seed(
        {
            "model": "qwen-turbo",
            "pending_seconds": 0,
            "running_seconds": JOB_RUNNING_SECONDS,
            "outcome": "SUCCEEDED",
            "usage": usage,
            "finetuned_output": finetuned_output,
        }
    )
    assert state.job_status(job_id) == "RUNNING"

    def gets(since: float | None = None, until: float | None = None) -> list:
        return state.requests("GET", JOB_ROUTE, job_id, since=since, until=until)

    def sensor_state() -> str | None:
        return stack.task_states(DAG_ID, RUN_ID).get(SENSOR)

    def check_not_broken(*more: str) -> None:
        stack.check_running("api-server", "scheduler", "dag-processor", *more)
        states = stack.task_states(DAG_ID, RUN_ID)
        bad = {t: s for t, s in states.items() if s in TERMINAL_BAD}
        assert not bad, f"task instances ended badly: {states}"
        run_state = stack.dag_run_state(DAG_ID, RUN_ID)
        assert run_state != "failed", f"the DAG run failed: {states}"

    # ------------------------------------------------------------------ start the stack
    stack.launch(triggerer="triggerer-1")
    tl.mark("components launched")
    port = str(stack.api_port)

    wait_for(
        lambda: http_ok(f"http://127.0.0.1:{port}/execution/health"),
        timeout=120,
        what="the execution API's /execution/health",
        on_poll=stack.check_running,
    )
    tl.mark("execution API healthy")
    wait_for(
        lambda: stack.query(
            "SELECT 1 FROM serialized_dag s JOIN dag d ON d.dag_id = s.dag_id WHERE s.dag_id = ? AND d.is_paused = 0",
            (DAG_ID,),
        ),
        timeout=120,
        what=f"DAG {DAG_ID} to be serialized (and unpaused)",
        on_poll=stack.check_running,
    )
    tl.mark("DAG serialized")
    wait_for(stack.alive_triggerer_jobs, timeout=90, what="the triggerer to register", on_poll=stack.check_running)

    # ------------------------------------------------------------------ trigger and wait for the deferral
    tl.mark("triggering the DAG run (CLI)")
    stack.cli("dags", "trigger", DAG_ID, "-r", RUN_ID, "-c", json.dumps({"job_id": job_id}))
    t_trigger = tl.mark("DAG run triggered")
    remaining = Budget(RUN_BUDGET, "the run").remaining

    wait_for(
        lambda: sensor_state() == "deferred",
        timeout=remaining(90),
        what=f"{SENSOR} to be deferred",
        on_poll=check_not_broken,
    )
    tl.mark("sensor deferred")
    before_first_triggerer_polls = len(gets())  # the sensor's own check before deferring, plus any trigger poll
    assert before_first_triggerer_polls >= 1, "the sensor did not check the job before deferring"

    trigger_1 = wait_for(
        lambda: (row := stack.trigger_row(DAG_ID, RUN_ID, SENSOR)) and row[2] is not None and row,
        timeout=remaining(60),
        what="the trigger to be assigned to the triggerer",
        on_poll=check_not_broken,
    )
    assert trigger_1[1] == "airflow_provider_dashscope.triggers.fine_tunes.DashScopeFineTuneJobTrigger", trigger_1
    window_a = time.monotonic()
    wait_for(
        lambda: len(gets(since=window_a)) >= 2,
        timeout=remaining(30),
        what="two polls of the job by the first triggerer",
        on_poll=check_not_broken,
    )
    polls_triggerer_1 = len(gets(since=window_a))
    tl.mark(f"first triggerer (job {trigger_1[2]}) polling ({polls_triggerer_1} polls seen)")

    # ------------------------------------------------------------------ stop the triggerer mid-wait
    t_stop = time.monotonic()
    stop_report = stack.stop("triggerer-1", grace=30.0)
    tl.mark(
        f"triggerer stopped in {stop_report['seconds']} s "
        f"({'SIGKILL needed' if stop_report['sigkill'] else 'graceful on SIGTERM'})"
    )
    assert not stack.live_pids().get(f"triggerer-1 (pid {stack.components['triggerer-1'].pid})")
    polls_triggerer_1 = len(gets(since=window_a, until=t_stop))
    t_stopped = time.monotonic()

    assert sensor_state() == "deferred", stack.task_states(DAG_ID, RUN_ID)
    assert state.job_status(job_id) == "RUNNING"
    time.sleep(3)  # a short gap with no triggerer at all
    assert sensor_state() == "deferred", stack.task_states(DAG_ID, RUN_ID)
    assert state.job_status(job_id) == "RUNNING"
    polls_without_triggerer = len(gets(since=t_stopped))
    assert polls_without_triggerer == 0, "something polled the job while no triggerer was running"
    tl.mark("still deferred, job still RUNNING, no polls without a triggerer")

    # ------------------------------------------------------------------ start a new triggerer
    t_restart = time.monotonic()
    stack.start("triggerer-2", "triggerer", "--skip-serve-logs")
    tl.mark("second triggerer launched")
    trigger_2 = wait_for(
        lambda: (
            (row := stack.trigger_row(DAG_ID, RUN_ID, SENSOR)) and row[2] is not None and row[2] != trigger_1[2] and row
        ),
        timeout=remaining(90),
        what="the trigger to be picked up by the new triggerer",
        on_poll=lambda: check_not_broken("triggerer-2"),
    )
    assert trigger_2[0] == trigger_1[0], "the trigger was re-created instead of resumed"
    tl.mark(f"trigger {trigger_2[0]} re-assigned to the new triggerer (job {trigger_2[2]})")
    wait_for(
        lambda: len(gets(since=t_restart)) >= 2,
        timeout=remaining(30),
        what="two polls of the job by the new triggerer",
        on_poll=lambda: check_not_broken("triggerer-2"),
    )
    assert sensor_state() == "deferred", "the sensor resumed before the job finished"
    polls_triggerer_2_running = len(gets(since=t_restart))
    tl.mark(f"new triggerer polling ({polls_triggerer_2_running} polls seen while RUNNING)")

    # ------------------------------------------------------------------ the job finishes
    clock.advance(JOB_RUNNING_SECONDS)
    assert state.job_status(job_id) == "SUCCEEDED"
    t_finished = time.monotonic()
    tl.mark("emulator job SUCCEEDED (clock moved on)")
    wait_for(
        lambda: sensor_state() not in ("deferred", "scheduled", "queued"),
        timeout=remaining(60),
        what="the sensor to resume",
        on_poll=check_not_broken,
    )
    tl.mark(f"sensor resumed ({sensor_state()})")
    wait_for(
        lambda: stack.dag_run_state(DAG_ID, RUN_ID) == "success",
        timeout=remaining(120),
        what="the DAG run to succeed",
        on_poll=check_not_broken,
    )
    t_success = tl.mark("DAG run success")
    print(f"[stack] trigger -> success: {t_success - t_trigger:.1f} s")

    # ------------------------------------------------------------------ assertions through Airflow's ORM
    snap = stack.orm_snapshot(DAG_ID, RUN_ID)
    tl.mark("ORM snapshot read")
    assert snap["dag_run_state"] == "success", snap
    assert snap["conf"] == {"job_id": job_id}, snap["conf"]
    assert set(snap["tasks"]) == {SENSOR, RESULT, DEPLOY}, snap["tasks"]
    assert all(t["state"] == "success" for t in snap["tasks"].values()), snap["tasks"]
    # the sensor was never retried: its one attempt deferred, waited across the restart and completed
    assert snap["tasks"][SENSOR]["try_number"] == 1, snap["tasks"]

    xcom = {(x["task_id"], x["key"]): x["value"] for x in snap["xcom"] if x["map_index"] == -1}
    raw = {f"{x['task_id']}.{x['key']}": x["raw"] for x in snap["xcom"] if x["task_id"] == RESULT}
    print(f"[stack] XCom as stored (before XComModel.deserialize_value): {json.dumps(raw, default=str)[:600]}")
    print(f"[stack] XCom: {json.dumps({f'{t}.{k}': v for (t, k), v in xcom.items()}, default=str)}")
    assert xcom[(RESULT, "finetuned_output")] == finetuned_output
    assert xcom[(RESULT, "usage")] == usage
    result = xcom[(RESULT, "return_value")]
    assert result["finetuned_output"] == finetuned_output and result["usage"] == usage, result
    assert result.get("job_id", job_id) == job_id and result.get("status", "SUCCEEDED") == "SUCCEEDED", result
    sensor_result = xcom.get((SENSOR, "return_value"))
    assert sensor_result is None or sensor_result.get("finetuned_output") == finetuned_output, sensor_result
    assert xcom[(DEPLOY, "return_value")] == {"deployed_model": finetuned_output, "usage": usage}

    # ------------------------------------------------------------------ what the emulator saw
    all_gets = gets()
    polls_after_restart = gets(since=t_restart, until=t_finished)
    stats = emulator.stats()
    print(
        f"[stack] emulator: {len(all_gets)} GETs of the job; first triggerer >= {polls_triggerer_1} polls, "
        f"{polls_without_triggerer} while stopped, new triggerer {len(polls_after_restart)} while RUNNING; "
        f"by route {stats['by_route']}"
    )
    assert polls_triggerer_1 >= 2
    assert len(polls_after_restart) >= 2
    assert gets(since=t_finished), "nobody read the finished job"
    assert emulator.request_count("POST", "/fine-tunes/{job_id}/cancel") == 0, stats
    assert emulator.request_count("POST", "/fine-tunes") == 0, stats  # the job was seeded: no create at all
    assert emulator.request_count("DELETE", JOB_ROUTE) == 0, stats
    assert state.job_ids() == [job_id]
    assert state.job_status(job_id) == "SUCCEEDED"

    # ------------------------------------------------------------------ logs
    sensor_dir = f"task_id={SENSOR}"

    def trigger_logs() -> list:
        return [
            p for p in stack.task_log_files() if sensor_dir in str(p) and p.name.startswith("attempt=1.log.trigger.")
        ]

    status_change = f"Fine-tune job {job_id}: RUNNING -> SUCCEEDED"
    wait_for(
        lambda: any(status_change in p.read_text(errors="replace") for p in trigger_logs()),
        timeout=15,
        what=f"a trigger log line {status_change!r} under {stack.home / 'logs'}",
    )
    found_in = [p.name for p in trigger_logs() if status_change in p.read_text(errors="replace")]
    print(f"[stack] trigger logs: {[p.name for p in trigger_logs()]}; status change in {found_in}")
    for path in trigger_logs():
        assert stack_key not in path.read_text(errors="replace"), f"the API key is in {path}"
    leaked = [str(p.relative_to(stack.home)) for p in stack.task_log_files() if stack_key.encode() in p.read_bytes()]
    assert not leaked, f"the test API key appears in Airflow logs: {leaked}"
    component_leaks = [
        p.name for p in stack.component_logs.iterdir() if p.is_file() and stack_key.encode() in p.read_bytes()
    ]
    assert not component_leaks, f"the test API key appears in component output: {component_leaks}"
    tl.mark("logs checked")
