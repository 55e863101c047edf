"""The demo: run the pipeline example DAG end to end against the local emulator, then stop everything.

It starts the emulator on a free loopback port (``--strict-file-ids``: a fine-tune must name files that were
uploaded), runs ``airflow dags test dashscope_finetune_pipeline``: upload the example training and validation JSONL
files → create a fine-tune job → wait in the triggerer → gate on the best checkpoint's eval loss and export it →
deploy the exported model → wait in the triggerer until it is RUNNING → report what serves. Then it prints, side by
side, what the DAG saw (its XComs and asset events, read from Airflow's DB) and what the emulator holds (read through
the provider's hook), the chosen checkpoint and its loss among them. Everything lives in ``.demo/`` (or
``--workdir``); the migrated Airflow DB is kept there between runs, so a second run skips ``airflow db migrate``.

It runs whichever provider the Python running it imports: the checkout's in ``make demo``, an installed wheel's in
``make dist-check`` (which runs it from outside the checkout and checks the printed location).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DEMO_KEY = "sk-demo-emulator-key"
DAG_ID = "dashscope_finetune_pipeline"
DAG_FILE = ROOT / "example_dags" / "example_dashscope_finetune_pipeline.py"
TRAINING_FILE = ROOT / "example_dags" / "data" / "airflow_faq_sft.jsonl"
VALIDATION_FILE = ROOT / "example_dags" / "data" / "airflow_faq_sft_validation.jsonl"
#: Emulator clock: a job is PENDING 1 s and trains 4 s; a deployment is PENDING 1 s and DEPLOYING 2 s.
EMULATOR_TIMES = ["--pending-seconds", "1", "--running-seconds", "4", "--deploy-pending-seconds", "1",
                  "--deploying-seconds", "2"]  # fmt: skip


#: Widest line the demo prints (longer ones wrap between words).
LINE_WIDTH = 118
#: In a line too long for :data:`LINE_WIDTH`, a token this long or longer (a file id, an MD5, a request id) is
#: shortened in its middle, its two ends identifying it; names (models, deployments) are shorter and stay whole.
LONG_TOKEN = 32
_TOKEN = re.compile(rf"[A-Za-z0-9_.:=-]{{{LONG_TOKEN},}}")


def shorten_token(token: str, keep: int = 8) -> str:
    """``file-ab12...ef90`` style: the first and last ``keep`` characters around an ellipsis (``key=`` kept whole)."""
    name, sep, value = token.rpartition("=")
    if len(value) <= 2 * keep + 1:
        return token
    return f"{name}{sep}{value[:keep]}…{value[-keep:]}"


def _shortened(token: str) -> str:
    """A long id shortened; ``key=value`` only when the value is long (``deployed_model=<a name>`` stays)."""
    return shorten_token(token) if len(token.rpartition("=")[2]) >= LONG_TOKEN else token


def fit(line: str, width: int = LINE_WIDTH, indent: str = "  ") -> list[str]:
    """A log line as printed lines of at most ``width`` characters: when it is too long, long ids shortened in the
    middle, then wrapped between words, never inside one."""
    text = line if len(indent) + len(line) <= width else _TOKEN.sub(lambda m: _shortened(m.group(0)), line)
    return textwrap.wrap(
        text,
        width=width,
        initial_indent=indent,
        subsequent_indent=indent + "    ",
        break_long_words=False,
        break_on_hyphens=False,
    ) or [indent]


def start_emulator(workdir: Path) -> tuple[subprocess.Popen, str]:
    port_file = workdir / "emulator.port"
    process = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_dashscope.emulator", "--host", "127.0.0.1", "--port", "0",
         "--port-file", str(port_file), "--api-key", DEMO_KEY, "--strict-file-ids", *EMULATOR_TIMES, "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=(workdir / "emulator.log").open("w"),  # the emulator writes to it until it is stopped
    )  # fmt: skip
    deadline = time.time() + 30
    while not port_file.exists() or not port_file.read_text().strip():
        if process.poll() is not None or time.time() > deadline:
            raise SystemExit(f"the emulator did not start; see {workdir / 'emulator.log'}")
        time.sleep(0.1)
    return process, f"http://127.0.0.1:{port_file.read_text().strip()}/api/v1"


def migrated_db(workdir: Path, home: Path, env: dict[str, str]) -> None:
    """Put a migrated metadata DB into ``home``: a copy of the one kept from an earlier run, else a new one."""
    from airflow import __version__ as airflow_version

    kept = workdir / "db-cache" / f"airflow-{airflow_version}.db"
    if kept.exists():
        shutil.copyfile(kept, home / "airflow.db")
        return
    print("Creating the Airflow metadata DB (once; later runs reuse it)")
    subprocess.run([BIN / "airflow", "db", "migrate"], env=env, check=True, capture_output=True)
    kept.parent.mkdir(exist_ok=True)
    shutil.copyfile(home / "airflow.db", kept)


def what_the_dag_saw() -> tuple[dict[str, dict[str, Any]], list[tuple[str, dict[str, Any]]]]:
    """The XComs of the latest run (by task) and the asset events its tasks added, from Airflow's DB."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.models.dagrun import DagRun
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        run = session.scalars(select(DagRun).where(DagRun.dag_id == DAG_ID).order_by(DagRun.id.desc())).first()
        if run is None:
            return {}, []
        xcoms: dict[str, dict[str, Any]] = {}
        rows = session.scalars(select(XComModel).where(XComModel.dag_id == DAG_ID, XComModel.run_id == run.run_id))
        for row in rows:
            xcoms.setdefault(row.task_id, {})[row.key] = XComModel.deserialize_value(row)
        events = session.execute(
            select(AssetModel.uri, AssetEvent.extra)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .where(AssetEvent.source_dag_id == DAG_ID, AssetEvent.source_run_id == run.run_id)
            .order_by(AssetEvent.id)
        ).all()
    return xcoms, [(uri, dict(extra or {})) for uri, extra in events]


def side_by_side(xcoms: dict[str, dict[str, Any]], events: list[tuple[str, dict[str, Any]]]) -> bool:
    """Print what the DAG saw next to what the emulator holds; True when they agree."""
    from airflow_provider_dashscope.hooks.dashscope import DashScopeHook
    from airflow_provider_dashscope.wait.evaluation import read_evaluations

    hook = DashScopeHook()
    file_id = xcoms.get("upload_training_data", {}).get("return_value")
    validation_id = xcoms.get("upload_validation_data", {}).get("return_value")
    train = xcoms.get("train", {})
    gate = xcoms.get("export_best", {}).get("return_value") or {}
    deploy = xcoms.get("deploy", {})
    stored = hook.get_file(file_id)
    job = hook.get_fine_tune_job(train["job_id"])
    deployment = hook.get_deployment(deploy["deployed_model"])
    exported = next(c for c in hook.list_checkpoints(job.job_id) if c.checkpoint == gate.get("checkpoint"))
    evaluations = read_evaluations(hook.tail_fine_tune_job_logs(job.job_id, lines=1000))
    logged = {e.step: e.metrics.get("eval_loss") for e in evaluations}
    best_step = min((step for step in logged if step is not None), key=lambda step: logged[step])
    local_md5 = hashlib.md5(TRAINING_FILE.read_bytes()).hexdigest()
    stored_md5 = stored.md5 or ""
    trained_on = ", ".join(shorten_token(file) for file in job.training_file_ids)
    rows = [
        ("training file", f"{TRAINING_FILE.name}, md5 {shorten_token(local_md5, 6)}",
         f"{stored.name}, md5 {shorten_token(stored_md5, 6)}",
         stored_md5 == local_md5 and stored.name == TRAINING_FILE.name),
        ("file_id", file_id, stored.file_id, stored.file_id == file_id),
        ("validation file", validation_id, ", ".join(job.validation_file_ids),
         job.validation_file_ids == (validation_id,)),
        ("fine-tune job", train["job_id"], f"{job.job_id}, trained on {trained_on}",
         job.training_file_ids == (file_id,)),
        ("job status", train.get("status"), job.status_text, job.status_text == train.get("status")),
        ("finetuned_output", train.get("finetuned_output"), job.finetuned_output,
         job.finetuned_output == train.get("finetuned_output")),
        ("usage (tokens)", train.get("usage"), job.usage, job.usage == train.get("usage")),
        ("best checkpoint", f"{gate.get('checkpoint')}, eval_loss {gate.get('metric_value')}",
         f"step {best_step} has the lowest eval_loss in the log ({logged[best_step]})",
         gate.get("step") == best_step and gate.get("metric_value") == logged[best_step]),
        ("exported model", gate.get("model_name"), f"{exported.model_name} ({exported.status_text})",
         exported.model_name == gate.get("model_name") and exported.is_exported),
        ("deployed_model", deploy["deployed_model"], f"{deployment.deployed_model} of {deployment.model_name}",
         deployment.model_name == exported.model_name),
        ("deployment status", deploy.get("status"),
         f"{deployment.status_text}, ready {deployment.ready_capacity} of {deployment.capacity}",
         deployment.status_text == deploy.get("status") == "RUNNING"),
    ]  # fmt: skip
    width = max(len(str(saw)) for _, saw, _, _ in rows) + 2
    print(f"\n{'':20}{'the DAG saw':{width}}the emulator holds")
    for name, saw, holds, same in rows:
        print(f"{name:20}{saw!s:{width}}{holds}{'' if same else '   <-- differs'}")
    print("\nAsset events the run added (a DAG scheduled on their alias starts with this extra):")
    for uri, extra in events:
        print(f"  {uri}  {json.dumps(extra, sort_keys=True)}")
    expected = {
        f"dashscope://local/models/{job.finetuned_output}",
        f"dashscope://local/deployments/{deployment.deployed_model}",
    }
    return all(same for *_, same in rows) and {uri for uri, _ in events} == expected


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--workdir", type=Path, default=ROOT / ".demo", help="where the run's files go (.demo/)")
    workdir = parser.parse_args(argv).workdir.resolve()
    started = time.time()
    import airflow_provider_dashscope

    print(f"Provider {airflow_provider_dashscope.__version__} from {Path(airflow_provider_dashscope.__file__).parent}")
    workdir.mkdir(parents=True, exist_ok=True)
    for entry in workdir.iterdir():  # a clean run; only the kept DB survives
        if entry.name != "db-cache":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    home = workdir / "airflow-home"
    home.mkdir()
    emulator, base_url = start_emulator(workdir)
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "DASHSCOPE_"))}
        env.update(
            AIRFLOW_HOME=str(home),
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            AIRFLOW__CORE__DAGS_FOLDER=str(DAG_FILE.parent),
            AIRFLOW_CONN_DASHSCOPE_DEFAULT=json.dumps(
                {"conn_type": "dashscope", "password": DEMO_KEY, "host": base_url}
            ),
            DASHSCOPE_EXAMPLE_POLL_INTERVAL="1",
        )
        os.environ.clear()
        os.environ.update(env)
        print(f"Emulator listening at {base_url} (uploaded files only: --strict-file-ids)")
        migrated_db(workdir, home, env)

        log_path = workdir / "dags-test.log"
        print(f"Running: airflow dags test {DAG_ID} (upload, fine-tune, gate and export, deploy; waits deferred)")
        with open(log_path, "w") as log:
            result = subprocess.run(
                [BIN / "airflow", "dags", "test", DAG_ID, "-f", str(DAG_FILE)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        output = log_path.read_text(errors="replace")
        for line in output.splitlines():
            shown = r"Uploaded |Submitted |Chose |Exporting |Created deployment|-> [A-Z]+ after|Asset event|^SERVING "
            if re.search(shown, line):
                message = re.sub(r"\s+\[[\w.]+\].*$", "", re.sub(r"^\S+Z \[\w+\s*\] ", "", line.strip()))
                print("\n".join(fit(message)))
        if result.returncode != 0 or "SERVING " not in output:
            print(f"The DAG run failed (exit code {result.returncode}); full log: {log_path}")
            return 1
        ok = side_by_side(*what_the_dag_saw())
        print(f"\nDemo finished in {time.time() - started:.0f} s; full log: {log_path}")
        return 0 if ok else 1
    finally:
        emulator.terminate()
        try:
            emulator.wait(timeout=10)
        except subprocess.TimeoutExpired:
            emulator.kill()


if __name__ == "__main__":
    sys.exit(main())
