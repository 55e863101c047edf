"""docs/checkpoints-and-lineage.md, run as written: its hook example in process and its DAG with ``airflow dags
test`` against the emulator, once passing the gate and once failing it (no retry, nothing exported)."""

from __future__ import annotations

import json
import re
import time

import pytest

from airflow_provider_dashscope.emulator import EmulatorConfig, EmulatorState
from airflow_provider_dashscope.emulator.testing import EmulatorThread

from .conftest import API_KEY, REPO

pytest.importorskip("airflow.sdk", reason="the page's DAG imports airflow.sdk, the DAG authoring API of Airflow 3")

DOC = REPO / "docs" / "checkpoints-and-lineage.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
JOB = "ft-202411251000-d0c5"
EXPORT = "/fine-tunes/{job_id}/export/{checkpoint}"
#: The job's eval_loss at its three checkpoints (steps 2, 4, 6): the middle one is the best.
LOSSES = [1.31, 1.06, 1.18]


def blocks() -> list[str]:
    return BLOCK.findall(DOC.read_text(encoding="utf-8"))


@pytest.fixture
def emulator():
    """The emulator on the wall clock; deployments serve at once; the job has SUCCEEDED with validation files."""
    state = EmulatorState(
        EmulatorConfig(api_key=API_KEY, clock=time.time, deploy_pending_seconds=0, deploying_seconds=0.2)
    )
    with EmulatorThread(state) as emu:
        emu.seed([{"job_id": JOB, "model": "qwen3-14b", "status": "SUCCEEDED", "running_seconds": 6,
                   "hyper_parameters": {"n_epochs": 3}, "validation_file_ids": ["file-val"],
                   "eval_losses": LOSSES, "export_seconds": 0.2}])  # fmt: skip
        yield emu


def test_the_hook_example_runs_as_written(emulator, monkeypatch, capsys):
    (code,) = [block for block in blocks() if block.startswith("# example: hook")]
    conn = {"conn_type": "dashscope", "password": API_KEY, "host": emulator.base_url}
    monkeypatch.setenv("AIRFLOW_CONN_DASHSCOPE_DEFAULT", json.dumps(conn))
    exec(compile(code, str(DOC), "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in printed] == [
        ["checkpoint-6", "6"],
        ["checkpoint-4", "4"],
        ["checkpoint-2", "2"],
    ]
    assert emulator.state.list_checkpoints(JOB)[-1]["status"] == "PENDING"  # the export started
    assert emulator.request_count("GET", EXPORT) == 1


def dag_code() -> str:
    (code,) = [block for block in blocks() if 'with DAG(\n    "dashscope_deploy_best_checkpoint"' in block]
    return code


@pytest.mark.parametrize("max_eval_loss, passes", [(1.2, True), (1.0, False)])
def test_the_gate_dag_runs_as_written(emulator, run_dag, tmp_path, max_eval_loss, passes):
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "dashscope_deploy_best_checkpoint.py").write_text(dag_code(), encoding="utf-8")

    run = run_dag("dashscope_deploy_best_checkpoint", {"job_id": JOB, "max_eval_loss": max_eval_loss},
                  dags_folder=folder)  # fmt: skip

    if passes:
        assert run.returncode == 0, run
        assert run.states == {"export_best": "success", "deploy": "success"}, run
        exported = run.xcom["export_best"]["return_value"]
        assert (exported["checkpoint"], exported["metric_value"]) == ("checkpoint-4", 1.06)
        assert run.xcom["deploy"]["return_value"]["model_name"] == exported["model_name"] == f"qwen3-14b-{JOB}-c4"
        assert emulator.request_count("GET", EXPORT) == 1
    else:
        assert run.states["export_best"] == "failed", run
        assert run.tries["export_best"] == 1, run  # no retry: the job's metrics cannot change
        assert run.states["deploy"] == "upstream_failed", run
        assert "the best eval_loss of fine-tune job" in run.output and "is 1.06 at checkpoint-4" in run.output, run
        assert "max_value 1" in run.output, run
        assert emulator.request_count("GET", EXPORT) == 0
        assert emulator.state.deployments.names() == []
    assert API_KEY not in run.output
