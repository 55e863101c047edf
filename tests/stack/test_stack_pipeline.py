"""Real-stack test on Airflow 3: the pipeline example DAG through a real scheduler, triggerer, dag-processor and
api-server, then the announcer DAG started by the scheduler from the deploy task's asset event.

The emulator runs in this process (strict file ids: the fine-tune may only name the uploaded file); its clock is
wall-clock time plus an offset the test moves on, so the job trains, and the deployment deploys, until the test has
seen each one deferred and polled by the triggerer. Every process the test starts is stopped by its pid.
"""

from __future__ import annotations

import hashlib
import json
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

EXAMPLE_DAGS = Path(__file__).resolve().parents[2] / "example_dags"
TRAINING_FILE = EXAMPLE_DAGS / "data" / "airflow_faq_sft.jsonl"
PIPELINE = "dashscope_finetune_pipeline"
ANNOUNCER = "dashscope_new_model_announcer"
RUN_ID = "stack_pipeline_1"
#: The job's training time and the deployment's DEPLOYING time on the emulator's clock; the test jumps past them.
LONG = 3600.0
RUN_BUDGET = 180.0


@pytest.fixture
def emulator(stack_key: str):
    settings = {"running_seconds": LONG, "deploy_pending_seconds": 0.0, "deploying_seconds": LONG,
                "strict_file_ids": True}  # fmt: skip
    with recording_emulator(stack_key, **settings) as emu:
        yield emu


@pytest.fixture
def stack(tmp_path, airflow_bin, emulator, stack_key):
    env = {**connection_env(emulator.root_url, stack_key), "DASHSCOPE_EXAMPLE_POLL_INTERVAL": "1"}
    with airflow_stack(tmp_path, airflow_bin=airflow_bin, dags=EXAMPLE_DAGS, env=env, secrets_to_hide=[stack_key]) as s:
        yield s


def test_pipeline_runs_through_the_real_stack_and_its_asset_event_starts_the_announcer(
    stack: AirflowStack, emulator: EmulatorThread, stack_key: str
):
    with reported(stack) as tl:
        _run(stack, emulator, stack_key, tl)


def _run(stack: AirflowStack, emulator: EmulatorThread, stack_key: str, tl: Timeline) -> None:
    state: RecordingState = emulator.state  # type: ignore[assignment]
    clock: OffsetClock = emulator.clock  # type: ignore[attr-defined]

    stack.launch()
    tl.mark("components launched")
    port = str(stack.api_port)
    wait_for(lambda: http_ok(f"http://127.0.0.1:{port}/execution/health"), timeout=120,
             what="the execution API's /execution/health", on_poll=stack.check_running)  # fmt: skip
    for dag_id in (PIPELINE, ANNOUNCER):
        wait_for(lambda dag_id=dag_id: stack.db.dag_ready(dag_id), timeout=120,
                 what=f"DAG {dag_id} to be serialized and unpaused", on_poll=stack.check_running)  # fmt: skip
    wait_for(stack.alive_triggerer_jobs, timeout=90, what="the triggerer to register", on_poll=stack.check_running)
    tl.mark("DAGs serialized, triggerer up")

    stack.cli("dags", "trigger", PIPELINE, "-r", RUN_ID)
    t_trigger = tl.mark("pipeline triggered")
    remaining = Budget(RUN_BUDGET, "the pipeline").remaining

    def not_broken() -> None:
        stack.check_running("api-server", "scheduler", "dag-processor", "triggerer")
        states = stack.task_states(PIPELINE, RUN_ID)
        bad = {t: s for t, s in states.items() if s in ("failed", "upstream_failed", "up_for_retry")}
        assert not bad, f"task instances ended badly: {states}"

    def waited_in_the_triggerer(task_id: str, classpath: str, route: str) -> None:
        """The task is deferred, its trigger is held by the triggerer and polls the emulator twice."""
        wait_for(lambda: stack.task_states(PIPELINE, RUN_ID).get(task_id) == "deferred", timeout=remaining(120),
                 what=f"{task_id} to be deferred", on_poll=not_broken)  # fmt: skip
        row = wait_for(lambda: (r := stack.trigger_row(PIPELINE, RUN_ID, task_id)) and r[2] is not None and r,
                       timeout=remaining(60), what=f"{task_id}'s trigger to be held", on_poll=not_broken)  # fmt: skip
        assert row[1] == classpath, row
        since = time.monotonic()
        wait_for(lambda: len(state.requests("GET", route, since=since)) >= 2, timeout=remaining(30),
                 what=f"two polls by {task_id}'s trigger", on_poll=not_broken)  # fmt: skip
        tl.mark(f"{task_id} deferred and polled by the triggerer")

    waited_in_the_triggerer(
        "train", "airflow_provider_dashscope.triggers.fine_tunes.DashScopeFineTuneJobTrigger", "/fine-tunes/{job_id}"
    )
    (job_id,) = state.job_ids()
    (file_id,) = state.get_job(job_id)["training_file_ids"]
    (validation_id,) = state.get_job(job_id)["validation_file_ids"]
    assert sorted(state.files.names()) == sorted([file_id, validation_id])
    clock.advance(LONG)  # the job SUCCEEDS; export_best then exports its best checkpoint (2 s on the emulator clock)
    waited_in_the_triggerer(
        "deploy",
        "airflow_provider_dashscope.triggers.deployments.DashScopeDeploymentTrigger",
        "/deployments/{deployed_model}",
    )
    clock.advance(LONG)  # the deployment is RUNNING
    wait_for(lambda: stack.dag_run_state(PIPELINE, RUN_ID) == "success", timeout=remaining(120),
             what="the pipeline run to succeed", on_poll=not_broken)  # fmt: skip
    t_success = tl.mark("pipeline run success")
    print(f"[stack] trigger -> success: {t_success - t_trigger:.1f} s")

    # ------------------------------------------------------------------ the asset event starts the announcer
    announcer_runs = wait_for(
        lambda: stack.query("SELECT run_id, state, run_type FROM dag_run WHERE dag_id = ? AND state = 'success'",
                            (ANNOUNCER,)),
        timeout=remaining(120), what=f"{ANNOUNCER} to be started by the asset event and succeed",
        on_poll=lambda: stack.check_running("scheduler", "dag-processor"),
    )  # fmt: skip
    tl.mark("announcer run success")
    [(announcer_run, _, run_type)] = announcer_runs
    assert run_type == "asset_triggered", announcer_runs

    # ------------------------------------------------------------------ what the DAGs saw, what the emulator holds
    job = state.get_job(job_id)
    (deployed,) = state.deployments.names()
    deployment = state.deployments.get(deployed)
    [exported] = [c for c in state.list_checkpoints(job_id) if c.get("status") == "SUCCEEDED"]
    assert (job["status"], deployment["status"], deployment["model_name"]) == (
        "SUCCEEDED", "RUNNING", exported["model_name"]
    )  # fmt: skip
    stored = state.files.get(file_id)
    assert stored["md5"] == hashlib.md5(TRAINING_FILE.read_bytes()).hexdigest()
    for route, count in (("/files", 2), ("/fine-tunes", 1), ("/deployments", 1)):
        assert emulator.request_count("POST", route) == count, (route, emulator.stats())

    pipeline = stack.orm_snapshot(PIPELINE, RUN_ID)
    assert {t: s["state"] for t, s in pipeline["tasks"].items()} == {
        "upload_training_data": "success", "upload_validation_data": "success", "train": "success",
        "export_best": "success", "deploy": "success", "report_serving": "success"
    }  # fmt: skip
    assert all(s["try_number"] == 1 for s in pipeline["tasks"].values()), pipeline["tasks"]
    xcom = {(x["task_id"], x["key"]): x["value"] for x in pipeline["xcom"]}
    assert xcom[("upload_training_data", "return_value")] == file_id
    assert xcom[("deploy", "return_value")]["deployed_model"] == deployed
    assert xcom[("export_best", "model_name")] == exported["model_name"]

    announced = stack.orm_snapshot(ANNOUNCER, announcer_run)
    [value] = [x["value"] for x in announced["xcom"] if (x["task_id"], x["key"]) == ("announce", "return_value")]
    assert value == [
        {
            "uri": f"dashscope://local/deployments/{deployed}",
            "extra": {"deployed_model": deployed, "model_name": exported["model_name"], "base_model": "qwen3-14b",
                      "status": "RUNNING", "capacity": 1, "region": "local"},
            "started_by": "asset event",
        }
    ]  # fmt: skip
    print(f"[stack] announcer run {announcer_run} ({run_type}) received: {json.dumps(value)}")

    leaked = [str(p.relative_to(stack.home)) for p in stack.task_log_files() if stack_key.encode() in p.read_bytes()]
    assert not leaked, f"the test API key appears in Airflow logs: {leaked}"
    component_leaks = [
        p.name for p in stack.component_logs.iterdir() if p.is_file() and stack_key.encode() in p.read_bytes()
    ]
    assert not component_leaks, f"the test API key appears in component output: {component_leaks}"
