"""The demo: run the gate example DAG end to end against the local emulator, then stop everything.

It starts the emulator on a free loopback port, creates a fine-tune job in it through the provider's hook, runs
``airflow dags test dashscope_finetune_gate`` (the sensor defers and the trigger polls the emulator), and prints
what the downstream deploy task received. Everything lives in a temporary AIRFLOW_HOME under ``.demo/``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DEMO_KEY = "sk-demo-emulator-key"


def start_emulator(workdir: Path) -> tuple[subprocess.Popen, str]:
    port_file = workdir / "emulator.port"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "airflow_provider_dashscope.emulator",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--port-file",
            str(port_file),
            "--api-key",
            DEMO_KEY,
            "--pending-seconds",
            "2",
            "--running-seconds",
            "15",
            "--quiet",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(workdir / "emulator.log").open("w"),  # the emulator writes to it until it is stopped
    )
    deadline = time.time() + 30
    while not port_file.exists() or not port_file.read_text().strip():
        if process.poll() is not None or time.time() > deadline:
            raise SystemExit(f"the emulator did not start; see {workdir / 'emulator.log'}")
        time.sleep(0.1)
    return process, f"http://127.0.0.1:{port_file.read_text().strip()}/api/v1"


def main() -> int:
    started = time.time()
    workdir = ROOT / ".demo"
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir()
    emulator, base_url = start_emulator(workdir)
    try:
        env = dict(os.environ)
        env.update(
            AIRFLOW_HOME=str(workdir / "airflow-home"),
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "example_dags"),
            AIRFLOW_CONN_DASHSCOPE_DEFAULT=json.dumps(
                {"conn_type": "dashscope", "password": DEMO_KEY, "host": base_url}
            ),
            DASHSCOPE_EXAMPLE_POLL_INTERVAL="1",
        )
        print(f"Emulator listening at {base_url}")
        os.environ.update(env)
        subprocess.run([BIN / "airflow", "db", "migrate"], env=env, check=True, capture_output=True)
        from airflow_provider_dashscope.hooks.dashscope import DashScopeHook

        job = DashScopeHook().create_fine_tune_job(
            model="qwen3-14b", training_file_ids=["file-demo-train"], hyper_parameters={"n_epochs": 3}
        )
        print(f"Created fine-tune job {job.job_id} ({job.status_text}); it trains for about 15 s")

        log_path = workdir / "dags-test.log"
        print("Running: airflow dags test dashscope_finetune_gate (the sensor defers; the trigger polls)")
        with open(log_path, "w") as log:
            result = subprocess.run(
                [BIN / "airflow", "dags", "test", "dashscope_finetune_gate", "-c", json.dumps({"job_id": job.job_id})],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        output = log_path.read_text(errors="replace")
        for line in output.splitlines():
            if re.search(r"deferring|DEFERRED|-> [A-Z]+ after|succeeded: finetuned_output|DEPLOY ", line):
                print("  " + re.sub(r"\s+\[[\w.]+\].*$", "", line.strip())[:200])
        received = re.search(r"DEPLOY finetuned_output=(\S+) usage=(\S+)", output)
        if result.returncode != 0 or not received:
            print(f"The DAG run failed (exit code {result.returncode}); full log: {log_path}")
            return 1
        final = DashScopeHook().get_fine_tune_job(job.job_id)
        print()
        print(f"The deploy task received finetuned_output={received.group(1)} usage={received.group(2)}")
        print(f"The emulator reports      finetuned_output={final.finetuned_output} usage={final.usage}")
        print(f"Demo finished in {time.time() - started:.0f} s; full log: {log_path}")
        ok = received.group(1) == final.finetuned_output and received.group(2) == str(final.usage)
        return 0 if ok else 1
    finally:
        emulator.terminate()
        try:
            emulator.wait(timeout=10)
        except subprocess.TimeoutExpired:
            emulator.kill()


if __name__ == "__main__":
    sys.exit(main())
