"""`airflow dags test` of every example DAG, in a fresh AIRFLOW_HOME each, against the emulator on 127.0.0.1.

Each test runs the venv's own ``airflow`` CLI (next to ``sys.executable``) as a subprocess: ``airflow dags test`` on
a copy of a DB that ``airflow db migrate`` made once for the test run (tests/_airflow_db.py); the emulator runs in
the pytest process. The connection comes from
``AIRFLOW_CONN_DASHSCOPE_DEFAULT``, so no connection is stored anywhere.

``test_every_example_dag_is_run_here`` fails when a file in ``example_dags/`` brings a DAG that no test here runs:
add a test, and its DAG id to ``TESTED_DAGS``.

The fixtures are kept in this file on purpose (``tests/dags/conftest.py`` belongs to other DAG tests).
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import airflow
import pytest

from airflow_provider_dashscope.emulator.testing import EmulatorThread
from tests._airflow_db import copy_migrated_db

AIRFLOW_MAJOR = int(str(airflow.__version__).split(".", 1)[0])

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_DAGS = REPO / "example_dags"
AIRFLOW = Path(sys.executable).parent / "airflow"
CLI_TIMEOUT = 180.0

#: Every example DAG id, and the test below that runs it with `airflow dags test`.
TESTED_DAGS = {
    "dashscope_finetune_gate": "test_gate_dag_waits_for_the_job_and_deploys_its_result",
    "dashscope_finetune_report": "test_report_dag_writes_the_report_of_its_data_interval",
    "dashscope_finetune_pipeline": "test_pipeline_goes_from_a_jsonl_file_to_a_serving_model_and_starts_the_announcer",
    "dashscope_new_model_announcer": "test_pipeline_goes_from_a_jsonl_file_to_a_serving_model_and_starts_the_announcer",
    "dashscope_on_finetune_success": "test_event_driven_dag_runs_its_task_on_the_events_it_is_given",
}
#: Example DAGs that exist on Airflow 3 only (asset watchers), and their files.
AIRFLOW3_ONLY = {"dashscope_on_finetune_success": "example_dashscope_on_finetune_success.py"}
AIRFLOW_2 = AIRFLOW_MAJOR < 3
try:
    import airflow.providers.openlineage

    HAS_OPENLINEAGE = True
except ImportError:  # without the `openlineage` extra the pipeline runs without lineage
    HAS_OPENLINEAGE = False
RUNNER = REPO / "tests" / "_dag_runner.py"
TRAINING_FILE = EXAMPLE_DAGS / "data" / "airflow_faq_sft.jsonl"
VALIDATION_FILE = EXAMPLE_DAGS / "data" / "airflow_faq_sft_validation.jsonl"


def evaluated_losses(state, job_id: str) -> dict[int, float]:
    """The eval_loss of each checkpoint step, read from the job's training log."""
    from airflow_provider_dashscope.wait.evaluation import read_evaluations

    lines = state.job_logs(job_id, 0, 1000)["logs"]
    return {e.step: e.metrics["eval_loss"] for e in read_evaluations(lines) if e.step is not None}


# ------------------------------------------------------------------------------------------------------------
# Fixtures and helpers
# ------------------------------------------------------------------------------------------------------------
class StartsOnFirstPoll:
    """An emulator clock that stands still until ``start()``, then runs in real time.

    The gate test seeds a job whose few seconds of training begin only when the DAG's sensor first asks about
    it, so the sensor always sees it unfinished and has to defer, however slowly Airflow starts.
    """

    def __init__(self, epoch: float) -> None:
        self._epoch = epoch
        self._started: float | None = None

    def start(self) -> None:
        if self._started is None:
            self._started = time.monotonic()

    def __call__(self) -> float:
        return self._epoch + (0.0 if self._started is None else time.monotonic() - self._started)


@pytest.fixture
def clock() -> StartsOnFirstPoll:
    return StartsOnFirstPoll(time.time())


@pytest.fixture
def emulator(clock: StartsOnFirstPoll, request: pytest.FixtureRequest):
    """The emulator; ``@pytest.mark.parametrize("emulator", [{...}], indirect=True)`` adds settings."""
    settings = {"pending_seconds": 0, "running_seconds": 3, "random_seed": 3, **getattr(request, "param", {})}
    with EmulatorThread(clock=clock, **settings) as emu:
        yield emu


@pytest.fixture
def airflow_env(tmp_path: Path, emulator: EmulatorThread) -> dict[str, str]:
    """The environment of the CLI: a fresh, migrated AIRFLOW_HOME, the example DAGs, the emulator connection."""
    home = tmp_path / "airflow-home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_", "DASHSCOPE_"))}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_FOLDER=str(EXAMPLE_DAGS),
        AIRFLOW_CONN_DASHSCOPE_DEFAULT=json.dumps(
            {"conn_type": "dashscope", "password": emulator.api_key, "host": emulator.base_url}
        ),
        DASHSCOPE_EXAMPLE_POLL_INTERVAL="0.5",
        PYTHONUNBUFFERED="1",
    )
    copy_migrated_db(home)
    return env


class CliResult:
    def __init__(self, returncode: int, output: str) -> None:
        self.returncode = returncode
        self.output = output

    @property
    def tail(self) -> str:
        return self.output[-6000:]


def run_cli(env: dict[str, str], log_path: Path, *args: str) -> CliResult:
    """Run ``airflow <args>``; stdout and stderr go to ``log_path``. On timeout its process group is killed."""
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(AIRFLOW), *args],
            env=env,
            cwd=str(log_path.parent),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            returncode = process.wait(timeout=CLI_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # the group this test started, by the child's own id
            process.wait()
            pytest.fail(f"airflow {' '.join(args)} took over {CLI_TIMEOUT:.0f} s:\n{log_path.read_text()[-6000:]}")
    return CliResult(returncode, log_path.read_text(encoding="utf-8", errors="replace"))


def start_clock_on_first_poll(emu: EmulatorThread, clock: StartsOnFirstPoll, job_id: str) -> threading.Event:
    """Start ``clock`` as soon as the emulator serves the first request about ``job_id``; set the event to stop."""
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            if emu.request_count(job_id=job_id):
                clock.start()
                return
            stop.wait(0.05)

    threading.Thread(target=watch, name="start-clock-on-first-poll", daemon=True).start()
    return stop


# ------------------------------------------------------------------------------------------------------------
# The DAGs
# ------------------------------------------------------------------------------------------------------------
PARSE_EXAMPLES = """
import json, sys
try:  # Airflow 3
    from airflow.dag_processing.dagbag import DagBag
    bag = DagBag(dag_folder=sys.argv[1])
except ImportError:  # Airflow 2
    from airflow.models.dagbag import DagBag
    bag = DagBag(dag_folder=sys.argv[1], include_examples=False)
print(json.dumps({"errors": bag.import_errors, "files": {d: bag.dags[d].fileloc for d in bag.dag_ids}}))
"""


def test_every_example_dag_is_run_here(request, tmp_path):
    """Parse example_dags/: every file must bring a DAG, and every DAG must be run by a test in this file.

    In a fresh interpreter with a migrated DB on Airflow 2 (parsing a DAG scheduled on a dataset alias reads it).
    """
    if AIRFLOW_MAJOR >= 3:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")}
        env.update(AIRFLOW_HOME=str(tmp_path), AIRFLOW__CORE__LOAD_EXAMPLES="False")
    else:
        env = request.getfixturevalue("airflow_env")
    done = subprocess.run([sys.executable, "-c", PARSE_EXAMPLES, str(EXAMPLE_DAGS)], env=env, capture_output=True,
                          text=True, timeout=CLI_TIMEOUT, cwd=str(tmp_path))  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    parsed = json.loads(done.stdout.strip().splitlines()[-1])
    assert parsed["errors"] == {}
    found = sorted(parsed["files"])
    expected = sorted(d for d in TESTED_DAGS if not (AIRFLOW_2 and d in AIRFLOW3_ONLY))
    assert found == expected, f"example DAGs {found} vs DAGs tested here {expected}"
    files_with_dags = {Path(path).resolve() for path in parsed["files"].values()}
    example_files = {p.resolve() for p in EXAMPLE_DAGS.glob("*.py") if p.name != "__init__.py"}
    if AIRFLOW_2:
        example_files -= {(EXAMPLE_DAGS / name).resolve() for name in AIRFLOW3_ONLY.values()}
    assert example_files - files_with_dags == set(), "a file in example_dags/ defines no DAG that is tested here"
    assert all(callable(globals().get(name)) for name in TESTED_DAGS.values())


def test_report_dag_imports_no_provider_module_at_parse_time(tmp_path):
    """The DAG processor parses the file often: the hook, the models and the report code load only in the task."""
    code = (
        "import runpy, sys\n"
        "import airflow\n"
        "before = set(sys.modules)\n"
        f"namespace = runpy.run_path({str(EXAMPLE_DAGS / 'example_dashscope_finetune_report.py')!r})\n"
        "assert namespace['dag'].dag_id == 'dashscope_finetune_report'\n"
        "print(sorted(m for m in set(sys.modules) - before if m.startswith('airflow_provider_dashscope')))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")}
    env["AIRFLOW_HOME"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=CLI_TIMEOUT, cwd=str(tmp_path)
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_gate_dag_waits_for_the_job_and_deploys_its_result(emulator, clock, airflow_env, tmp_path):
    job_id = "ft-202611201200-9a7e"
    emulator.seed({"job_id": job_id, "model": "qwen3-14b", "usage": 4321})
    stop = start_clock_on_first_poll(emulator, clock, job_id)
    try:
        result = run_cli(
            airflow_env,
            tmp_path / "dags-test.log",
            "dags",
            "test",
            "dashscope_finetune_gate",
            "-c",
            json.dumps({"job_id": job_id}),
        )
    finally:
        stop.set()

    assert result.returncode == 0, result.tail
    assert f"DEPLOY finetuned_output=qwen3-14b-{job_id} usage=4321" in result.output, result.tail
    # It really waited: the first look saw the job running, then the trigger polled until it succeeded.
    assert emulator.request_count("GET", "/fine-tunes/{job_id}", job_id=job_id) >= 3


REPORT_JOBS = [
    # (job_id suffix, base model, status, create_time and end_time in the emulator's UTC+8, usage, code, message)
    ("r001", "qwen3-14b", "SUCCEEDED", "2026-11-19 08:00:00", "2026-11-19 09:00:00", 1000, None, None),
    ("r002", "qwen3-14b", "FAILED", "2026-11-19 12:00:00", "2026-11-19 12:10:00", None, "InvalidDataset", "bad | row"),
    ("r003", "qwen3-8b", "SUCCEEDED", "2026-11-19 20:00:00", "2026-11-19 21:30:00", 2500, None, None),
    ("r004", "qwen3-8b", "RUNNING", "2026-11-20 07:59:59", None, None, None, None),
    ("r005", "qwen3-8b", "CANCELED", "2026-11-19 10:00:00", "2026-11-19 10:05:00", 300, None, None),
    ("x001", "qwen3-14b", "SUCCEEDED", "2026-11-20 08:00:00", "2026-11-20 09:00:00", 99_999, None, None),
    ("x002", "qwen3-8b", "SUCCEEDED", "2026-11-19 07:59:59", "2026-11-19 09:00:00", 88_888, None, None),
    # the previous day, [2026-11-18 00:00, 2026-11-19 00:00) UTC (x002 too): compared with, never counted
    ("p001", "qwen3-8b", "FAILED", "2026-11-18 09:00:00", "2026-11-18 09:10:00", None, "DataError", "x"),
    ("p002", "qwen3-8b", "FAILED", "2026-11-18 10:00:00", "2026-11-18 10:10:00", None, "DataError", "y"),
]


def test_report_dag_writes_the_report_of_its_data_interval(emulator, airflow_env, tmp_path):
    # A manual run with logical date 2026-11-20 covers the day before it (on Airflow 2 and 3 alike):
    # [2026-11-19 00:00, 2026-11-20 00:00) UTC, i.e. 08:00 to 08:00 in the emulator's UTC+8.
    specs = []
    for suffix, base_model, status, created, ended, usage, code, message in REPORT_JOBS:
        spec = {
            "job_id": f"ft-202611190800-{suffix}",
            "model": base_model,
            "status": status,
            "pin": True,  # the report reads statuses as seeded, whatever the emulator's clock does
            "create_time": created,
        }
        spec.update(
            {
                k: v
                for k, v in (("end_time", ended), ("usage", usage), ("code", code), ("message", message))
                if v is not None
            }
        )
        specs.append(spec)
    emulator.seed(specs)
    emulator.state.deployments.seed(
        [{"model_name": "qwen3-14b-ft-202611190800-r001", "suffix": "faq", "status": "RUNNING"}]
    )
    report_dir = tmp_path / "reports"
    airflow_env["DASHSCOPE_REPORT_DIR"] = str(report_dir)
    conf = {"prices_per_1k_tokens": {"qwen3-14b": 0.04, "qwen3-8b": 1.5}, "currency": "USD"}

    result = run_cli(
        airflow_env, tmp_path / "dags-test.log",
        "dags", "test", "dashscope_finetune_report", "2026-11-20", "-c", json.dumps(conf),
    )  # fmt: skip

    assert result.returncode == 0, result.tail
    assert "5 job(s) created in the window (9 listed, 0 undated)" in result.output, result.tail
    csv_path = report_dir / "dashscope_finetune_report_20261119.csv"
    md_path = report_dir / "dashscope_finetune_report_20261119.md"
    assert sorted(p.name for p in report_dir.iterdir()) == [csv_path.name, md_path.name]

    with open(csv_path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["job_id"][-4:], r["status"], r["usage"], r["duration_seconds"]) for r in rows] == [
        ("r001", "SUCCEEDED", "1000", "3600"),
        ("r005", "CANCELED", "300", "300"),
        ("r002", "FAILED", "", "600"),
        ("r003", "SUCCEEDED", "2500", "5400"),
        ("r004", "RUNNING", "", ""),
    ]
    assert rows[0]["create_time"] == "2026-11-19T00:00:00+00:00"

    markdown = md_path.read_text(encoding="utf-8")
    assert "- Window: 2026-11-19T00:00:00+00:00 (inclusive) to 2026-11-20T00:00:00+00:00 (exclusive)" in markdown
    assert "- Jobs created in the window: 5\n- Jobs listed: 9;" in markdown
    assert "- Tokens used: 3,800\n- Cost at the prices given: 4.24 USD\n- Models produced: 2\n" in markdown
    # Only the statuses that occurred, in life-cycle order.
    assert (
        "| Status | Jobs |\n| --- | ---: |\n| RUNNING | 1 |\n| SUCCEEDED | 2 |\n| FAILED | 1 |\n| CANCELED | 1 |\n\n"
        in markdown
    )
    assert (
        "The previous period: 2026-11-18T00:00:00+00:00 to 2026-11-19T00:00:00+00:00, of the same length.\n\n"
        "|  | This period | Previous period | Change |\n| --- | ---: | ---: | ---: |\n"
        "| Jobs | 5 | 3 | +2 (+67%) |\n| Tokens | 3,800 | 88,888 | -85,088 (-96%) |\n| Failures | 1 | 2 | -1 (-50%) |\n"
    ) in markdown
    assert (
        "| Base model | Jobs | Jobs with usage | Tokens | Cost (USD) |\n| --- | ---: | ---: | ---: | ---: |\n"
        "| qwen3-14b | 2 | 1 | 1,000 | 0.04 |\n| qwen3-8b | 3 | 2 | 2,800 | 4.20 |\n| Total | 5 | 3 | 3,800 | 4.24 |\n"
    ) in markdown
    assert "It includes the time a job waited (PENDING, QUEUING) before it trained" in markdown
    assert "| (all) | 4 | 5 min 00 s | 35 min | 1 h 30 min | 2 h 45 min |\n" in markdown
    assert (
        "| Job name | finetuned\\_output | Base model | Tokens | Deployed | Cost (USD) |\n"
        "| --- | --- | --- | ---: | --- | ---: |\n"
        "| ft-202611190800-r001 | qwen3-14b-ft-202611190800-r001 | qwen3-14b | 1,000 | yes: "
        "qwen3-14b-ft-202611190800-r001-faq (RUNNING) | 0.04 |\n"
        "| ft-202611190800-r003 | qwen3-8b-ft-202611190800-r003 | qwen3-8b | 2,500 | no | 3.75 |\n"
    ) in markdown
    assert (
        "| ft-202611190800-r002 | qwen3-14b | FAILED | InvalidDataset | bad \\| row | 2026-11-19T04:10:00+00:00 |\n"
    ) in markdown


def run_reported(env: dict[str, str], log_path: Path, dag_id: str, conf: dict | None = None) -> tuple[CliResult, dict]:
    """``airflow dags test`` through ``tests/_dag_runner.py``: the CLI's result and what the run left in the DB."""
    with open(log_path, "wb") as log:
        done = subprocess.run([sys.executable, str(RUNNER), dag_id, json.dumps(conf) if conf else ""], env=env,
                              cwd=str(log_path.parent), stdout=log, stderr=subprocess.STDOUT, timeout=CLI_TIMEOUT)  # fmt: skip
    result = CliResult(done.returncode, log_path.read_text(encoding="utf-8", errors="replace"))
    lines = [line for line in result.output.splitlines() if line.startswith("DAG_RESULT ")]
    assert lines, f"no DAG_RESULT line:\n{result.tail}"
    return result, json.loads(lines[-1][len("DAG_RESULT ") :])


@pytest.mark.parametrize(
    "emulator", [{"strict_file_ids": True, "deploy_pending_seconds": 1, "deploying_seconds": 2}], indirect=True
)
def test_pipeline_goes_from_a_jsonl_file_to_a_serving_model_and_starts_the_announcer(
    emulator, clock, airflow_env, tmp_path
):
    import hashlib

    clock.start()  # the emulator's jobs and deployments run in real time (the example polls every 0.5 s)
    if AIRFLOW_MAJOR < 3:  # Airflow 2's `dags test` does not write the DAG's dataset aliases to the DB: do it first
        reserialized = run_cli(airflow_env, tmp_path / "reserialize.log", "dags", "reserialize")
        assert reserialized.returncode == 0, reserialized.tail

    lineage_file = tmp_path / "lineage.jsonl"
    if HAS_OPENLINEAGE:  # the way the example's docstring turns lineage on: the provider's file transport
        transport = {"type": "file", "log_file_path": str(lineage_file), "append": True}
        airflow_env = {**airflow_env, "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(transport)}
    result, run = run_reported(airflow_env, tmp_path / "pipeline.log", "dashscope_finetune_pipeline")

    assert result.returncode == 0, result.tail
    assert run["states"] == {"upload_training_data": "success", "upload_validation_data": "success",
                             "train": "success", "export_best": "success", "deploy": "success",
                             "report_serving": "success"}, result.tail  # fmt: skip
    # What the emulator holds: the shipped files, one job trained on them, its best checkpoint exported, and one
    # deployment of the exported model, serving.
    state = emulator.state
    xcom = run["xcom"]
    file_id = xcom["upload_training_data"]["return_value"]
    validation_id = xcom["upload_validation_data"]["return_value"]
    assert sorted(state.files.names()) == sorted([file_id, validation_id])
    stored = state.files.get(file_id)
    assert (stored["name"], stored["md5"]) == (TRAINING_FILE.name, hashlib.md5(TRAINING_FILE.read_bytes()).hexdigest())
    assert "[airflow:" in stored["description"]
    assert state.files.get(validation_id)["name"] == VALIDATION_FILE.name
    (job_id,) = state.job_ids()
    job = state.get_job(job_id)
    assert (job["status"], job["training_file_ids"], job["validation_file_ids"], job["model"]) == (
        "SUCCEEDED", [file_id], [validation_id], "qwen3-14b")  # fmt: skip
    # The gate chose the checkpoint with the lowest eval_loss of the job's log (the emulator's curve rises at the
    # end, so it is not the last one) and exported it.
    losses = evaluated_losses(state, job_id)
    best_step = min(losses, key=losses.get)
    assert best_step != max(losses)
    exported = next(c for c in state.list_checkpoints(job_id) if c["step"] == best_step)
    assert exported["status"] == "SUCCEEDED"
    assert xcom["export_best"]["return_value"] == {
        "job_id": job_id, "checkpoint": f"checkpoint-{best_step}", "step": best_step, "status": "SUCCEEDED",
        "model_name": exported["model_name"], "model_display_name": exported["model_display_name"],
        "metric": "eval_loss", "metric_value": losses[best_step]}  # fmt: skip
    (deployed,) = state.deployments.names()
    deployment = state.deployments.get(deployed)
    assert (deployment["model_name"], deployment["status"]) == (exported["model_name"], "RUNNING")
    counts = {route: emulator.request_count("POST", route) for route in ("/files", "/fine-tunes", "/deployments")}
    assert counts == {"/files": 2, "/fine-tunes": 1, "/deployments": 1}
    assert emulator.request_count("GET", "/fine-tunes/{job_id}/export/{checkpoint}") == 1
    assert emulator.request_count("GET", "/deployments/{deployed_model}") >= 1  # the trigger waited for RUNNING

    # What the DAG saw.
    assert (xcom["train"]["job_id"], xcom["train"]["finetuned_output"]) == (job_id, job["finetuned_output"])
    assert xcom["deploy"]["return_value"]["deployed_model"] == deployed
    assert xcom["deploy"]["status"] == "RUNNING"
    assert run["links"]["deploy"] == f"{emulator.base_url}/deployments/{deployed}"
    assert (f"SERVING deployed_model={deployed} model_name={exported['model_name']} checkpoint=checkpoint-{best_step} "
            f"eval_loss={losses[best_step]}") in result.output  # fmt: skip
    model_extra = {"job_id": job_id, "model": "qwen3-14b", "base_model": job["base_model"],
                   "finetuned_output": job["finetuned_output"], "usage": job["usage"], "status": "SUCCEEDED",
                   "region": "local"}  # fmt: skip
    deploy_extra = {"deployed_model": deployed, "model_name": exported["model_name"], "base_model": job["base_model"],
                    "status": "RUNNING", "capacity": 1, "region": "local"}  # fmt: skip
    assert run["asset_events"] == [
        {"task_id": "train", "uri": f"dashscope://local/models/{job['finetuned_output']}", "extra": model_extra},
        {"task_id": "deploy", "uri": f"dashscope://local/deployments/{deployed}", "extra": deploy_extra},
    ]
    assert emulator.api_key not in result.output
    assert emulator.api_key not in json.dumps(run)  # XComs, rendered fields, trigger rows, next_kwargs, asset events
    if HAS_OPENLINEAGE:
        check_lineage(lineage_file, emulator, file_id, validation_id, job, exported, deployed)

    # The DAG scheduled on the alias gets the producer's extra (a run started by hand reads the alias's latest event;
    # the real-stack test shows the scheduler starting it from the event).
    announced, consumer = run_reported(airflow_env, tmp_path / "announcer.log", "dashscope_new_model_announcer")
    assert announced.returncode == 0, announced.tail
    assert consumer["xcom"]["announce"]["return_value"] == [
        {"uri": f"dashscope://local/deployments/{deployed}", "extra": deploy_extra, "started_by": "hand"}
    ]


def check_lineage(path: Path, emulator, file_id: str, validation_id: str, job: dict, exported: dict, deployed: str):
    """The OpenLineage events the provider's file transport wrote for the pipeline run: each task's inputs and
    outputs chain the local files to the serving deployment, in the datasets the asset URIs name."""
    assert path.exists(), "the OpenLineage listener wrote no event"
    text = path.read_text()
    assert emulator.api_key not in text  # the secret scan of the lineage events
    events = [json.loads(line) for line in text.splitlines() if line.strip()]
    complete = {
        e["job"]["name"].rsplit(".", 1)[-1]: e
        for e in events
        if e["eventType"] == "COMPLETE" and "." in e["job"]["name"]
    }

    def names(datasets):
        return [f"{d['namespace']}/{d['name']}" if d["namespace"] != "file" else f"file:{d['name']}" for d in datasets]

    ns = "dashscope://local"
    assert names(complete["upload_training_data"]["inputs"]) == [f"file:{TRAINING_FILE}"]
    assert names(complete["upload_training_data"]["outputs"]) == [f"{ns}/files/{file_id}"]
    assert names(complete["upload_validation_data"]["outputs"]) == [f"{ns}/files/{validation_id}"]
    train = complete["train"]
    assert names(train["inputs"]) == [f"{ns}/files/{file_id}", f"{ns}/files/{validation_id}"]
    assert names(train["outputs"]) == [f"{ns}/models/{job['finetuned_output']}"]  # the asset URI of the model
    facet = train["run"]["facets"]["dashscope_fineTune"]
    assert (facet["jobId"], facet["baseModel"], facet["usageTokens"]) == (job["job_id"], "qwen3-14b", job["usage"])
    assert facet["hyperParameters"] == job["hyper_parameters"]
    assert facet["consoleUrl"] == f"{emulator.base_url}/fine-tunes/{job['job_id']}"
    assert train["run"]["facets"]["externalQuery"]["externalQueryId"] == job["job_id"]
    gate = complete["export_best"]
    assert names(gate["inputs"]) == [f"{ns}/models/{job['finetuned_output']}"]
    assert names(gate["outputs"]) == [f"{ns}/models/{exported['model_name']}"]
    chosen = gate["run"]["facets"]["dashscope_checkpointExport"]
    assert (chosen["checkpoint"], chosen["metric"]) == (exported["checkpoint"], "eval_loss")
    deploy = complete["deploy"]
    assert names(deploy["inputs"]) == [f"{ns}/models/{exported['model_name']}"]
    assert names(deploy["outputs"]) == [f"{ns}/deployments/{deployed}"]
    assert deploy["outputs"][0]["facets"]["dashscope_deployment"]["capacity"] == 1


@pytest.mark.skipif(AIRFLOW_2, reason="asset watchers (event-driven scheduling) need Airflow 3")
def test_event_driven_dag_runs_its_task_on_the_events_it_is_given(airflow_env, tmp_path):
    """`dags test` gives the DAG no asset event (it never runs watchers): the task runs and deploys nothing. The
    watcher itself, a job starting this DAG with its summary in the event, is the real-stack test's."""
    result = run_cli(airflow_env, tmp_path / "dags-test.log", "dags", "test", "dashscope_on_finetune_success")

    assert result.returncode == 0, result.tail
    assert "0 fine-tuned model(s) to deploy" in result.output, result.tail
    assert "DEPLOY job_id=" not in result.output
