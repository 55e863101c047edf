"""The README's DAGs, run as written: each ```python block that builds a DAG is copied verbatim into a DAGs folder
and run with ``airflow dags test`` against the emulator, with the job id passed as conf as the README says.

The job has already succeeded, so the default poll interval of a minute is never waited for.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .conftest import API_KEY, REPO

pytest.importorskip("airflow.sdk", reason="the README's DAGs import airflow.sdk, the DAG authoring API of Airflow 3")

README_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def readme_dags() -> dict[str, str]:
    """The README's DAG snippets by DAG id, in the order they appear."""
    snippets = {}
    for code in README_BLOCK.findall((REPO / "README.md").read_text(encoding="utf-8")):
        found = re.search(r'^with DAG\("(\w+)"', code, re.MULTILINE)
        if found:
            snippets[found.group(1)] = code
    return snippets


def test_the_readme_shows_the_shortest_dag_first_then_the_gate():
    assert list(readme_dags())[:2] == ["dashscope_finetune_deploy", "dashscope_finetune_gate"]
    assert list(readme_dags())[2:] == ["dashscope_on_finetune_success"]  # the event-driven DAG, further down
    assert "xcom_pull" not in "".join(readme_dags().values())  # typed values travel through .output


def test_the_readme_event_driven_dag_runs_as_written(emulator, run_dag, tmp_path):
    """`dags test` gives it no asset event (watchers run only in a triggerer): the DAG parses, its watcher is
    built, and its task runs and deploys nothing. The watcher starting it is the real-stack test's."""
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "dashscope_on_finetune_success.py").write_text(
        readme_dags()["dashscope_on_finetune_success"], encoding="utf-8"
    )
    run = run_dag("dashscope_on_finetune_success", {}, dags_folder=folder)

    assert run.returncode == 0, run
    assert set(run.states.values()) == {"success"}, run


@pytest.mark.parametrize(
    ("dag_id", "waiting_task"),
    [("dashscope_finetune_deploy", "finetune"), ("dashscope_finetune_gate", "finetune_result")],
)
def test_a_readme_dag_runs_as_written_and_hands_typed_results_on(dag_id, waiting_task, emulator, run_dag, tmp_path):
    folder = tmp_path / "dags"
    folder.mkdir()
    Path(folder / f"{dag_id}.py").write_text(readme_dags()[dag_id], encoding="utf-8")
    job_id = "ft-202611250930-7a3c"
    emulator.seed([{"job_id": job_id, "model": "qwen3-14b", "status": "SUCCEEDED", "usage": 4321}])

    run = run_dag(dag_id, {"job_id": job_id}, dags_folder=folder)

    assert run.returncode == 0, run
    assert set(run.states.values()) == {"success"}, run
    finetuned_output = f"qwen3-14b-{job_id}"
    assert f"deploying {finetuned_output} which cost 4321 tokens" in run.output, run
    result = run.xcom[waiting_task]["return_value"]
    assert result["finetuned_output"] == finetuned_output
    assert result["usage"] == 4321  # an int, as deploy() received it through .output
    assert run.xcom[waiting_task]["usage"] == 4321
    assert API_KEY not in run.output
