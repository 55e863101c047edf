"""docs/how-to/checkpoints-and-lineage.md's gate DAG, failing its gate as the page says: ``export_best`` fails at once,
without its retries, and nothing is exported or deployed. (That the page's code runs as written, the gate passing,
is tests/dags/test_readme.py's, as for every documented DAG.)"""

from __future__ import annotations

import time

import pytest

from airflow_provider_dashscope.emulator import EmulatorConfig, EmulatorState
from airflow_provider_dashscope.emulator.testing import EmulatorThread

from .conftest import API_KEY
from .test_readme import JOB_ID, LOSSES, dag_snippets

pytest.importorskip("airflow.sdk", reason="the page's DAG imports airflow.sdk, the DAG authoring API of Airflow 3")

DAG_ID = "dashscope_deploy_best_checkpoint"
EXPORT = "/fine-tunes/{job_id}/export/{checkpoint}"


@pytest.fixture
def emulator():
    state = EmulatorState(
        EmulatorConfig(api_key=API_KEY, clock=time.time, deploy_pending_seconds=0, deploying_seconds=0)
    )
    with EmulatorThread(state) as emu:
        emu.seed([{"job_id": JOB_ID, "model": "qwen3-14b", "status": "SUCCEEDED", "running_seconds": 6,
                   "hyper_parameters": {"n_epochs": 3}, "validation_file_ids": ["file-val"], "eval_losses": LOSSES,
                   "export_seconds": 0}])  # fmt: skip
        yield emu


def test_the_gate_dag_fails_its_gate_without_retrying_and_exports_nothing(emulator, run_dag, tmp_path):
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / f"{DAG_ID}.py").write_text(dag_snippets()[DAG_ID], encoding="utf-8")

    run = run_dag(DAG_ID, {"job_id": JOB_ID, "max_eval_loss": 1.0}, dags_folder=folder)

    assert run.states["export_best"] == "failed", run
    assert run.tries["export_best"] == 1, run  # the DAG gives it retries=2: none is used, the metrics cannot change
    assert run.states["deploy"] == "upstream_failed", run
    assert (
        f"the best eval_loss of fine-tune job {JOB_ID} is 1.06 at checkpoint-4 (step 4), above max_value 1"
        in run.output
    )
    assert emulator.request_count("GET", EXPORT) == 0
    assert emulator.state.deployments.names() == []
    assert API_KEY not in run.output
