"""The console script (``dashscope-emulator``) in a subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from airflow_provider_dashscope.emulator import ApiError
from airflow_provider_dashscope.emulator.__main__ import build_parser, build_state
from airflow_provider_dashscope.emulator.testing import EmulatorThread, FakeClock

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
    scenario.write_text(
        json.dumps([{"job_id": "ft-202410291653-1c7f", "model": "qwen3-14b", "status": "RUNNING", "pin": True}])
    )
    env = {**os.environ, "DASHSCOPE_API_KEY": "sk-from-env", "PYTHONPATH": str(REPO_ROOT)}
    cmd = [
        sys.executable,
        "-m",
        "airflow_provider_dashscope.emulator",
        "--port",
        "0",
        "--port-file",
        str(port_file),
        "--scenario",
        str(scenario),
        "--state-file",
        str(state_file),
        "--pending-seconds",
        "0.2",
        "--running-seconds",
        "0.5",
        "--fault",
        "GET /fine-tunes/{job_id}:status=429:times=1:retry_after=1",
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
        [
            sys.executable,
            "-m",
            "airflow_provider_dashscope.emulator",
            "--port",
            "0",
            "--quiet",
            "--fault",
            "GET /fine-tunes:kind=bogus",
        ],
        env=env,
        capture_output=True,
        check=False,
        text=True,
        timeout=20,
    )
    assert proc.returncode == 2
    assert "bogus" in proc.stderr


def test_scenario_jobs_follow_their_life_cycle_unless_pinned(tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.json"
    scenario.write_text(
        json.dumps(
            {
                "jobs": [
                    {"job_id": "ft-runs", "model": "qwen3-8b", "status": "RUNNING", "running_seconds": 5},
                    {"job_id": "ft-pinned", "model": "qwen3-8b", "status": "RUNNING", "pin": True},
                    {"job_id": "ft-paused", "model": "qwen3-8b", "status": "PAUSED"},
                ]
            }
        )
    )
    clock = FakeClock()
    state = build_state(build_parser().parse_args(["--scenario", str(scenario), "--api-key", "k"]), clock=clock)
    with EmulatorThread(state) as emu:
        assert [_request(emu.port, "GET", f"/fine-tunes/{j}", "k")[1]["output"]["status"] for j in IDS] == [
            "RUNNING",
            "RUNNING",
            "PAUSED",
        ]
        clock.advance(5)
        assert [_request(emu.port, "GET", f"/fine-tunes/{j}", "k")[1]["output"]["status"] for j in IDS] == [
            "SUCCEEDED",
            "RUNNING",
            "PAUSED",
        ]


IDS = ("ft-runs", "ft-pinned", "ft-paused")


def test_scenario_files_and_deployments_and_new_flags(tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.json"
    scenario.write_text(
        json.dumps(
            {
                "files": [{"file_id": "file-train", "name": "train.jsonl", "content": "{}\n"}],
                "jobs": [{"job_id": "ft-done", "model": "qwen3-8b", "status": "SUCCEEDED", "finetuned_output": "q-ft"}],
                "deployments": [
                    {"model_name": "q-ft", "status": "DEPLOYING", "outcome": "FAILED"},
                    {"model_name": "qwen3-8b", "suffix": "v1", "status": "RUNNING", "capacity": 2},
                ],
            }
        )
    )
    args = build_parser().parse_args(
        ["--scenario", str(scenario), "--strict-file-ids", "--deploying-seconds", "5", "--deployable-models", "a, b"]
    )
    clock = FakeClock()
    state = build_state(args, clock=clock)
    assert state.config.strict_file_ids and state.config.deployable_models == ("a", "b")
    assert state.files.names() == {"file-train": "train.jsonl"}
    assert state.deployments.get("q-ft")["base_model"] == "qwen3-8b"
    clock.advance(5)
    assert state.deployments.status("q-ft") == "FAILED"
    assert state.deployments.get("qwen3-8b-v1")["ready_capacity"] == 2
    with pytest.raises(ApiError, match="file-other not found"):
        state.create_job({"model": "m", "training_file_ids": ["file-train", "file-other"]})
    assert state.create_job({"model": "m", "training_file_ids": ["file-train"]})["status"] == "PENDING"
