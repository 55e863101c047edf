"""What the benchmark scripts share: an HTTPS emulator, measuring in fresh child processes, and the tables.

* :func:`make_certificates` makes a throw-away CA and a certificate for 127.0.0.1 with trustme, at run time, in a
  temporary directory (no key is ever checked in).
* :class:`EmulatorProcess` runs ``dashscope-emulator`` in its own process over HTTPS with those certificates, seeds
  jobs pinned RUNNING (``"pin": true``) and reads its request counters (``/_emulator/stats``).
* :func:`run_child` runs one side of a comparison in a fresh interpreter and reads back the one JSON line it
  prints, so no side inherits another's imports, memory or warm caches.
* :func:`rss_bytes`, :class:`LoopLagProbe` and :class:`ThreadLagProbe` measure resident memory and how late a 10 ms
  ticker wakes up (event-loop lag for the async sides, the interpreter's lag for a thread pool).
* :func:`machine_line` and :func:`markdown_table` describe the run and print its figures, ready for the README.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import platform
import random
import resource
import ssl
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KEY = "sk-benchmark-key"
BENCHMARKS = Path(__file__).resolve().parent
REPO_ROOT = BENCHMARKS.parent
#: The routes the benchmarks count, as the emulator's stats name them.
JOB_GET = "GET /fine-tunes/{job_id}"
LOGS_GET = "GET /fine-tunes/{job_id}/logs"


# --------------------------------------------------------------------------------------------------- certificates
@dataclass(frozen=True)
class Certificates:
    """PEM files: the CA clients trust, and the server's certificate chain and key."""

    ca: Path
    cert: Path
    key: Path


def make_certificates(directory: Path) -> Certificates:
    """A new CA and a server certificate for 127.0.0.1/localhost, written to ``directory``."""
    import trustme

    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    files = Certificates(directory / "ca.pem", directory / "server-chain.pem", directory / "server-key.pem")
    ca.cert_pem.write_to_path(str(files.ca))
    for blob in server.cert_chain_pems:
        blob.write_to_path(str(files.cert), append=True)
    server.private_key_pem.write_to_path(str(files.key))
    return files


def client_context(ca_file: Path | str | None) -> ssl.SSLContext | None:
    """A verifying client context that trusts the benchmark's CA (and nothing else); ``None`` for plain HTTP."""
    return ssl.create_default_context(cafile=str(ca_file)) if ca_file else None


def connection_json(base_url: str, ca_file: Path | str | None, **extra: Any) -> str:
    """``AIRFLOW_CONN_DASHSCOPE_DEFAULT`` for the emulator: certificate checks on, through the ``ca_bundle`` extra
    (no extra for a plain-HTTP emulator, which the provider accepts on loopback only)."""
    if ca_file:
        extra = {"ca_bundle": str(ca_file), **extra}
    return json.dumps({"conn_type": "dashscope", "password": KEY, "host": base_url, "extra": extra})


# ------------------------------------------------------------------------------------------------------ emulator
class EmulatorProcess:
    """``dashscope-emulator`` in a child process on 127.0.0.1 (a free port), stopped by :meth:`stop`: over HTTPS
    with ``certificates``, over plain HTTP without."""

    def __init__(self, workdir: Path, certificates: Certificates | None, *, backlog: int = 8192) -> None:
        self.certificates = certificates
        self.context = client_context(certificates.ca if certificates else None)
        port_file = workdir / "emulator.port"
        tls = ["--tls-cert", str(certificates.cert), "--tls-key", str(certificates.key)] if certificates else []
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "airflow_provider_dashscope.emulator", "--host", "127.0.0.1", "--port", "0",
                "--port-file", str(port_file), "--api-key", KEY, "--quiet", "--backlog", str(backlog), *tls,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"the emulator did not start: {self.process.stderr.read().decode()[-2000:]}")
            time.sleep(0.05)
        scheme = "https" if certificates else "http"
        self.root = f"{scheme}://127.0.0.1:{port_file.read_text().strip()}"
        self.base_url = f"{self.root}/api/v1"

    def admin(self, name: str, body: Any = None) -> Any:
        """Call ``/_emulator/<name>``: a POST with a JSON body, or a GET without one."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.root}/_emulator/{name}", data=data, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=120, context=self.context) as response:
            return json.load(response)

    def seed_running(self, job_ids: Iterable[str]) -> list[str]:
        """Jobs that stay RUNNING for as long as the benchmark polls them (``"pin": true``)."""
        jobs = [{"job_id": job_id, "model": "qwen3-14b", "status": "RUNNING", "pin": True} for job_id in job_ids]
        return self.admin("jobs", jobs)["job_ids"]

    def by_route(self) -> dict[str, int]:
        """Requests received so far, by route (``"GET /fine-tunes/{job_id}"``, ...)."""
        return self.admin("stats")["by_route"]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def __enter__(self) -> EmulatorProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ---------------------------------------------------------------------------------------------------------- floor
def floor_session(ca_file: Path | str | None) -> Any:
    """The floor's one aiohttp session: the provider's connection limit, the benchmark's CA over HTTPS."""
    import aiohttp

    context = client_context(ca_file)
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256, ssl=context if context else True))


async def floor_wait(session: Any, base_url: str, job_id: str, poll_interval: float) -> None:
    """The least a wait can do: GET the job, decode the JSON, read the status, sleep; first poll within one
    interval (as the provider spreads a wait that starts from a status it has seen)."""
    url, headers = f"{base_url}/fine-tunes/{job_id}", {"Authorization": f"Bearer {KEY}"}
    await asyncio.sleep(poll_interval * random.random())
    while True:
        async with session.get(url, headers=headers) as response:
            json.loads(await response.read())["output"]["status"]
        await asyncio.sleep(poll_interval)


def job_ids(count: int, first: int = 0) -> list[str]:
    """Well-formed job ids, unique per ``first``."""
    return [f"ft-202611250000-{i:04x}" for i in range(first, first + count)]


def count_since(before: dict[str, int], after: dict[str, int], route: str) -> int:
    return after.get(route, 0) - before.get(route, 0)


def raise_open_files_limit(wanted: int) -> int:
    """Lift this process's (and so its children's) soft ``RLIMIT_NOFILE`` towards ``wanted``; the limit now set."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


# --------------------------------------------------------------------------------------------- child processes
def run_child(
    script: Path,
    args: Sequence[str],
    *,
    env: dict[str, str] | None = None,
    timeout: float = 900,
    python: str = sys.executable,
) -> Any:
    """Run ``script`` with ``args`` in a fresh interpreter (``python``, by default this one); the JSON of the last
    line it prints."""
    done = subprocess.run(
        [python, str(script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{script.name} {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def quiet_stdout() -> int:
    """Send fd 1 to /dev/null (log lines go where a triggerer's would not matter); returns the saved fd."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    return saved


def print_result(saved_stdout: int, result: Any) -> None:
    """Restore fd 1 and print the child's one JSON line."""
    sys.stdout.flush()
    os.dup2(saved_stdout, 1)
    os.close(saved_stdout)
    print(json.dumps(result), flush=True)


# --------------------------------------------------------------------------------------------------- measuring
def rss_bytes() -> int:
    """Resident memory of this process now."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def percentile(values: Sequence[float], fraction: float) -> float:
    """The value below which ``fraction`` of ``values`` lie (nearest rank); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


TICK = 0.01


class LoopLagProbe:
    """How late a 10 ms ticker on the running event loop wakes up: what every other coroutine on it waits."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, float]] = []  # (monotonic time, lateness in seconds)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._tick())

    async def _tick(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(TICK)
            self.samples.append((start, time.perf_counter() - start - TICK))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def p99_since(self, since: float) -> float:
        return percentile([lag for at, lag in self.samples if at >= since], 0.99)


class ThreadLagProbe:
    """The same ticker as a thread: how late the interpreter lets a waiting thread run (contention for the GIL)."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._tick, name="lag-probe", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _tick(self) -> None:
        while not self._stop.is_set():
            start = time.perf_counter()
            time.sleep(TICK)
            self.samples.append((start, time.perf_counter() - start - TICK))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def p99_since(self, since: float) -> float:
        return percentile([lag for at, lag in self.samples if at >= since], 0.99)


def median_of(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per key, the median of the runs' numbers (other values from the first run)."""
    merged: dict[str, Any] = {}
    for key, first in runs[0].items():
        values = [run[key] for run in runs]
        is_number = isinstance(first, (int, float)) and not isinstance(first, bool)
        merged[key] = statistics.median(values) if is_number else first
    return merged


# ------------------------------------------------------------------------------------------------------ output
def _first_line(argv: Sequence[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def machine_line() -> str:
    """Where and when the figures were taken: CPU model and cores, Python and Airflow versions, date, load."""
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in _first_line(["lscpu"]).splitlines()
            if line.startswith("Model name")
        ),
        platform.processor() or "unknown CPU",
    )
    try:
        from importlib.metadata import version

        airflow = version("apache-airflow")
    except Exception:  # the benchmarks run in the project's venv; a bare interpreter says so
        airflow = "not installed"
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return (
        f"{model}, {os.cpu_count()} cores; Python {platform.python_version()}, Airflow {airflow}; "
        f"{datetime.date.today().isoformat()}; load average before the run {load}"
    )


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A Markdown table (readable in a terminal too); floats with two decimals."""

    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:,.2f}"
        if isinstance(value, int) and not isinstance(value, bool):
            return f"{value:,}"
        return str(value)

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def ratio(value: float, base: float) -> str:
    return f"x{value / base:.2f}" if base else "-"
