"""What N waits on one job cost the API: requests per poll interval, with and without shared requests.

Runs N ``DashScopeFineTuneJobTrigger`` instances on one event loop, all waiting on the same job (pinned RUNNING in
the emulator, a separate process on 127.0.0.1), for a fixed time, and counts what the emulator received: job GETs
and training-log reads, per poll interval. Each configuration runs in a fresh process:

* ``shared``: the provider as it ships (waits on one job share their GETs and their log reads);
* ``unshared``: the same triggers with one request registry each, i.e. every wait polls on its own (the baseline,
  measured in the same run, on the same emulator);

for N = 1, 10 and 100, with the training progress off and on (``log_training_progress``; the log is read at most
once every ``[dashscope] training_progress_every_polls`` polls).

    python benchmarks/coalescing.py --poll-interval 1 --seconds 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

from trigger_scale import KEY, start_emulator

GET_ROUTE = "GET /fine-tunes/{job_id}"
LOGS_ROUTE = "GET /fine-tunes/{job_id}/logs"


def by_route(root: str) -> dict[str, int]:
    with urllib.request.urlopen(f"{root}/_emulator/stats", timeout=30) as response:
        return json.load(response)["by_route"]


def seed_running(root: str, job_id: str) -> None:
    body = json.dumps([{"job_id": job_id, "model": "qwen3-14b", "status": "RUNNING", "pin": True}]).encode()
    request = urllib.request.Request(f"{root}/_emulator/jobs", data=body, headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=30).read()


async def wait_many(job_id: str, waits: int, poll_interval: float, seconds: float, progress: bool) -> None:
    from airflow_provider_dashscope.triggers.dashscope import DashScopeFineTuneJobTrigger

    async def one() -> None:
        trigger = DashScopeFineTuneJobTrigger(
            job_id=job_id, poll_interval=poll_interval, last_status="RUNNING", log_training_progress=progress
        )
        async for _ in trigger.run():
            pass

    tasks = [asyncio.ensure_future(one()) for _ in range(waits)]
    await asyncio.sleep(seconds)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def child(args: argparse.Namespace) -> dict:
    os.environ["AIRFLOW_CONN_DASHSCOPE_DEFAULT"] = json.dumps(
        {"conn_type": "dashscope", "password": KEY, "host": f"{args.root}/api/v1"}
    )
    if args.sharing == "unshared":  # every wait its own registry: nothing is shared (the baseline)
        import airflow_provider_dashscope.triggers.dashscope as triggers
        from airflow_provider_dashscope._coalescing import SharedRequests

        triggers.shared_requests = SharedRequests  # type: ignore[assignment]
    saved_stdout = os.dup(1)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # the waits' log lines go where a triggerer's would not matter
    before = by_route(args.root)
    asyncio.run(wait_many(args.job_id, args.waits, args.poll_interval, args.seconds, args.progress == "on"))
    after = by_route(args.root)
    sys.stdout.flush()
    os.dup2(saved_stdout, 1)
    intervals = args.seconds / args.poll_interval
    return {
        route: (after.get(key, 0) - before.get(key, 0)) / intervals
        for route, key in (("gets", GET_ROUTE), ("logs", LOGS_ROUTE))
    }


def run(root: str, job_id: str, waits: int, sharing: str, progress: str, args: argparse.Namespace) -> dict:
    done = subprocess.run(
        [
            sys.executable, __file__, "--child", "--root", root, "--job-id", job_id, "--waits", str(waits),
            "--sharing", sharing, "--progress", progress, "--poll-interval", str(args.poll_interval),
            "--seconds", str(args.seconds),
        ],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--poll-interval", type=float, default=1.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--waits", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    parser.add_argument("--job-id", help=argparse.SUPPRESS)
    parser.add_argument("--sharing", choices=["shared", "unshared"], help=argparse.SUPPRESS)
    parser.add_argument("--progress", choices=["on", "off"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.waits = args.waits[0]
        print(json.dumps(child(args)))
        return 0

    every = os.environ.get("AIRFLOW__DASHSCOPE__TRAINING_PROGRESS_EVERY_POLLS", "5")
    print(
        f"Requests per poll interval to one RUNNING job: {args.seconds:g} s per run, poll every "
        f"{args.poll_interval:g} s, log read every {every} polls; each run in a fresh process"
    )
    print(f"{'waits':>6} {'progress':>9} {'unshared GET':>13} {'shared GET':>11} {'unshared logs':>14} "
          f"{'shared logs':>12} {'requests saved':>15}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("AIRFLOW_HOME", tmp)
        emulator, root = start_emulator(Path(tmp))
        try:
            number = 0
            for progress in ("off", "on"):
                for waits in args.waits:
                    row = {}
                    for sharing in ("unshared", "shared"):
                        number += 1
                        job_id = f"ft-202611250000-{number:04x}"
                        seed_running(root, job_id)
                        row[sharing] = run(root, job_id, waits, sharing, progress, args)
                    unshared = row["unshared"]["gets"] + row["unshared"]["logs"]
                    shared = row["shared"]["gets"] + row["shared"]["logs"]
                    print(
                        f"{waits:>6} {progress:>9} {row['unshared']['gets']:>13.2f} {row['shared']['gets']:>11.2f} "
                        f"{row['unshared']['logs']:>14.2f} {row['shared']['logs']:>12.2f} "
                        f"{'x' + format(unshared / max(shared, 1e-9), '.1f'):>15}"
                    )
        finally:
            emulator.terminate()
            emulator.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
