"""The README's and the documentation site's code, run as written.

Every ```python block of ``README.md`` and ``docs/**/*.md`` is one of three kinds, and each kind is run:

* **a DAG** (``with DAG("<dag_id>", ...)``): copied verbatim into a DAGs folder and run with ``airflow dags test``
  against the emulator, with the params it reads (``job_id``, ``job_ids``) passed as conf as the pages say. A DAG
  shown on two pages must be the same code;
* **an included example** (a block holding only ``--8<-- "example_dags/<file>.py"``, which the site renders as the
  file): the file must exist and be one of the example DAGs ``test_example_dags_cli.py`` runs;
* **a Python snippet** (anything else): run in a fresh interpreter in an empty folder holding a small
  ``train.jsonl``, with ``AIRFLOW_CONN_DASHSCOPE_DEFAULT`` set to the emulator; ``http://127.0.0.1:8089`` and the
  key ``sk-local`` that the pages use are replaced with this emulator's address and key.

The jobs the DAGs read have already ended, so the default poll interval of a minute is never waited for.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from airflow_provider_dashscope.emulator import EmulatorConfig, EmulatorState
from airflow_provider_dashscope.emulator.testing import EmulatorThread

from .conftest import API_KEY, EXAMPLE_DAGS, REPO, PollClock, _base_env
from .test_example_dags_cli import TESTED_DAGS

pytest.importorskip("airflow.sdk", reason="the documented DAGs import airflow.sdk, the DAG authoring API of Airflow 3")

PAGES = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
INCLUDE = re.compile(r'^--8<-- "([^"]+)"$')
DAG_ID = re.compile(r'^with DAG\("(\w+)"', re.MULTILINE)

JOB_ID = "ft-202611250930-7a3c"
#: Three jobs for a mapped wait: the second one FAILED.
MAPPED_JOBS = ["ft-202611251000-0001", "ft-202611251000-0002", "ft-202611251000-0003"]
#: The eval_loss of JOB_ID's three checkpoints: the middle one (checkpoint-4) is the best.
LOSSES = [1.31, 1.06, 1.18]
#: The conf of a documented DAG: the params it reads, with these values.
CONF = {"job_id": JOB_ID, "job_ids": MAPPED_JOBS}


@dataclass(frozen=True)
class Snippet:
    page: str  #: relative to the repository
    line: int
    code: str

    @property
    def dag_id(self) -> str | None:
        found = DAG_ID.search(self.code)
        return found.group(1) if found else None

    @property
    def include(self) -> str | None:
        found = INCLUDE.match(self.code.strip())
        return found.group(1) if found else None

    def __str__(self) -> str:
        return f"{self.page}:{self.line}"


def snippets() -> list[Snippet]:
    """Every ```python block of the README and the site, in page order."""
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for match in BLOCK.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append(Snippet(str(page.relative_to(REPO)), line, match.group(1)))
    return found


def dag_snippets() -> dict[str, str]:
    """Each documented DAG's code by DAG id, in the order they first appear."""
    dags: dict[str, str] = {}
    for snippet in snippets():
        if snippet.dag_id and not snippet.include:
            dags.setdefault(snippet.dag_id, snippet.code)
    return dags


def python_snippets() -> list[Snippet]:
    return [s for s in snippets() if not s.dag_id and not s.include]


def readme_dags() -> list[str]:
    return [s.dag_id for s in snippets() if s.page == "README.md" and s.dag_id]


# ------------------------------------------------------------------------------------------------ the pages' code
def test_no_python_block_hides_from_the_runner():
    """An indented or differently spelled fence would not be collected, so it would not be run."""
    for page in PAGES:
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            if re.match(r"^\s*```\s*(py|python3|pycon)\s*$", line) or re.match(r"^\s+```python", line):
                pytest.fail(f"{page.relative_to(REPO)}:{number}: use a top-level ```python fence: {line!r}")


def test_the_readme_shows_the_shortest_dag_and_the_pages_show_the_rest():
    assert readme_dags() == ["dashscope_finetune_deploy"]
    dags = list(dag_snippets())
    assert dags[:2] == ["dashscope_finetune_deploy", "dashscope_finetune_gate"]  # Getting started, in this order
    assert {"dashscope_on_finetune_success", "dashscope_gate_deployment", "dashscope_many_waits"} <= set(dags)
    assert "xcom_pull" not in "".join(dag_snippets().values())  # typed values travel through .output


def test_a_dag_shown_twice_is_the_same_code():
    for snippet in snippets():
        if snippet.dag_id and not snippet.include:
            assert snippet.code == dag_snippets()[snippet.dag_id], f"{snippet}: differs from its first showing"


def test_included_examples_exist_and_are_run_by_the_example_tests():
    included = [s for s in snippets() if s.include]
    assert included, "the how-to guides show the example DAGs through includes"
    for snippet in included:
        path = REPO / snippet.include
        assert path.is_file(), f"{snippet}: {snippet.include} does not exist"
        assert path.parent == EXAMPLE_DAGS, f"{snippet}: only example DAGs are included (they are run elsewhere)"
        dag_ids = DAG_ID.findall(path.read_text()) or re.findall(r'dag_id="(\w+)"', path.read_text())
        assert dag_ids and all(dag_id in TESTED_DAGS for dag_id in dag_ids), f"{snippet}: not run by a test"


# ------------------------------------------------------------------------------------------------ running them
@pytest.fixture
def emulator():
    """The DAG tests' emulator (one second per job poll), with deployments that serve and go at once."""
    clock = PollClock()
    state = EmulatorState(
        EmulatorConfig(
            api_key=API_KEY,
            clock=clock,
            pending_seconds=0,
            canceling_seconds=0,
            deploy_pending_seconds=0,
            deploying_seconds=0,
            deleting_seconds=0,
        )
    )
    clock.state = state
    emu = EmulatorThread(state).start()
    yield emu
    emu.stop()


def _seed(emulator: EmulatorThread) -> None:
    emulator.seed(
        [
            # Trained with validation files: three checkpoints (steps 2, 4, 6) whose eval_loss is LOSSES.
            {"job_id": JOB_ID, "model": "qwen3-14b", "status": "SUCCEEDED", "usage": 4321, "running_seconds": 6,
             "hyper_parameters": {"n_epochs": 3}, "validation_file_ids": ["file-val"], "eval_losses": LOSSES,
             "export_seconds": 0},
            {"job_id": MAPPED_JOBS[0], "model": "qwen3-14b", "status": "SUCCEEDED", "usage": 100},
            {"job_id": MAPPED_JOBS[1], "model": "qwen3-14b", "status": "FAILED", "code": "InvalidDataset",
             "message": "line 3 is not a chat message"},
            {"job_id": MAPPED_JOBS[2], "model": "qwen3-14b", "status": "SUCCEEDED", "usage": 300},
        ]
    )  # fmt: skip


@pytest.mark.parametrize("dag_id", list(dag_snippets()))
def test_a_documented_dag_runs_as_written(dag_id, emulator, run_dag, tmp_path):
    code = dag_snippets()[dag_id]
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / f"{dag_id}.py").write_text(code, encoding="utf-8")
    _seed(emulator)
    conf = {key: value for key, value in CONF.items() if re.search(rf"params\W+{key}\b", code)}

    run = run_dag(dag_id, conf, dags_folder=folder, DASHSCOPE_POLL_INTERVAL="0.5")

    assert run.returncode == 0, run
    assert API_KEY not in run.output
    EXPECTATIONS[dag_id](run)


def _shortest(run):
    assert set(run.states.values()) == {"success"}, run
    _deployed_typed(run, "finetune")


def _gate(run):
    assert set(run.states.values()) == {"success"}, run
    _deployed_typed(run, "finetune_result")


def _deployed_typed(run, waiting_task):
    finetuned_output = f"qwen3-14b-{JOB_ID}"
    assert f"deploying {finetuned_output} which cost 4321 tokens" in run.output, run
    result = run.xcom[waiting_task]["return_value"]
    assert result["finetuned_output"] == finetuned_output
    assert result["usage"] == 4321  # an int, as deploy() received it through .output
    assert run.xcom[waiting_task]["usage"] == 4321


def _gate_deployment(run):
    assert set(run.states.values()) == {"success"}, run
    deployed = run.xcom["deploy"]["deployed_model"]
    assert run.xcom["deploy"]["return_value"]["model_name"] == f"qwen3-14b-{JOB_ID}"
    assert run.xcom["deploy"]["status"] == "RUNNING"
    undeployed = run.xcom["undeploy"]["return_value"]
    assert (undeployed["deployed_model"], undeployed["deleted"]) == (deployed, True), undeployed


def _many_waits(run):
    assert run.states["report"] == "success", run  # trigger_rule="all_done": it runs and reports the rest
    assert "2 of 3 fine-tunes succeeded, 400 tokens" in run.output, run
    assert "XCom not found" not in run.output, run  # the slice reads every result at once
    assert f"{MAPPED_JOBS[1]} ended FAILED" in run.output or "InvalidDataset" in run.output, run


def _event_driven(run):
    """`dags test` gives it no asset event (watchers run only in a triggerer): the DAG parses, its watcher is
    built, and its task runs and deploys nothing. The watcher starting it is the real-stack test's."""
    assert set(run.states.values()) == {"success"}, run


def _weekly_report(run):
    """A data interval timetable: a manual run covers the last whole week, not an empty interval."""
    assert set(run.states.values()) == {"success"}, run
    assert "reporting on the jobs created from" in run.output and "(7 days)" in run.output, run


def _best_checkpoint(run):
    """The gate passes (the default max_eval_loss 1.5): the best checkpoint is exported, then deployed."""
    assert set(run.states.values()) == {"success"}, run
    exported = run.xcom["export_best"]["return_value"]
    assert (exported["checkpoint"], exported["metric"], exported["metric_value"]) == ("checkpoint-4", "eval_loss", 1.06)
    assert run.xcom["deploy"]["return_value"]["model_name"] == exported["model_name"] == f"qwen3-14b-{JOB_ID}-c4"


EXPECTATIONS = {
    "dashscope_deploy_best_checkpoint": _best_checkpoint,
    "dashscope_finetune_deploy": _shortest,
    "dashscope_finetune_gate": _gate,
    "dashscope_gate_deployment": _gate_deployment,
    "dashscope_many_waits": _many_waits,
    "dashscope_on_finetune_success": _event_driven,
    "dashscope_weekly_report": _weekly_report,
}


def test_every_documented_dag_has_its_expectations():
    assert set(dag_snippets()) == set(EXPECTATIONS)


#: Runs each snippet given on the command line in a fresh namespace and a fresh empty folder (holding train.jsonl),
#: in one interpreter (Airflow is imported once), and prints one line per snippet: ``SNIPPET <index> ok|failed``.
SNIPPET_DRIVER = """
import json, os, runpy, shutil, sys, tempfile, traceback
paths, training_file = json.loads(sys.argv[1]), sys.argv[2]
for index, path in enumerate(paths):
    folder = tempfile.mkdtemp()
    shutil.copy(training_file, os.path.join(folder, "train.jsonl"))
    os.chdir(folder)
    try:
        runpy.run_path(path, run_name="__main__")
    except BaseException:
        traceback.print_exc()
        print(f"SNIPPET {index} failed", flush=True)
    else:
        print(f"SNIPPET {index} ok", flush=True)
"""


@pytest.fixture(scope="module")
def snippet_runs(airflow_home, tmp_path_factory) -> dict[str, str]:
    """Every Python snippet, run once against one emulator: snippet -> ``ok`` or its output."""
    folder = tmp_path_factory.mktemp("snippets")
    emulator = EmulatorThread(EmulatorState(EmulatorConfig(api_key=API_KEY))).start()
    try:
        _seed(emulator)
        paths = []
        for index, snippet in enumerate(python_snippets()):
            code = snippet.code.replace("http://127.0.0.1:8089", emulator.root_url).replace("sk-local", API_KEY)
            path = folder / f"snippet_{index}.py"
            path.write_text(code, encoding="utf-8")
            paths.append(str(path))
        env = _base_env(airflow_home)
        env["AIRFLOW_CONN_DASHSCOPE_DEFAULT"] = json.dumps(
            {"conn_type": "dashscope", "password": API_KEY, "host": emulator.base_url}
        )
        env["PYTHONPATH"] = str(REPO)
        training_file = str(EXAMPLE_DAGS / "data" / "airflow_faq_sft.jsonl")
        done = subprocess.run(
            [sys.executable, "-c", SNIPPET_DRIVER, json.dumps(paths), training_file],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        emulator.stop()
    output = done.stdout + done.stderr
    assert API_KEY not in output
    results = {}
    for index, snippet in enumerate(python_snippets()):
        ok = f"SNIPPET {index} ok" in done.stdout
        results[str(snippet)] = "ok" if ok else output[-4000:]
    return results


@pytest.mark.parametrize("snippet", python_snippets(), ids=str)
def test_a_documented_python_snippet_runs_as_written(snippet, snippet_runs):
    assert snippet_runs[str(snippet)] == "ok", f"{snippet} failed:\n{snippet_runs[str(snippet)]}"


def test_the_snippets_are_found():
    """The collector sees the pages' code: an empty list would pass every test above."""
    assert len(dag_snippets()) >= 5
    assert len(python_snippets()) >= 3
    assert any(s.page.startswith("docs/") for s in python_snippets())
    assert Path(REPO / "mkdocs.yml").is_file()
