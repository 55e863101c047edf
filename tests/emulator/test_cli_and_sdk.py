"""The console script in a subprocess, and the official dashscope SDK against the emulator."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from http import HTTPStatus
from pathlib import Path

import pytest

from airflow_provider_dashscope.emulator.testing import EmulatorThread

REPO_ROOT = Path(__file__).resolve().parents[2]


def _wait_for_port(proc: subprocess.Popen, port_file: Path, deadline_s: float = 15.0) -> int:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if port_file.exists() and port_file.read_text().strip():
            return int(port_file.read_text())
        if proc.poll() is not None:
            raise AssertionError(f"emulator exited early: {proc.communicate()}")
        time.sleep(0.05)
    raise AssertionError("emulator did not write its port file")


def _request(port: int, method: str, path: str, key: str, body=None):
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        with err:
            return err.code, json.loads(err.read())


def test_cli_starts_with_port_file_scenario_fault_and_state(tmp_path: Path) -> None:
    port_file = tmp_path / "port"
    scenario = tmp_path / "scenario.json"
    state_file = tmp_path / "state.json"
    scenario.write_text(json.dumps([{"job_id": "ft-202410291653-1c7f", "model": "qwen3-14b", "status": "RUNNING"}]))
    env = {**os.environ, "DASHSCOPE_API_KEY": "sk-from-env", "PYTHONPATH": str(REPO_ROOT)}
    cmd = [
        sys.executable, "-m", "airflow_provider_dashscope.emulator",
        "--port", "0", "--port-file", str(port_file), "--scenario", str(scenario),
        "--state-file", str(state_file), "--pending-seconds", "0.2", "--running-seconds", "0.5",
        "--fault", "GET /fine-tunes/{job_id}:status=429:times=1:retry_after=1",
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = _wait_for_port(proc, port_file)
        assert port > 0
        status, body = _request(port, "GET", "/fine-tunes/ft-202410291653-1c7f", "sk-from-env")
        assert (status, body["code"]) == (429, "Throttling")
        status, body = _request(port, "GET", "/fine-tunes/ft-202410291653-1c7f", "sk-from-env")
        assert (status, body["output"]["status"]) == (200, "RUNNING")
        assert _request(port, "GET", "/fine-tunes", "wrong")[0] == 401
        status, body = _request(port, "POST", "/fine-tunes", "sk-from-env", {"model": "m", "training_file_ids": ["f"]})
        assert status == 200
        new_id = body["output"]["job_id"]
        deadline = time.monotonic() + 5
        while _request(port, "GET", f"/fine-tunes/{new_id}", "sk-from-env")[1]["output"]["status"] != "SUCCEEDED":
            assert time.monotonic() < deadline, "job did not finish"
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "listening on http://127.0.0.1:" in out
    assert "sk-from-env" not in out + err  # the key is never logged
    saved = json.loads(state_file.read_text())
    assert {j["job_id"] for j in saved["jobs"]} == {"ft-202410291653-1c7f", new_id}


def test_cli_rejects_bad_fault_spec(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "airflow_provider_dashscope.emulator", "--port", "0", "--quiet",
         "--fault", "GET /fine-tunes:kind=bogus"],
        env=env, capture_output=True, text=True, timeout=20,
    )
    assert proc.returncode == 2
    assert "bogus" in proc.stderr


def test_official_sdk_against_emulator(clock) -> None:
    dashscope = pytest.importorskip("dashscope")
    from dashscope import FineTunes

    with EmulatorThread(clock=clock, pending_seconds=5, running_seconds=20, canceling_seconds=3) as emu:
        kw = {"api_key": emu.api_key, "base_address": emu.base_url}
        created = FineTunes.call(
            model="qwen3-14b",
            training_file_ids="file-abc",
            hyper_parameters={"n_epochs": 1, "learning_rate": "1.6e-5"},
            mode="efficient_sft",
            **kw,
        )
        assert created.status_code == HTTPStatus.OK
        job_id = created.output.job_id
        assert created.output.status == "PENDING"
        assert created.output.training_file_ids == ["file-abc"]
        assert created.output.training_type == "efficient_sft"

        other = FineTunes.call(model="qwen3-8b", training_file_ids=["file-x"], **kw).output.job_id
        clock.advance(6)
        got = FineTunes.get(job_id, **kw)
        assert got.status_code == HTTPStatus.OK
        assert got.request_id
        assert (got.output.job_id, got.output.status, got.output.model) == (job_id, "RUNNING", "qwen3-14b")
        assert got.output.hyper_parameters == {"n_epochs": 1, "learning_rate": "1.6e-5"}

        listed = FineTunes.list(page_no=1, page_size=10, **kw)
        assert listed.status_code == HTTPStatus.OK
        assert listed.output.total == 2
        assert [j.job_id for j in listed.output.jobs] == [other, job_id]

        canceled = FineTunes.cancel(job_id, **kw)
        assert canceled.status_code == HTTPStatus.OK
        assert canceled.output.status == "success"
        assert FineTunes.get(job_id, **kw).output.status == "CANCELING"
        clock.advance(3)
        final = FineTunes.get(job_id, **kw)
        assert final.output.status == "CANCELED"
        assert final.output.usage == 1000  # 1 s of training at 1000 tokens/s

        again = FineTunes.cancel(job_id, **kw)
        assert again.status_code == 400
        assert again.code == "UnsupportedOperation"

        missing = FineTunes.get("ft-000000000000-0000", **kw)
        assert (missing.status_code, missing.code, missing.message) == (404, "NotFound", "Not found!")

        bad_key = FineTunes.get(job_id, api_key="nope", base_address=emu.base_url)
        assert (bad_key.status_code, bad_key.code) == (401, "InvalidApiKey")

        logs = FineTunes.logs(job_id, offset=0, line=10, **kw)
        assert logs.status_code == HTTPStatus.OK
        assert logs.output["total"] >= 3

        deleted = FineTunes.delete(job_id, **kw)
        assert deleted.status_code == HTTPStatus.OK
        assert deleted.output.status == "success"

        emu.add_fault(route="GET /fine-tunes/{job_id}", kind="html", status=502)
        gateway = FineTunes.get(other, **kw)
        assert gateway.status_code == 502
        assert emu.request_count("GET", "/fine-tunes/{job_id}", job_id=job_id) == 4
