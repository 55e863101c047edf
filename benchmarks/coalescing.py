"""What waits on the same jobs cost the API and the triggerer: requests per poll interval, shared and unshared.

Runs N ``DashScopeFineTuneJobTrigger`` instances on one event loop (a fresh process per run) against the emulator
(a separate process on 127.0.0.1, HTTPS with a throw-away trustme CA, certificate checks on through the
connection's ``ca_bundle`` extra), the waits spread round-robin over J jobs pinned RUNNING, training progress on
as it ships, for ``--seconds``. The emulator counts what it received: job GETs and training-log reads, per poll
interval. Each mix runs twice, back to back:

* ``shared``: the provider as it ships (waits on one job share their GETs and their log reads);
* ``unshared``: the same triggers with one request registry each, so every wait polls on its own (the baseline).

The mixes: N = 1, 10 and 100 waits on one job, and the realistic ones, ``--mix-waits`` (5,000) waits over 20 and
over 100 jobs. CPU per wait is the waiting process's CPU time over the run divided by the waits and the poll
intervals (milliseconds of CPU a wait costs per poll interval).

    python benchmarks/coalescing.py --poll-interval 5 --seconds 30
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from _common import (
    JOB_GET,
    LOGS_GET,
    EmulatorProcess,
    client_context,
    connection_json,
    count_since,
    job_ids,
    machine_line,
    make_certificates,
    markdown_table,
    print_result,
    quiet_stdout,
    raise_open_files_limit,
    run_child,
)


async def wait_many(jobs: list[str], waits: int, poll_interval: float, seconds: float) -> float:
    """CPU seconds the waits took, after a warm-up (imports, the connection, one request), as in a running triggerer."""
    from airflow_provider_dashscope.hooks.dashscope import DashScopeHook
    from airflow_provider_dashscope.triggers.fine_tunes import DashScopeFineTuneJobTrigger

    await DashScopeHook().aget_fine_tune_job(jobs[0])
    cpu0 = time.process_time()

    async def one(job_id: str) -> None:
        trigger = DashScopeFineTuneJobTrigger(job_id=job_id, poll_interval=poll_interval, last_status="RUNNING")
        async for _ in trigger.run():
            pass

    tasks = [asyncio.ensure_future(one(jobs[i % len(jobs)])) for i in range(waits)]
    await asyncio.sleep(seconds)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return time.process_time() - cpu0


def child(args: argparse.Namespace) -> dict:
    from urllib.request import urlopen

    os.environ["AIRFLOW_CONN_DASHSCOPE_DEFAULT"] = connection_json(f"{args.root}/api/v1", args.ca)
    if args.sharing == "unshared":  # every wait its own registry: nothing is shared (the baseline)
        import airflow_provider_dashscope.triggers.base as triggers
        from airflow_provider_dashscope._http.coalescing import SharedRequests

        triggers.shared_requests = SharedRequests  # type: ignore[assignment]
    context = client_context(args.ca)

    def by_route() -> dict[str, int]:
        with urlopen(f"{args.root}/_emulator/stats", timeout=60, context=context) as response:
            return json.load(response)["by_route"]

    jobs = json.loads(args.jobs)
    saved = quiet_stdout()  # the waits' log lines go where a triggerer's would not matter
    before = by_route()
    cpu = asyncio.run(wait_many(jobs, args.waits, args.poll_interval, args.seconds))
    after = by_route()
    before[JOB_GET] = before.get(JOB_GET, 0) + 1  # the warm-up's request
    intervals = args.seconds / args.poll_interval
    print_result(
        saved,
        {
            "gets": count_since(before, after, JOB_GET) / intervals,
            "logs": count_since(before, after, LOGS_GET) / intervals,
            "cpu_ms_per_wait": 1000 * cpu / args.waits / intervals,
        },
    )
    return {}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--poll-interval", type=float, default=5.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--waits", type=int, nargs="+", default=[1, 10, 100], help="waits on one job")
    parser.add_argument("--mix-waits", type=int, default=5000)
    parser.add_argument("--mix-jobs", type=int, nargs="*", default=[20, 100])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    parser.add_argument("--ca", help=argparse.SUPPRESS)
    parser.add_argument("--jobs", help=argparse.SUPPRESS)
    parser.add_argument("--sharing", choices=["shared", "unshared"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.waits = args.waits[0]
        child(args)
        return 0

    raise_open_files_limit(65536)
    mixes = [(waits, 1) for waits in args.waits] + [(args.mix_waits, jobs) for jobs in args.mix_jobs]
    every = os.environ.get("AIRFLOW__DASHSCOPE__TRAINING_PROGRESS_EVERY_POLLS", "10 (the default)")
    print(machine_line())
    print(
        f"Requests per poll interval to RUNNING jobs over HTTPS: poll every {args.poll_interval:g} s for "
        f"{args.seconds:g} s per run, training progress on (a log read every {every} polls), each run in a fresh "
        "process"
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        os.environ.setdefault("AIRFLOW_HOME", tmp)
        certificates = make_certificates(workdir)
        with EmulatorProcess(workdir, certificates) as emulator:
            first = 0
            for waits, jobs in mixes:
                row = {}
                for sharing in ("unshared", "shared"):
                    ids = emulator.seed_running(job_ids(jobs, first))  # fresh jobs: no log cursor carried over
                    first += jobs
                    row[sharing] = run_child(Path(__file__), [
                        "--child", "--root", emulator.root, "--ca", str(certificates.ca), "--jobs", json.dumps(ids),
                        "--waits", str(waits), "--sharing", sharing, "--poll-interval", str(args.poll_interval),
                        "--seconds", str(args.seconds),
                    ])  # fmt: skip
                unshared, shared = row["unshared"], row["shared"]
                saved = (unshared["gets"] + unshared["logs"]) / max(shared["gets"] + shared["logs"], 1e-9)
                rows.append([
                    waits, jobs, unshared["gets"], shared["gets"], unshared["logs"], shared["logs"], f"x{saved:.1f}",
                    unshared["cpu_ms_per_wait"], shared["cpu_ms_per_wait"],
                ])  # fmt: skip
    print(
        markdown_table(
            [
                "waits",
                "jobs",
                "GETs / interval, unshared",
                "shared",
                "log reads / interval, unshared",
                "shared",
                "fewer requests",
                "CPU ms per wait per interval, unshared",
                "shared",
            ],
            rows,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
