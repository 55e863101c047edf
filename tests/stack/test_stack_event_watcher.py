"""Real-stack test on Airflow 3: a fine-tune that succeeds in the emulator starts the event-driven example DAG.

The example ``dashscope_on_finetune_success`` is scheduled on an asset watched by
``DashScopeFineTuneJobEventTrigger``. Through a real dag-processor (which creates the watcher), triggerer (which
runs it and records the asset events), scheduler and api-server:

1. a job that had ended before the watcher first looked starts nothing;
2. a job that succeeds starts the DAG exactly once, with the job's summary in the event's ``extra`` (and so in
   ``triggering_asset_events``);
3. the triggerer is stopped; meanwhile a new job is created and succeeds; a new triggerer starts: that job starts
   the DAG once, and the job reported before the restart is not reported again.

The emulator runs in this process on 127.0.0.1 with a clock the test moves forward (jobs end when the test says).
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import airflow
import pytest

from airflow_provider_dashscope.emulator import EmulatorThread
from tests.stack._emulated import OffsetClock, RecordingState, recording_emulator
from tests.stack._procs import Timeline, http_ok, wait_for
from tests.stack._stackrun import AirflowStack, airflow_stack, connection_env, reported

AIRFLOW_MAJOR = int(str(airflow.__version__).split(".", 1)[0])

pytestmark = [
    pytest.mark.stack,
    pytest.mark.skipif(AIRFLOW_MAJOR < 3, reason=f"asset watchers need Airflow 3; installed {airflow.__version__}"),
]

EXAMPLE = Path(__file__).resolve().parents[2] / "example_dags" / "example_dashscope_on_finetune_success.py"
DAG_ID = "dashscope_on_finetune_success"
TASK = "deploy_finetuned_models"
WATCHER = "airflow_provider_dashscope.triggers.events.DashScopeFineTuneJobEventTrigger"
LIST = "/fine-tunes"
#: Seconds between two looks of the watcher.
POLL_INTERVAL = 1
#: Looks the test waits for to be sure nothing more is reported.
QUIET_LOOKS = 5


@pytest.fixture
def emulator(stack_key: str):
    with recording_emulator(stack_key) as emu:
        yield emu


@pytest.fixture
def stack(tmp_path, airflow_bin, emulator, stack_key):
    dags = tmp_path / "dags"
    dags.mkdir()
    shutil.copy(EXAMPLE, dags / EXAMPLE.name)  # only this DAG: no other DAG talks to the emulator
    env = {**connection_env(emulator.root_url, stack_key), "DASHSCOPE_EXAMPLE_POLL_INTERVAL": str(POLL_INTERVAL),
           "DASHSCOPE_EXAMPLE_MODEL": "qwen3-14b"}  # fmt: skip
    with airflow_stack(tmp_path, airflow_bin=airflow_bin, dags=dags, env=env, secrets_to_hide=[stack_key]) as stack:
        yield stack


def test_a_succeeded_fine_tune_starts_the_dag_once_also_across_a_triggerer_restart(
    stack: AirflowStack, emulator: EmulatorThread, stack_key: str
):
    with reported(stack, lines=80) as tl:
        _run_scenario(stack, emulator, stack_key, tl)


def _run_scenario(stack: AirflowStack, emulator: EmulatorThread, stack_key: str, tl: Timeline) -> None:
    state: RecordingState = emulator.state  # type: ignore[assignment]
    clock: OffsetClock = emulator.clock  # type: ignore[attr-defined]
    emulator.seed(
        [
            # Ended a day ago: history for the watcher, never news.
            {"job_id": "ft-202611240800-0001", "model": "qwen3-14b", "status": "SUCCEEDED",
             "create_time": clock() - 86400, "usage": 1},
            # Another model family: filtered out.
            {"job_id": "ft-202611250800-0002", "model": "qwen3-8b", "running_seconds": 5, "usage": 2},
            {"job_id": "ft-202611250800-000a", "model": "qwen3-14b", "running_seconds": 3600, "usage": 4321,
             "finetuned_output": "qwen3-14b-ft-stack-a"},
        ]
    )  # fmt: skip
    job_a, job_b = "ft-202611250800-000a", "ft-202611250900-000b"

    def looks(since: float | None = None) -> int:
        return len(state.requests("GET", LIST, since=since))

    def runs() -> list[tuple]:
        return stack.query("SELECT run_id, run_type, state FROM dag_run WHERE dag_id = ? ORDER BY id", (DAG_ID,))

    def events() -> list[dict]:
        rows = stack.query("SELECT extra FROM asset_event ORDER BY id")
        return [json.loads(extra) if isinstance(extra, str) else extra for (extra,) in rows]

    def check(*more: str) -> None:
        stack.check_running("api-server", "scheduler", "dag-processor", *more)
        failed = [r for r in runs() if r[2] == "failed"]
        assert not failed, f"a run of {DAG_ID} failed: {failed}"

    def quiet_for(looks_needed: int, triggerer: str) -> None:
        since = time.monotonic()
        wait_for(
            lambda: looks(since) >= looks_needed,
            timeout=60,
            what=f"{looks_needed} more looks of the watcher",
            on_poll=lambda: check(triggerer),
        )

    # ------------------------------------------------------------------ the stack, and the watcher coming to life
    stack.launch(triggerer="triggerer-1")
    tl.mark("components launched")
    port = str(stack.api_port)
    wait_for(lambda: http_ok(f"http://127.0.0.1:{port}/execution/health"), timeout=120,
             what="the execution API", on_poll=stack.check_running)  # fmt: skip
    wait_for(lambda: stack.db.dag_ready(DAG_ID), timeout=120, what=f"{DAG_ID} serialized and unpaused",
             on_poll=stack.check_running)  # fmt: skip
    tl.mark("DAG serialized")
    watcher = wait_for(
        lambda: stack.query("SELECT id, triggerer_id FROM trigger WHERE classpath = ? AND triggerer_id IS NOT NULL",
                            (WATCHER,)),
        timeout=120, what="the watcher trigger, assigned to the triggerer", on_poll=lambda: check("triggerer-1"),
    )  # fmt: skip
    tl.mark(f"watcher trigger {watcher[0][0]} running in triggerer job {watcher[0][1]}")
    wait_for(lambda: state.job_status("ft-202611250800-0002") == "SUCCEEDED" and looks() >= 3, timeout=60,
             what="the watcher's first looks", on_poll=lambda: check("triggerer-1"))  # fmt: skip
    quiet_for(QUIET_LOOKS, "triggerer-1")
    assert runs() == [] and events() == [], "history or another model started the DAG"
    tl.mark(f"{looks()} looks, nothing reported (history and the other model)")

    # ------------------------------------------------------------------ job A succeeds: one run, with A in the event
    clock.advance(3600)
    assert state.job_status(job_a) == "SUCCEEDED"
    t_a = tl.mark("job A SUCCEEDED in the emulator")
    wait_for(lambda: [r for r in runs() if r[2] == "success"], timeout=120, what="the run started by job A",
             on_poll=lambda: check("triggerer-1"))  # fmt: skip
    t_run_a = tl.mark("DAG run for job A succeeded")
    print(f"[stack] job A ended -> its DAG run succeeded: {t_run_a - t_a:.1f} s")
    quiet_for(QUIET_LOOKS, "triggerer-1")
    (run_a,) = runs()
    assert run_a[1] == "asset_triggered", run_a
    (event_a,) = events()
    assert event_a["from_trigger"] is True
    assert event_a["payload"]["job_id"] == job_a
    assert event_a["payload"]["finetuned_output"] == "qwen3-14b-ft-stack-a"
    assert event_a["payload"]["usage"] == 4321 and event_a["payload"]["base_model"] == "qwen3-14b"
    snap_a = stack.orm_snapshot(DAG_ID, run_a[0])
    (deployed_a,) = [x["value"] for x in snap_a["xcom"] if x["task_id"] == TASK and x["key"] == "return_value"]
    assert [job["job_id"] for job in deployed_a] == [job_a], deployed_a  # from triggering_asset_events
    tl.mark("exactly one run and one event for job A; the task saw A in triggering_asset_events")

    # ------------------------------------------------------------------ restart: job B ends while no triggerer runs
    stop = stack.stop("triggerer-1", grace=30.0)
    tl.mark(f"triggerer stopped in {stop['seconds']} s")
    emulator.seed({"job_id": job_b, "model": "qwen3-14b", "running_seconds": 60, "usage": 777,
                   "finetuned_output": "qwen3-14b-ft-stack-b"})  # fmt: skip
    clock.advance(61)
    assert state.job_status(job_b) == "SUCCEEDED"
    t_down = time.monotonic()
    time.sleep(2)
    assert looks(t_down) == 0, "something listed jobs while no triggerer ran"
    tl.mark("job B created and SUCCEEDED while no triggerer ran")
    stack.start("triggerer-2", "triggerer", "--skip-serve-logs")
    wait_for(lambda: len([r for r in runs() if r[2] == "success"]) == 2, timeout=120,
             what="the run started by job B", on_poll=lambda: check("triggerer-2"))  # fmt: skip
    tl.mark("DAG run for job B succeeded")
    quiet_for(QUIET_LOOKS, "triggerer-2")
    assert len(runs()) == 2, runs()
    assert [e["payload"]["job_id"] for e in events()] == [job_a, job_b]  # A not reported again
    snap_b = stack.orm_snapshot(DAG_ID, runs()[1][0])
    (deployed_b,) = [x["value"] for x in snap_b["xcom"] if x["task_id"] == TASK and x["key"] == "return_value"]
    assert [job["job_id"] for job in deployed_b] == [job_b]
    assert deployed_b[0]["finetuned_output"] == "qwen3-14b-ft-stack-b" and deployed_b[0]["usage"] == 777
    resumed = (stack.component_logs / "triggerer-2.log").read_text(errors="replace")
    assert "Resuming the watch" in resumed, "the new triggerer did not read the watcher's cursor from the store"
    tl.mark("after the restart: B reported once, A not again; the cursor came from the asset state store")

    # ------------------------------------------------------------------ what the emulator saw; the key stayed secret
    stats = emulator.stats()
    print(f"[stack] emulator requests by route: {stats['by_route']}")
    assert set(stats["by_route"]) <= {"GET " + LIST}, stats["by_route"]  # the watcher only lists jobs
    assert not stack.files_containing(stack_key), "the test API key appears in Airflow's logs"
