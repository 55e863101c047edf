"""How many fine-tune waits one triggerer event loop can hold, and what each costs.

Runs N ``DashScopeFineTuneJobTrigger`` instances on one event loop against the emulator (a separate process on
127.0.0.1, every job pinned RUNNING), for a fixed time, and measures:

* CPU seconds of the waiting process per 1,000 polls (status polls; the training-log reads the progress adds are
  counted apart, and their cost is in the CPU),
* resident memory per wait (RSS once every wait has started, minus before),
* event-loop lag (how late a 10 ms ticker wakes up; p50/p99/max),
* polls done versus the polls the schedule intended.

Each side runs in a fresh process. The baseline, measured in the same run on the same emulator, is the least a
poll can cost: N bare coroutines
sharing one aiohttp session, each doing ``GET /fine-tunes/{id}`` and sleeping ``poll_interval``. The ratios say
what the provider adds (connection lookup, parsing, the typed model, logging, jitter, the shared-request registry).
The provider runs twice: with the training progress on (as it ships: a log read every
``[dashscope] training_progress_every_polls`` polls, counted apart as "log_reads") and off
(``log_training_progress=False``).

    python benchmarks/trigger_scale.py --waits 1000 --poll-interval 5 --seconds 30
    python benchmarks/trigger_scale.py --waits 5000 --poll-interval 5 --seconds 60
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

KEY = "sk-benchmark-key"
#: The baseline, the provider as it ships (training progress on) and the provider with the progress off.
MODES = ("baseline", "provider", "no-progress")


def start_emulator(workdir: Path) -> tuple[subprocess.Popen, str]:
    port_file = workdir / "port"
    proc = subprocess.Popen(
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
            KEY,
            "--quiet",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 30
    while not (port_file.exists() and port_file.read_text().strip()):
        if proc.poll() is not None or time.time() > deadline:
            raise SystemExit("emulator did not start")
        time.sleep(0.05)
    return proc, f"http://127.0.0.1:{port_file.read_text().strip()}"


def seed(root: str, count: int) -> list[str]:
    ids = [f"ft-202611250000-{i:04x}" for i in range(count)]
    jobs = [{"job_id": job_id, "model": "qwen3-14b", "status": "RUNNING", "pin": True} for job_id in ids]
    request = urllib.request.Request(
        f"{root}/_emulator/jobs", data=json.dumps(jobs).encode(), headers={"Content-Type": "application/json"}
    )
    urllib.request.urlopen(request, timeout=60).read()
    return ids


def gets(root: str) -> tuple[int, int]:
    """Status polls (``GET /fine-tunes/{id}``) and training-log reads (``GET /fine-tunes/{id}/logs``) so far."""
    with urllib.request.urlopen(f"{root}/_emulator/stats", timeout=30) as response:
        by_route = json.load(response)["by_route"]
    return by_route.get("GET /fine-tunes/{job_id}", 0), by_route.get("GET /fine-tunes/{job_id}/logs", 0)


async def lag_probe(samples: list[tuple[float, float]], stop: asyncio.Event) -> None:
    while not stop.is_set():
        start = time.perf_counter()
        await asyncio.sleep(0.01)
        samples.append((start, time.perf_counter() - start - 0.01))


async def run_provider(ids: list[str], poll_interval: float, seconds: float, progress: bool) -> None:
    from airflow_provider_dashscope.triggers.dashscope import DashScopeFineTuneJobTrigger

    async def one(job_id: str) -> None:
        trigger = DashScopeFineTuneJobTrigger(
            job_id=job_id, poll_interval=poll_interval, last_status="RUNNING", log_training_progress=progress
        )
        async for _ in trigger.run():
            pass

    tasks = [asyncio.ensure_future(one(job_id)) for job_id in ids]
    await asyncio.sleep(seconds)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def run_baseline(ids: list[str], base_url: str, poll_interval: float, seconds: float) -> None:
    import random

    import aiohttp

    headers = {"Authorization": f"Bearer {KEY}"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256)) as session:

        async def one(job_id: str) -> None:
            await asyncio.sleep(poll_interval * random.random())
            while True:
                async with session.get(f"{base_url}/fine-tunes/{job_id}", headers=headers) as response:
                    json.loads(await response.read())
                await asyncio.sleep(poll_interval)

        tasks = [asyncio.ensure_future(one(job_id)) for job_id in ids]
        await asyncio.sleep(seconds)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def warm_up(job_id: str, mode: str, base_url: str) -> None:
    """Import and initialise everything once, as a running triggerer has."""

    async def one_poll() -> None:
        if mode != "baseline":
            from airflow_provider_dashscope.hooks.dashscope import DashScopeHook

            await DashScopeHook().aget_fine_tune_job(job_id)
        else:
            import aiohttp

            async with aiohttp.ClientSession() as session:
                headers = {"Authorization": f"Bearer {KEY}"}
                async with session.get(f"{base_url}/fine-tunes/{job_id}", headers=headers) as response:
                    await response.read()

    asyncio.run(one_poll())


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure(mode: str, root: str, ids: list[str], poll_interval: float, seconds: float) -> dict:
    """One mode in this (fresh) process: CPU, resident memory per wait, loop lag, polls done."""
    base_url = f"{root}/api/v1"
    warm_up(ids[0], mode, base_url)

    def factory():
        if mode == "baseline":
            return run_baseline(ids, base_url, poll_interval, seconds)
        return run_provider(ids, poll_interval, seconds, progress=mode == "provider")

    async def main() -> dict:
        samples: list[tuple[float, float]] = []
        stop = asyncio.Event()
        t0 = time.perf_counter()
        probe = asyncio.ensure_future(lag_probe(samples, stop))
        before_rss = rss_bytes()
        before_polls, before_reads = gets(root)
        cpu0 = time.process_time()
        runner = asyncio.ensure_future(factory())
        await asyncio.sleep(min(seconds / 2, poll_interval * 2))
        mid_rss = rss_bytes()
        await runner
        cpu = time.process_time() - cpu0
        stop.set()
        await probe
        after_polls, after_reads = gets(root)
        polls, log_reads = after_polls - before_polls, after_reads - before_reads
        lags = sorted(lag for _, lag in samples)
        # Steady state: after every wait has started and polled twice.
        steady = sorted(lag for at, lag in samples if at - t0 > 2 * poll_interval) or [0.0]
        return {
            "polls": polls,
            "intended_polls": int(len(ids) * seconds / poll_interval),
            "log_reads": log_reads,
            "cpu_s_per_1000_polls": 1000 * cpu / max(polls, 1),
            "rss_bytes_per_wait": (mid_rss - before_rss) / len(ids),
            "lag_p50_ms": 1000 * statistics.median(lags),
            "lag_p99_ms": 1000 * lags[int(len(lags) * 0.99) - 1],
            "lag_max_ms": 1000 * lags[-1],
            "steady_lag_p99_ms": 1000 * steady[max(0, int(len(steady) * 0.99) - 1)],
        }

    return asyncio.run(main())


def run_mode(mode: str, root: str, ids: list[str], args: argparse.Namespace) -> dict:
    """Measure one mode in a fresh interpreter, so neither inherits the other's memory or imports."""
    ids_file = Path(tempfile.mkstemp(suffix=".json")[1])
    ids_file.write_text(json.dumps(ids))
    try:
        done = subprocess.run(
            [
                sys.executable,
                __file__,
                "--mode",
                mode,
                "--root",
                root,
                "--ids-file",
                str(ids_file),
                "--poll-interval",
                str(args.poll_interval),
                "--seconds",
                str(args.seconds),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        ids_file.unlink()
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--waits", type=int, default=1000)
    parser.add_argument("--poll-interval", type=float, default=5.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--root", help=argparse.SUPPRESS)
    parser.add_argument("--ids-file", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.mode:  # a child: measure one mode, print one JSON line
        os.environ["AIRFLOW_CONN_DASHSCOPE_DEFAULT"] = json.dumps(
            {"conn_type": "dashscope", "password": KEY, "host": f"{args.root}/api/v1"}
        )
        ids = json.loads(Path(args.ids_file).read_text())
        # The waits' INFO lines (one per wait start) are written, to /dev/null, as a triggerer writes its logs.
        saved_stdout = os.dup(1)
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        result = measure(args.mode, args.root, ids, args.poll_interval, args.seconds)
        sys.stdout.flush()
        os.dup2(saved_stdout, 1)
        print(json.dumps(result))
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("AIRFLOW_HOME", tmp)
        emulator, root = start_emulator(Path(tmp))
        try:
            ids = seed(root, args.waits)
            results = {mode: run_mode(mode, root, ids, args) for mode in MODES}
        finally:
            emulator.terminate()
            emulator.wait(timeout=10)

    print(
        f"{args.waits} waits, poll every {args.poll_interval:g} s, {args.seconds:g} s per run, each in a fresh process"
    )
    columns = list(results["baseline"])
    width = max(len(c) for c in columns) + 2
    print(f"{'':12}" + "".join(f"{c:>{width}}" for c in columns))
    for mode, row in results.items():
        print(
            f"{mode:12}"
            + "".join(f"{row[c]:>{width}.2f}" if isinstance(row[c], float) else f"{row[c]:>{width}}" for c in columns)
        )
    base = results["baseline"]
    for mode in MODES[1:]:
        prov = results[mode]
        print(
            f"{mode} / baseline: CPU per poll "
            f"x{prov['cpu_s_per_1000_polls'] / max(base['cpu_s_per_1000_polls'], 1e-9):.2f}, "
            f"memory per wait x{prov['rss_bytes_per_wait'] / max(base['rss_bytes_per_wait'], 1):.2f}, "
            f"polls done x{prov['polls'] / max(base['polls'], 1):.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
