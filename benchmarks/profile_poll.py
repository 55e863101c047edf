"""Where a trigger's poll spends its time and what a wait keeps between polls: the profile behind trigger_scale.

Runs ``--waits`` ``DashScopeFineTuneJobTrigger`` (training progress on, as it ships) on one event loop against the
HTTPS emulator (jobs pinned RUNNING) for ``--seconds``, after a warm-up, and prints:

* ``--mode cpu``: cProfile's top functions (CPU time of the process) by own time and by cumulative time, overall
  and the provider's own (the profiler slows everything down alike; read the shares, not the seconds);
* ``--mode memory``: ``tracemalloc``'s top lines by bytes still held once every wait has polled twice, per wait
  (what a wait keeps between polls).

    python benchmarks/profile_poll.py --mode cpu --waits 1000 --poll-interval 1 --seconds 20
    python benchmarks/profile_poll.py --mode memory --waits 1000 --poll-interval 1 --seconds 5
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from _common import EmulatorProcess, connection_json, job_ids, make_certificates, quiet_stdout


async def waits(ids: list[str], args: argparse.Namespace) -> str:
    from airflow_provider_dashscope.hooks.dashscope import DashScopeHook
    from airflow_provider_dashscope.triggers.fine_tunes import DashScopeFineTuneJobTrigger

    await DashScopeHook().aget_fine_tune_job(ids[0])  # warm up: imports, the connection, the session

    async def one(job_id: str) -> None:
        trigger = DashScopeFineTuneJobTrigger(job_id=job_id, poll_interval=args.poll_interval, last_status="RUNNING")
        async for _ in trigger.run():
            pass

    profiler = cProfile.Profile(time.process_time) if args.mode == "cpu" else None  # CPU, not waits
    if profiler is not None:
        profiler.enable()
    else:
        tracemalloc.start(1)
        before = tracemalloc.take_snapshot()
    tasks = [asyncio.ensure_future(one(job_id)) for job_id in ids]
    report = io.StringIO()
    if profiler is None:
        await asyncio.sleep(min(args.seconds, 2.5 * args.poll_interval))
        after = tracemalloc.take_snapshot()
        stats = after.compare_to(before, "lineno")
        total = sum(stat.size_diff for stat in stats)
        print(f"held after every wait polled twice: {total / len(ids):,.0f} B per wait; top lines:", file=report)
        for stat in stats[:18]:
            frame = stat.traceback[0]
            print(
                f"{stat.size_diff / len(ids):8,.0f} B/wait {stat.count_diff / len(ids):6.2f} blocks/wait  "
                f"{_short(frame.filename)}:{frame.lineno}",
                file=report,
            )
    else:
        await asyncio.sleep(args.seconds)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    if profiler is not None:
        profiler.disable()
        for order in ("tottime", "cumulative"):
            stats_out = io.StringIO()
            stats = pstats.Stats(profiler, stream=stats_out).sort_stats(order)
            stats.print_stats(args.top)
            stats.print_stats("airflow_provider_dashscope", args.top)
            print(f"--- by {order} ---", file=report)
            print(stats_out.getvalue().split("ncalls", 1)[-1].join(["ncalls", ""]), file=report)
    return report.getvalue()


def _short(filename: str) -> str:
    for marker in ("site-packages/", "airflow_provider_dashscope/", "lib/python3.11/"):
        if marker in filename:
            return (
                filename.split(marker, 1)[1]
                if marker != "airflow_provider_dashscope/"
                else "adp/" + filename.split(marker, 1)[1]
            )
    return filename


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=["cpu", "memory"], default="cpu")
    parser.add_argument("--waits", type=int, default=1000)
    parser.add_argument("--poll-interval", type=float, default=1.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        os.environ.setdefault("AIRFLOW_HOME", tmp)
        certificates = make_certificates(workdir)
        with EmulatorProcess(workdir, certificates) as emulator:
            ids = emulator.seed_running(job_ids(args.waits))
            os.environ["AIRFLOW_CONN_DASHSCOPE_DEFAULT"] = connection_json(emulator.base_url, certificates.ca)
            saved = quiet_stdout()
            report = asyncio.run(waits(ids, args))
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
