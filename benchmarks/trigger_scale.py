"""How many fine-tune waits one triggerer event loop can hold, and what each costs.

Runs N ``DashScopeFineTuneJobTrigger`` instances on one event loop against the emulator (a separate process on
127.0.0.1, every job pinned RUNNING), for a fixed time, and measures:

* CPU seconds of this process per 1,000 polls,
* Python memory per wait (tracemalloc, after the waits started, minus before),
* event-loop lag (how late a 10 ms ticker wakes up; p50/p99/max),
* polls done versus the polls the schedule intended.

The baseline, measured in the same run on the same emulator, is the least a poll can cost: N bare coroutines
sharing one aiohttp session, each doing ``GET /fine-tunes/{id}`` and sleeping ``poll_interval``. The ratios say
what the provider adds (connection lookup, parsing, the typed model, logging, jitter).

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
import tracemalloc
import urllib.request
from pathlib import Path

KEY = "sk-benchmark-key"


def start_emulator(workdir: Path) -> tuple[subprocess.Popen, str]:
    port_file = workdir / "port"
    proc = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_dashscope.emulator", "--host", "127.0.0.1", "--port", "0",
         "--port-file", str(port_file), "--api-key", KEY, "--quiet"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 30
    while not (port_file.exists() and port_file.read_text().strip()):
        if proc.poll() is not None or time.time() > deadline:
            raise SystemExit("emulator did not start")
        time.sleep(0.05)
    return proc, f"http://127.0.0.1:{port_file.read_text().strip()}"


def seed(root: str, count: int) -> list[str]:
    ids = [f"ft-202611250000-{i:04x}" for i in range(count)]
    jobs = [{"job_id": job_id, "model": "qwen3-14b", "status": "RUNNING"} for job_id in ids]
    request = urllib.request.Request(
        f"{root}/_emulator/jobs", data=json.dumps(jobs).encode(), headers={"Content-Type": "application/json"}
    )
    urllib.request.urlopen(request, timeout=60).read()
    return ids


def gets(root: str) -> int:
    with urllib.request.urlopen(f"{root}/_emulator/stats", timeout=30) as response:
        stats = json.load(response)
    return sum(count for route, count in stats["by_route"].items() if route.startswith("GET /fine-tunes/{"))


async def lag_probe(samples: list[tuple[float, float]], stop: asyncio.Event) -> None:
    while not stop.is_set():
        start = time.perf_counter()
        await asyncio.sleep(0.01)
        samples.append((start, time.perf_counter() - start - 0.01))


async def run_provider(ids: list[str], poll_interval: float, seconds: float) -> None:
    from airflow_provider_dashscope.triggers.dashscope import DashScopeFineTuneJobTrigger

    async def one(job_id: str) -> None:
        trigger = DashScopeFineTuneJobTrigger(job_id=job_id, poll_interval=poll_interval, last_status="RUNNING")
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


def warm_up(job_id: str) -> None:
    """Import and initialise everything once, as a running triggerer has."""
    from airflow_provider_dashscope.hooks.dashscope import DashScopeHook

    async def one_poll() -> None:
        await DashScopeHook().aget_fine_tune_job(job_id)

    asyncio.run(one_poll())


def measure(name: str, coro_factory, root: str, waits: int, poll_interval: float, seconds: float) -> dict:
    async def main() -> dict:
        samples: list[tuple[float, float]] = []
        stop = asyncio.Event()
        t0 = time.perf_counter()
        probe = asyncio.ensure_future(lag_probe(samples, stop))
        tracemalloc.start()
        before_mem = tracemalloc.get_traced_memory()[0]
        before_gets = gets(root)
        cpu0 = time.process_time()
        runner = asyncio.ensure_future(coro_factory())
        await asyncio.sleep(min(seconds / 2, poll_interval * 2))
        mid_mem = tracemalloc.get_traced_memory()[0]
        await runner
        cpu = time.process_time() - cpu0
        tracemalloc.stop()
        stop.set()
        await probe
        polls = gets(root) - before_gets
        lags = sorted(lag for _, lag in samples)
        # Steady state: after every wait has started and polled twice.
        steady = sorted(lag for at, lag in samples if at - t0 > 2 * poll_interval) or [0.0]
        return {
            "name": name,
            "polls": polls,
            "intended_polls": int(waits * seconds / poll_interval),
            "cpu_s_per_1000_polls": 1000 * cpu / max(polls, 1),
            "bytes_per_wait": (mid_mem - before_mem) / waits,
            "lag_p50_ms": 1000 * statistics.median(lags),
            "lag_p99_ms": 1000 * lags[int(len(lags) * 0.99) - 1],
            "lag_max_ms": 1000 * lags[-1],
            "steady_lag_p99_ms": 1000 * steady[max(0, int(len(steady) * 0.99) - 1)],
        }

    return asyncio.run(main())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--waits", type=int, default=1000)
    parser.add_argument("--poll-interval", type=float, default=5.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("AIRFLOW_HOME", tmp)
        emulator, root = start_emulator(Path(tmp))
        try:
            base_url = f"{root}/api/v1"
            os.environ["AIRFLOW_CONN_DASHSCOPE_DEFAULT"] = json.dumps(
                {"conn_type": "dashscope", "password": KEY, "host": base_url}
            )
            ids = seed(root, args.waits)
            warm_up(ids[0])
            # The waits' INFO lines (one per wait start) are written, to /dev/null, as a triggerer writes its logs.
            saved_stdout = os.dup(1)
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            results = [
                measure("baseline (bare aiohttp)", lambda: run_baseline(ids, base_url, args.poll_interval, args.seconds),
                        root, args.waits, args.poll_interval, args.seconds),
                measure("provider triggers", lambda: run_provider(ids, args.poll_interval, args.seconds),
                        root, args.waits, args.poll_interval, args.seconds),
            ]
        finally:
            if "saved_stdout" in locals():
                sys.stdout.flush()
                os.dup2(saved_stdout, 1)
            emulator.terminate()
            emulator.wait(timeout=10)

    print(f"{args.waits} waits, poll every {args.poll_interval:g} s, {args.seconds:g} s each run")
    columns = ["polls", "intended_polls", "cpu_s_per_1000_polls", "bytes_per_wait", "lag_p50_ms", "lag_p99_ms",
               "lag_max_ms", "steady_lag_p99_ms"]
    print(f"{'':24}" + "".join(f"{c:>20}" for c in columns))
    for row in results:
        print(f"{row['name']:24}" + "".join(f"{row[c]:>20.2f}" if isinstance(row[c], float) else f"{row[c]:>20}" for c in columns))
    base, prov = results
    print(
        f"ratio provider/baseline: CPU per poll x{prov['cpu_s_per_1000_polls'] / max(base['cpu_s_per_1000_polls'], 1e-9):.2f}, "
        f"memory per wait x{prov['bytes_per_wait'] / max(base['bytes_per_wait'], 1):.2f}, "
        f"polls done {prov['polls'] / max(base['polls'], 1):.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
