"""End to end: ``airflow dags test`` of the example gate DAG and its variants against the emulator.

Each test is one real DAG run (the trigger runs inline, as ``dags test`` does), then asserts task states, try
numbers and XCom values read back from the Airflow DB.
"""

from __future__ import annotations

import re

from airflow_provider_dashscope.wait.fine_tunes import RESULT_KEYS

from .conftest import API_KEY, EXAMPLE_DAGS, GET_JOB

GATE = "dashscope_finetune_gate"


def polls(emulator, job_id: str) -> int:
    return emulator.request_count("GET", GET_JOB, job_id)


def test_example_gate_defers_then_hands_finetuned_output_and_usage_to_deploy(emulator, run_dag):
    job_id = "ft-202411251000-6a7e"
    emulator.seed([{"job_id": job_id, "model": "qwen3-14b", "running_seconds": 6, "usage": 4321}])

    run = run_dag(GATE, {"job_id": job_id}, dags_folder=EXAMPLE_DAGS, DASHSCOPE_EXAMPLE_POLL_INTERVAL="0.5")

    assert run.returncode == 0, run
    assert run.run_state == "success", run
    assert run.states == {"wait_for_finetune": "success", "finetune_result": "success", "deploy": "success"}, run
    job = emulator.state.get_job(job_id)
    assert job["status"] == "SUCCEEDED"
    # The sensor checked once (RUNNING) and deferred; the trigger polled until SUCCEEDED on the job's 6th poll;
    # the operator read the finished job once.
    assert polls(emulator, job_id) == 7, run

    result = run.xcom["finetune_result"]
    assert result["finetuned_output"] == job["finetuned_output"] == f"qwen3-14b-{job_id}"
    assert result["usage"] == job["usage"] == 4321
    assert result["status"] == "SUCCEEDED"
    assert result["job_id"] == job_id
    assert result["job_url"] == f"{emulator.base_url}/fine-tunes/{job_id}"  # the emulator's page for the job
    assert tuple(result["return_value"]) == RESULT_KEYS
    assert result["return_value"]["finetuned_output"] == job["finetuned_output"]
    assert result["return_value"]["usage"] == 4321
    assert run.links.get("finetune_result") == result["job_url"]

    # The sensor pushes what the operators push, typed, after its deferred wait; it logs the console URL once.
    sensor = run.xcom["wait_for_finetune"]
    assert {key: sensor[key] for key in ("job_id", "job_url", "status", "finetuned_output", "usage")} == {
        "job_id": job_id,
        "job_url": result["job_url"],
        "status": "SUCCEEDED",
        "finetuned_output": job["finetuned_output"],
        "usage": 4321,
    }
    assert sensor["return_value"] == result["return_value"]
    assert run.links.get("wait_for_finetune") == result["job_url"]
    assert run.times_logged(f"Fine-tune job {job_id}: {result['job_url']}") == 2, run  # the sensor's, the operator's
    assert run.xcom["deploy"]["return_value"] == {"deployed_model": job["finetuned_output"], "usage": 4321}
    assert f"DEPLOY finetuned_output={job['finetuned_output']} usage=4321" in run.output
    assert API_KEY not in run.output


def test_example_gate_fails_when_the_job_fails_and_nothing_downstream_runs(emulator, run_dag):
    job_id = "ft-202411251000-bad0"
    emulator.seed(
        [
            {
                "job_id": job_id,
                "model": "qwen3-14b",
                "running_seconds": 4,
                "outcome": "FAILED",
                "code": "DataError",
                "message": "line 3 is not JSON",
            }
        ]
    )

    run = run_dag(GATE, {"job_id": job_id}, dags_folder=EXAMPLE_DAGS, DASHSCOPE_EXAMPLE_POLL_INTERVAL="0.5")

    assert run.returncode == 1, run  # `airflow dags test` exits 1: "DagRun failed"
    assert run.run_state == "failed", run
    assert run.states == {
        "wait_for_finetune": "failed",
        "finetune_result": "upstream_failed",
        "deploy": "upstream_failed",
    }, run
    assert polls(emulator, job_id) == 4, run  # it failed while the trigger waited, not at the first check
    assert "return_value" not in run.xcom.get("wait_for_finetune", {})
    assert re.search(r"ended with status FAILED \(code=DataError, message=line 3 is not JSON\)", run.output), run


def test_soft_fail_gate_skips_failed_and_cancelled_jobs_and_what_follows(emulator, run_dag):
    emulator.seed(
        [
            {"job_id": "ft-soft-failed", "model": "qwen3-14b", "running_seconds": 3, "outcome": "FAILED"},
            {"job_id": "ft-soft-cancelled", "model": "qwen3-14b", "running_seconds": 3, "outcome": "CANCELED"},
        ]
    )

    run = run_dag(
        "dashscope_gate_soft_fail", {"failed_job_id": "ft-soft-failed", "cancelled_job_id": "ft-soft-cancelled"}
    )

    assert run.returncode == 0, run
    assert run.run_state == "success", run
    assert run.states == {
        "wait_failed": "skipped",
        "deploy_failed": "skipped",
        "wait_cancelled": "skipped",
        "deploy_cancelled": "skipped",
    }, run
    assert emulator.state.job_status("ft-soft-failed") == "FAILED"
    assert emulator.state.job_status("ft-soft-cancelled") == "CANCELED"


def test_timeouts_fail_without_retries_or_skip_with_soft_fail_in_deferrable_and_poke_mode(emulator, run_dag):
    emulator.seed([{"job_id": "ft-forever", "model": "qwen3-14b", "status": "RUNNING", "pin": True}])

    run = run_dag("dashscope_gate_timeout", {"job_id": "ft-forever"})

    assert run.returncode == 1, run
    assert run.states == {
        "wait_deferrable": "failed",
        "deploy_after_wait_deferrable": "upstream_failed",
        "wait_deferrable_soft_fail": "skipped",
        "deploy_after_wait_deferrable_soft_fail": "skipped",
        "wait_poke": "failed",
        "deploy_after_wait_poke": "upstream_failed",
    }, run
    # retries=2 is set on every task: a sensor timeout must not use them, and says so.
    assert run.tries["wait_deferrable"] == 1, run
    assert run.tries["wait_poke"] == 1, run
    skipped = (
        "The wait for fine-tune job ft-forever timed out, so the task fails without its 2 remaining retries: "
        "Airflow does not retry a sensor that timed out"
    )
    assert run.times_logged(skipped) == 2, run
    assert polls(emulator, "ft-forever") >= 6, run  # each of the three sensors polled for its 2 s
    assert emulator.state.job_status("ft-forever") == "RUNNING"  # a sensor never cancels the job it waited on


def test_create_operator_submits_rendered_arguments_waits_deferred_and_hands_the_result_on(emulator, run_dag):
    emulator.plan_next({"running_seconds": 3, "usage": 2500})

    run = run_dag("dashscope_create_and_deploy", {"model": "qwen3-8b", "train_file": "file-ft-from-conf"})

    assert run.returncode == 0, run
    assert run.states == {"train": "success", "deploy_model": "success"}, run
    assert emulator.request_count("POST", "/fine-tunes") == 1
    (job_id,) = emulator.state.job_ids()
    job = emulator.state.get_job(job_id)
    assert job["model"] == "qwen3-8b"
    assert job["training_file_ids"] == ["file-ft-from-conf"]
    assert job["hyper_parameters"] == {"n_epochs": 2, "learning_rate": "2e-5"}
    assert re.fullmatch(r"train-[0-9a-f]{12}", job["job_name"])
    assert job["status"] == "SUCCEEDED"
    assert polls(emulator, job_id) == 3, run  # the trigger's polls: the job was submitted, then waited on deferred

    train = run.xcom["train"]
    assert train["job_id"] == job_id
    assert train["finetuned_output"] == job["finetuned_output"]
    assert train["usage"] == 2500
    assert train["job_url"] == f"{emulator.base_url}/fine-tunes/{job_id}"
    assert run.links.get("train") == train["job_url"]
    deployed = run.xcom["deploy_model"]["return_value"]
    assert deployed["return_value"]["finetuned_output"] == job["finetuned_output"]
    assert deployed["return_value"]["job_id"] == job_id
    assert deployed["xcom_finetuned_output"] == job["finetuned_output"]
    assert deployed["xcom_usage"] == "2500"  # a rendered template is text
