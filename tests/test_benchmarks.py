"""The benchmark scripts start, measure every side and print their table, at tiny sizes (no figure is checked:
timings are the scripts' business, not a test's)."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def run(script: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def table_rows(output: str) -> list[list[str]]:
    """The rows of the Markdown table the script printed (header and separator left out)."""
    lines = [line for line in output.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[2:]]


def test_trigger_scale_prints_a_row_per_side_over_https() -> None:
    pytest.importorskip("dashscope")
    output = run(
        "trigger_scale.py", "--waits", "4", "--poll-interval", "0.5", "--seconds", "1", "--repeats", "1",
        "--sides", "floor", "provider", "sdk",
    )  # fmt: skip
    assert "over HTTPS (certificates verified)" in output
    rows = table_rows(output)
    assert [row[1] for row in rows] == ["floor", "provider", "sdk"]
    for row in rows:
        done = int(row[2].split("/")[0].replace(",", ""))
        assert done > 0, row  # every side polled the emulator, through a verified TLS connection


def test_trigger_scale_prints_the_floor_and_the_provider_over_plain_http() -> None:
    output = run(
        "trigger_scale.py", "--plain-http", "--waits", "4", "--poll-interval", "0.5", "--seconds", "1",
        "--repeats", "1", "--sides", "floor", "provider",
    )  # fmt: skip
    assert "over plain HTTP" in output
    rows = table_rows(output)
    assert [row[1] for row in rows] == ["floor", "provider"]
    for row in rows:
        assert int(row[2].split("/")[0].replace(",", "")) > 0, row  # every side polled the plain-HTTP emulator


def test_coalescing_prints_shared_and_unshared_requests() -> None:
    output = run("coalescing.py", "--poll-interval", "0.5", "--seconds", "1.5", "--waits", "3", "--mix-jobs")
    rows = table_rows(output)
    assert [(row[0], row[1]) for row in rows] == [("3", "1")]
    for row in rows:
        unshared_gets, shared_gets = float(row[2]), float(row[3])
        assert shared_gets < unshared_gets, row  # waits on one job shared their polls


@pytest.mark.skipif(
    int(metadata.version("apache-airflow").split(".")[0]) < 3,
    reason="the DAG-parse benchmark writes Airflow 3 DAG files (airflow.sdk)",
)
def test_dag_parse_prints_every_side() -> None:
    rows = table_rows(run("dag_parse.py", "--runs", "1"))
    assert [row[0] for row in rows] == ["empty", "floor", "provider", "preloaded"]
