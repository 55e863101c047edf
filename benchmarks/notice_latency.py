"""How soon a deferred sensor notices that its fine-tune ended, on a real Airflow 3 stack, over HTTPS.

Starts an HTTPS emulator (trustme certificates made at run time, the connection trusts them through ``ca_bundle``)
in this process, a metadata DB (PostgreSQL when its server programs are installed, else SQLite), and Airflow's
api-server, scheduler, dag-processor and one triggerer (LocalExecutor). A one-task DAG holds a deferrable
``DashScopeFineTuneJobSensor`` (``--poll-interval``, training progress as it ships). Each run, one after the other:

1. seeds a job that stays RUNNING until the script says so, and triggers a DAG run on it;
2. once the sensor is deferred and its trigger has polled, lets the wait go on for ``--wait-seconds``;
3. turns the job SUCCEEDED (the emulator's clock jumps, at a recorded moment);
4. waits until the task instance is ``success`` and reads its ``end_date`` from the metadata DB.

Notice latency is ``end_date`` minus the moment the job turned SUCCEEDED (target: poll interval + 3 s), split into
the time until the trigger's next poll and the time Airflow took from that poll to ``success`` (the event, the
scheduler, a worker running ``execute_complete``). Requests per completed wait counts every request the emulator
received for the job (status GETs and training-log reads) against ``ceil(duration / poll_interval) + 2``, where
duration runs from the sensor's first check to the job's end.

    python benchmarks/notice_latency.py --runs 5 --poll-interval 5 --wait-seconds 20
    python benchmarks/notice_latency.py --db sqlite --runs 3
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import KEY, REPO_ROOT, connection_json, machine_line, make_certificates, markdown_table

sys.path.insert(0, str(REPO_ROOT))

from airflow_provider_dashscope.emulator import EmulatorConfig, EmulatorThread
from tests.stack._emulated import OffsetClock, RecordingState
from tests.stack._procs import http_ok, wait_for
from tests.stack._stackrun import AirflowStack

DAG_ID = "dashscope_notice_latency"
TASK = "wait"
JOB_ROUTE = "/fine-tunes/{job_id}"
LOGS_ROUTE = "/fine-tunes/{job_id}/logs"
#: How long a seeded job trains on the emulator's clock; the clock jumps by this much to end it.
TRAINING_SECONDS = 24 * 3600.0

DAG_FILE = """\
import os
from datetime import datetime

from airflow.sdk import DAG
from airflow_provider_dashscope.sensors.fine_tunes import DashScopeFineTuneJobSensor

with DAG("{dag_id}", schedule=None, start_date=datetime(2026, 1, 1), catchup=False, max_active_runs=1):
    DashScopeFineTuneJobSensor(
        task_id="{task}",
        job_id="{{{{ dag_run.conf['job_id'] }}}}",
        deferrable=True,
        poll_interval=float(os.environ["DASHSCOPE_BENCH_POLL_INTERVAL"]),
    )
"""


def epoch(value: Any) -> float:
    """A DB timestamp (a datetime from PostgreSQL, ISO text from SQLite; UTC) as epoch seconds."""
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return value.timestamp()


def one_run(stack: AirflowStack, emulator: EmulatorThread, number: int, args: argparse.Namespace) -> dict[str, Any]:
    state: RecordingState = emulator.state  # type: ignore[assignment]
    clock: OffsetClock = emulator.clock  # type: ignore[attr-defined]
    (job_id,) = emulator.seed(
        {"model": "qwen-turbo", "pending_seconds": 0, "running_seconds": TRAINING_SECONDS, "outcome": "SUCCEEDED"}
    )
    run_id = f"latency_{number}"
    stack.cli("dags", "trigger", DAG_ID, "-r", run_id, "-c", json.dumps({"job_id": job_id}))

    def ti() -> tuple | None:
        rows = stack.query(
            "SELECT state, start_date, end_date FROM task_instance WHERE dag_id = ? AND run_id = ? AND task_id = ?",
            (DAG_ID, run_id, TASK),
        )
        return rows[0] if rows else None

    wait_for(lambda: (row := ti()) and row[0] == "deferred", timeout=180, what=f"{run_id}: the sensor to defer")
    checks = state.requests("GET", JOB_ROUTE, job_id)
    wait_for(
        lambda: len(state.requests("GET", JOB_ROUTE, job_id)) >= len(checks) + 2,
        timeout=4 * args.poll_interval + 60,
        what=f"{run_id}: two polls by the trigger",
    )
    first = state.requests(job_id=job_id)[0].at
    time.sleep(max(0.0, first + args.wait_seconds - time.monotonic()))

    clock.advance(TRAINING_SECONDS)
    flipped_wall, flipped = time.time(), time.monotonic()
    row = wait_for(
        lambda: (row := ti()) and row[0] in ("success", "failed", "up_for_retry") and row,
        timeout=args.poll_interval + 120,
        what=f"{run_id}: the sensor to finish",
        interval=0.2,
        on_poll=lambda: stack.check_running("api-server", "scheduler", "dag-processor", "triggerer"),
    )
    if row[0] != "success":
        raise SystemExit(f"{run_id}: the sensor ended {row[0]}")
    ended = epoch(row[2])
    time.sleep(1.0)  # anything that reads the job after the end (there should be nothing) arrives by now
    requests = state.requests(job_id=job_id)
    next_poll = min((r.at for r in requests if r.route == JOB_ROUTE and r.at >= flipped), default=math.nan)
    duration = flipped - first
    gets = sum(1 for r in requests if r.route == JOB_ROUTE)
    logs = sum(1 for r in requests if r.route == LOGS_ROUTE)
    return {
        "run": run_id,
        "latency_s": ended - flipped_wall,
        "until_poll_s": next_poll - flipped,
        "poll_to_success_s": (ended - flipped_wall) - (next_poll - flipped),
        "duration_s": duration,
        "gets": gets,
        "logs": logs,
        "requests": len(requests),
        "bound": math.ceil(duration / args.poll_interval) + 2,
    }


def start_stack(root: Path, emulator: EmulatorThread, ca: Path, args: argparse.Namespace) -> tuple[AirflowStack, Any]:
    dags = root / "dags"
    dags.mkdir()
    (dags / "notice_latency_dag.py").write_text(DAG_FILE.format(dag_id=DAG_ID, task=TASK))
    extra_env = {
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW_CONN_DASHSCOPE_DEFAULT": connection_json(emulator.base_url, ca),
        "DASHSCOPE_BENCH_POLL_INTERVAL": str(args.poll_interval),
    }
    postgres = None
    if args.db == "postgres":
        from tests.stack._db import PostgresReader
        from tests.stack._postgres import PostgresCluster

        postgres = PostgresCluster().start()
        stack = AirflowStack(
            root,
            airflow_bin=Path(sys.executable).parent / "airflow",
            extra_env=extra_env,
            secrets_to_hide=[KEY, postgres.password],
            sql_alchemy_conn=postgres.sqlalchemy_url,
            db=PostgresReader(postgres.dsn),
        )
    else:
        stack = AirflowStack(
            root, airflow_bin=Path(sys.executable).parent / "airflow", extra_env=extra_env, secrets_to_hide=[KEY]
        )
    return stack, postgres


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="waits measured one after the other (default %(default)s)")
    parser.add_argument("--poll-interval", type=float, default=5.0, help="the sensor's (default %(default)s s)")
    parser.add_argument(
        "--wait-seconds", type=float, default=20.0, help="how long each wait lasts before the job ends (default 20)"
    )
    parser.add_argument("--db", choices=["postgres", "sqlite"], default=None, help="default: postgres if installed")
    args = parser.parse_args()
    if args.db is None:
        from tests.stack._postgres import why_unavailable

        args.db = "postgres" if why_unavailable() is None else "sqlite"

    print(f"Notice latency: {machine_line()}", flush=True)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        certificates = make_certificates(root)
        clock = OffsetClock()
        state = RecordingState(EmulatorConfig(api_key=KEY, clock=clock, pending_seconds=0.0))
        emulator = EmulatorThread(state, tls_cert=str(certificates.cert), tls_key=str(certificates.key))
        emulator.start()
        emulator.clock = clock  # type: ignore[attr-defined]
        stack, postgres = None, None
        try:
            stack, postgres = start_stack(root, emulator, certificates.ca, args)
            stack.cli("db", "migrate", timeout=300)
            port = str(stack.api_port)
            stack.start("api-server", "api-server", "--apps", "execution", "-p", port, "-H", "127.0.0.1")
            stack.start("scheduler", "scheduler", "--skip-serve-logs")
            stack.start("dag-processor", "dag-processor")
            stack.start("triggerer", "triggerer", "--skip-serve-logs")
            wait_for(lambda: http_ok(f"http://127.0.0.1:{port}/execution/health"), timeout=120, what="the API")
            wait_for(lambda: stack.db.dag_ready(DAG_ID), timeout=120, what="the DAG", on_poll=stack.check_running)
            wait_for(stack.alive_triggerer_jobs, timeout=90, what="the triggerer", on_poll=stack.check_running)
            for number in range(1, args.runs + 1):
                results.append(one_run(stack, emulator, number, args))
                print(f"  {json.dumps(results[-1], default=lambda v: round(v, 2))}", flush=True)
        except BaseException:
            if stack is not None:
                stack.dump_logs(lines=30)
            raise
        finally:
            if stack is not None:
                stack.close(grace=10.0)
            if postgres is not None:
                postgres.stop()
            emulator.stop()

    latencies = [r["latency_s"] for r in results]
    target = args.poll_interval + 3
    print(
        f"\nNotice latency over HTTPS, {args.db} metadata DB, one triggerer, LocalExecutor; poll every "
        f"{args.poll_interval:g} s, each wait {args.wait_seconds:g} s; {len(results)} runs\n"
    )
    print(
        markdown_table(
            ["run", "job end -> success s", "until the next poll s", "poll -> success s", "GETs", "log reads",
             "requests / bound"],
            [[r["run"], r["latency_s"], r["until_poll_s"], r["poll_to_success_s"], r["gets"], r["logs"],
              f"{r['requests']} / {r['bound']}"] for r in results],
        )
    )  # fmt: skip
    print(
        f"\nlatency median {statistics.median(latencies):.2f} s, max {max(latencies):.2f} s "
        f"(target <= {target:g} s: {'met' if max(latencies) <= target else 'missed'}); "
        f"poll -> success median {statistics.median(r['poll_to_success_s'] for r in results):.2f} s; "
        f"status GETs within ceil(duration / poll) + 2 in {sum(r['gets'] <= r['bound'] for r in results)} of "
        f"{len(results)} runs, all requests (with the progress's log reads) in "
        f"{sum(r['requests'] <= r['bound'] for r in results)} of "
        f"{len(results)} runs"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
