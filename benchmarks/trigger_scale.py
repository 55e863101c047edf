"""How many fine-tune waits one process can hold over HTTPS, and what each poll costs, against what a user would pick.

Every side does the same job: each wait polls one job (pinned RUNNING on the emulator, a separate process on
127.0.0.1 serving HTTPS with a throw-away trustme CA) every ``--poll-interval`` seconds, certificate checks on,
for ``--seconds``. Each side runs in a fresh process, one after the other on the same emulator:

* ``floor``: the least a poll can cost. N bare coroutines sharing one aiohttp session (an ``ssl`` context for the
  CA, the provider's connection limit), each doing GET, JSON decode, read the status, sleep. No logging, no model.
* ``provider``: N ``DashScopeFineTuneJobTrigger`` on one event loop, as a triggerer runs them, training progress on
  as it ships (a training-log read every ``[dashscope] training_progress_every_polls`` polls; those reads are
  counted apart as "log reads", their CPU is in the provider's figure). The connection trusts the CA through its
  ``ca_bundle`` extra.
* ``no-progress`` (with ``--sides``): the same with ``log_training_progress=False``.
* ``sdk`` (only at ``--sdk-waits`` waits or fewer): what a DAG author writes without the provider, the official
  ``dashscope`` SDK's ``FineTunes.get`` run for each wait every poll interval by a
  ``concurrent.futures.ThreadPoolExecutor`` (a home-made sensor pool). ``--sdk-workers`` defaults to 10: the size of
  the SDK's own keep-alive connection pool, so every poll reuses a connection (the SDK's best case; more threads
  than connections would open a new TLS connection per extra poll). It trusts the CA through
  ``REQUESTS_CA_BUNDLE`` and reaches the emulator through ``dashscope.base_http_api_url``.

The waits start, settle for two poll intervals (every wait has started and polled: the steady state a triggerer
lives in, not its start-up), then a window of ``--seconds`` is measured. Figures per side, over the window: CPU
seconds of the waiting process per 1,000 status polls; resident memory per wait (RSS at the window's end minus
before the waits started: what the waits and their connections hold once running; each TLS connection keeps a
read buffer of its own, so the count of open connections weighs on it); lag p99 of a 10 ms ticker (on the event
loop; for the thread pool, of a thread); status polls done (counted by the emulator) against the polls intended
(waits x seconds / poll interval); and how busy the emulator process was (its CPU seconds per second: near 100 %
it, not the side measured, limits the polls done). Each figure is the median of ``--repeats`` runs, the sides
back to back.

    python benchmarks/trigger_scale.py --waits 1000 5000 --poll-interval 5 --seconds 40 --repeats 3

5,000 waits hold up to 256 connections at once; the script lifts its soft open-files limit to 65,536 (what it
set is printed) and the emulator listens with a backlog of 8,192.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import json
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from _common import (
    JOB_GET,
    KEY,
    LOGS_GET,
    EmulatorProcess,
    LoopLagProbe,
    ThreadLagProbe,
    client_context,
    connection_json,
    count_since,
    job_ids,
    machine_line,
    make_certificates,
    markdown_table,
    median_of,
    percentile,
    print_result,
    quiet_stdout,
    raise_open_files_limit,
    ratio,
    rss_bytes,
    run_child,
)

SIDES = ("floor", "provider", "no-progress", "sdk")
DEFAULT_SIDES = ("floor", "provider", "sdk")
OPEN_FILES = 65536


# ------------------------------------------------------------------------------------------------ the async sides
async def run_provider(ids: list[str], poll_interval: float, seconds: float, progress: bool) -> None:
    from airflow_provider_dashscope.triggers.fine_tunes import DashScopeFineTuneJobTrigger

    async def one(job_id: str) -> None:
        trigger = DashScopeFineTuneJobTrigger(
            job_id=job_id, poll_interval=poll_interval, last_status="RUNNING", log_training_progress=progress
        )
        async for _ in trigger.run():
            pass

    await _run_for(seconds, [one(job_id) for job_id in ids])


async def run_floor(ids: list[str], base_url: str, ca: str, poll_interval: float, seconds: float) -> None:
    import aiohttp

    context = client_context(ca)
    headers = {"Authorization": f"Bearer {KEY}"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256, ssl=context)) as session:

        async def one(job_id: str) -> None:
            await asyncio.sleep(poll_interval * random.random())
            while True:
                async with session.get(f"{base_url}/fine-tunes/{job_id}", headers=headers) as response:
                    json.loads(await response.read())["output"]["status"]
                await asyncio.sleep(poll_interval)

        await _run_for(seconds, [one(job_id) for job_id in ids])


async def _run_for(seconds: float, coroutines: list[Any]) -> None:
    tasks = [asyncio.ensure_future(coroutine) for coroutine in coroutines]
    await asyncio.sleep(seconds)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def measure_async(side: str, emulator_root: str, base_url: str, ca: str, ids: list[str], args: Any) -> dict:
    stats = _Stats(emulator_root, ca)

    async def warm_up() -> None:  # imports and one request, as in a running triggerer
        if side == "floor":
            await run_floor(ids[:1], base_url, ca, args.poll_interval, 0.5)
        else:
            from airflow_provider_dashscope.hooks.dashscope import DashScopeHook

            await DashScopeHook().aget_fine_tune_job(ids[0])

    async def main() -> dict:
        await warm_up()
        loop = asyncio.get_running_loop()
        probe = LoopLagProbe()
        probe.start()
        before_rss = rss_bytes()
        total = settle(args) + args.seconds + 1  # the waits end a second after the window closes
        if side == "floor":
            runner = asyncio.ensure_future(run_floor(ids, base_url, ca, args.poll_interval, total))
        else:
            runner = asyncio.ensure_future(run_provider(ids, args.poll_interval, total, side == "provider"))
        await asyncio.sleep(settle(args))  # every wait started and polled: the steady state a triggerer lives in
        window = await loop.run_in_executor(None, Window.open, stats, args.emulator_pid)
        await asyncio.sleep(args.seconds)
        grown = rss_bytes() - before_rss
        closed = await loop.run_in_executor(None, window.close)
        await runner
        await probe.stop()
        return _result(ids, args, window, closed, grown, probe)

    return asyncio.run(main())


# ---------------------------------------------------------------------------------------------- the SDK side
def measure_sdk(emulator_root: str, base_url: str, ca: str, ids: list[str], args: Any) -> dict:
    """A home-made sensor pool: a dispatcher hands each due wait to a thread pool that calls ``FineTunes.get``."""
    from concurrent.futures import ThreadPoolExecutor

    import dashscope
    from dashscope import FineTunes

    os.environ["REQUESTS_CA_BUNDLE"] = ca
    dashscope.api_key = KEY
    dashscope.base_http_api_url = base_url
    stats = _Stats(emulator_root, ca)

    def poll(job_id: str) -> str:
        response = FineTunes.get(job_id)
        if response.status_code != 200:
            raise SystemExit(f"the SDK's poll failed: {response}")
        return response.output.status

    poll(ids[0])  # warm up: imports, the SDK's session, one connection

    lock, wake, stop = threading.Lock(), threading.Event(), threading.Event()
    now = time.monotonic()
    due = [(now + args.poll_interval * random.random(), job_id) for job_id in ids]
    heapq.heapify(due)

    def poll_then_reschedule(job_id: str) -> None:
        try:
            poll(job_id)
        finally:
            with lock:
                heapq.heappush(due, (time.monotonic() + args.poll_interval, job_id))
            wake.set()

    def dispatch(pool: ThreadPoolExecutor) -> None:
        while not stop.is_set():
            with lock:
                ready = []
                while due and due[0][0] <= time.monotonic():
                    ready.append(heapq.heappop(due)[1])
                pause = (due[0][0] - time.monotonic()) if due else 1.0
            for job_id in ready:
                pool.submit(poll_then_reschedule, job_id)
            wake.wait(timeout=max(0.0, min(pause, 1.0)))
            wake.clear()

    probe = ThreadLagProbe()
    probe.start()
    before_rss = rss_bytes()
    with ThreadPoolExecutor(max_workers=args.sdk_workers) as pool:
        dispatcher = threading.Thread(target=dispatch, args=(pool,), daemon=True)
        dispatcher.start()
        time.sleep(settle(args))
        window = Window.open(stats, args.emulator_pid)
        time.sleep(args.seconds)
        grown = rss_bytes() - before_rss
        closed = window.close()
        stop.set()
        wake.set()
        dispatcher.join()
        pool.shutdown(wait=True, cancel_futures=True)
    probe.stop()
    return _result(ids, args, window, closed, grown, probe)


# ------------------------------------------------------------------------------------------------------ shared
class _Stats:
    """The emulator's request counters, read over HTTPS with the benchmark's CA."""

    def __init__(self, root: str, ca: str) -> None:
        self.root, self.context = root, client_context(ca)

    def by_route(self) -> dict[str, int]:
        import urllib.request

        with urllib.request.urlopen(f"{self.root}/_emulator/stats", timeout=60, context=self.context) as response:
            return json.load(response)["by_route"]


def settle(args: Any) -> float:
    """Seconds before the measuring starts: every wait has started and made its first polls (spread over an
    interval), so the figures are a long-running triggerer's, not its start-up."""
    return 2 * args.poll_interval


def _emulator_cpu(pid: int) -> float:
    """CPU seconds the emulator process has used (it shares the machine with the side measured)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Window:
    """The measuring window: request counts, this process's CPU and the emulator's, from open to close."""

    def __init__(self, stats: _Stats, emulator_pid: int) -> None:
        self.stats, self.emulator_pid = stats, emulator_pid
        self.before = stats.by_route()
        self.started = time.perf_counter()
        self.cpu = time.process_time()
        self.emulator_cpu = _emulator_cpu(emulator_pid)

    @classmethod
    def open(cls, stats: _Stats, emulator_pid: int) -> Window:
        return cls(stats, emulator_pid)

    def close(self) -> dict[str, float]:
        cpu, emulator_cpu = time.process_time() - self.cpu, _emulator_cpu(self.emulator_pid) - self.emulator_cpu
        self.closed_at = time.perf_counter()
        elapsed = self.closed_at - self.started
        after = self.stats.by_route()
        return {
            "cpu": cpu,
            "emulator_busy": emulator_cpu / elapsed,
            "polls": count_since(self.before, after, JOB_GET),
            "log_reads": count_since(self.before, after, LOGS_GET),
        }


def _result(ids: list[str], args: Any, window: Window, closed: dict, grown: int, probe: Any) -> dict:
    polls = closed["polls"]
    return {
        "polls": polls,
        "intended": int(len(ids) * args.seconds / args.poll_interval),
        "log_reads": closed["log_reads"],
        "cpu_per_1000": 1000 * closed["cpu"] / max(polls, 1),
        "kb_per_wait": grown / len(ids) / 1024,
        "lag_p99_ms": 1000
        * percentile([lag for at, lag in probe.samples if window.started <= at < window.closed_at], 0.99),
        "emulator_busy": closed["emulator_busy"],
    }


def child(args: argparse.Namespace) -> dict:
    ids = json.loads(Path(args.ids_file).read_text())
    base_url = f"{args.root}/api/v1"
    os.environ["AIRFLOW_CONN_DASHSCOPE_DEFAULT"] = connection_json(base_url, args.ca)
    saved = quiet_stdout()  # the waits' log lines go to /dev/null, as a triggerer's would not matter
    if args.child == "sdk":
        result = measure_sdk(args.root, base_url, args.ca, ids, args)
    else:
        result = measure_async(args.child, args.root, base_url, args.ca, ids, args)
    print_result(saved, result)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--waits", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--sdk-waits", type=int, default=1000, help="run the SDK side at this many waits or fewer")
    parser.add_argument("--sdk-workers", type=int, default=10)
    parser.add_argument("--poll-interval", type=float, default=5.0)
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sides", nargs="+", choices=SIDES, default=list(DEFAULT_SIDES))
    parser.add_argument("--child", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    parser.add_argument("--ca", help=argparse.SUPPRESS)
    parser.add_argument("--ids-file", help=argparse.SUPPRESS)
    parser.add_argument("--emulator-pid", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)

    open_files = raise_open_files_limit(OPEN_FILES)
    print(machine_line())
    print(
        f"Poll every {args.poll_interval:g} s for {args.seconds:g} s per run over HTTPS (certificates verified), "
        f"each side in a fresh process, medians of {args.repeats} runs; SDK pool of {args.sdk_workers} threads; "
        f"open files limit {open_files}"
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        os.environ.setdefault("AIRFLOW_HOME", tmp)
        certificates = make_certificates(workdir)
        with EmulatorProcess(workdir, certificates) as emulator:
            first = 0
            for waits in args.waits:
                ids = emulator.seed_running(job_ids(waits, first))
                first += waits
                ids_file = workdir / f"ids-{waits}.json"
                ids_file.write_text(json.dumps(ids))
                sides = [s for s in args.sides if s != "sdk" or waits <= args.sdk_waits]
                runs: dict[str, list[dict]] = {side: [] for side in sides}
                common = ["--root", emulator.root, "--ca", str(certificates.ca), "--ids-file", str(ids_file),
                          "--poll-interval", str(args.poll_interval), "--seconds", str(args.seconds),
                          "--sdk-workers", str(args.sdk_workers),
                          "--emulator-pid", str(emulator.process.pid)]  # fmt: skip
                for _ in range(args.repeats):
                    for side in sides:
                        runs[side].append(run_child(Path(__file__), ["--child", side, *common]))
                results = {side: median_of(runs[side]) for side in sides}
                floor = results.get("floor")
                for side, r in results.items():
                    rows.append([
                        waits, side, f"{r['polls']:,.0f} / {r['intended']:,} ({100 * r['polls'] / r['intended']:.1f}%)",
                        f"{r['log_reads']:,.0f}", r["cpu_per_1000"],
                        ratio(r["cpu_per_1000"], floor["cpu_per_1000"]) if floor else "-",
                        f"{r['kb_per_wait']:.1f} KB", f"{r['lag_p99_ms']:.1f} ms", f"{100 * r['emulator_busy']:.0f}%",
                    ])  # fmt: skip
    print(
        markdown_table(
            [
                "waits",
                "side",
                "status polls done / intended",
                "log reads",
                "CPU s / 1,000 polls",
                "vs floor",
                "memory per wait",
                "lag p99",
                "emulator CPU",
            ],
            rows,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
