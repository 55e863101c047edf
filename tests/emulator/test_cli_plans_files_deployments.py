"""Plans bound to their create, and the ``files`` / ``deployments`` commands, driven as a user drives them:
``dashscope-emulator ...`` command lines against a real emulator on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from airflow_provider_dashscope.emulator.__main__ import main
from airflow_provider_dashscope.emulator.jobs_cli import CLI_TRAINING_FILE
from airflow_provider_dashscope.emulator.testing import EmulatorThread
from tests.emulator._cli import field

from .conftest import Api

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def strict(clock):
    """An emulator that refuses jobs naming files that were not uploaded (as ``make demo`` starts it)."""
    with EmulatorThread(
        clock=clock, pending_seconds=5, running_seconds=20, tokens_per_second=100, random_seed=7, strict_file_ids=True
    ) as server:
        yield server


def command(emu: EmulatorThread, capsys):
    def run(*args: str) -> tuple[int, str, str]:
        status = main([*args, "--url", emu.root_url, "--api-key", emu.api_key])
        out, err = capsys.readouterr()
        return status, out, err

    return run


def test_the_reported_sequence_gives_every_job_its_own_outcome(strict, clock, capsys) -> None:
    cli = command(strict, capsys)
    # 1. A create refused under --strict-file-ids: its plan (FAILED) must not outlive it.
    status, _, err = cli("jobs", "create", "--model", "qwen3-14b", "--training-file-ids", "file-emulator",
                         "--outcome", "FAILED", "--failure-message", "meant for the refused job")  # fmt: skip
    assert status == 1
    assert "HTTP 400 InvalidParameter: Invalid training_file_ids: file file-emulator not found." in err
    # 2. A 60 s job meant to succeed (no file ids: the command uploads a small valid file itself).
    status, out, err = cli("jobs", "create", "--model", "qwen3-14b", "--outcome", "succeeded", "--pending-seconds",
                           "0", "--running-seconds", "60", "--usage", "6000")  # fmt: skip
    assert (status, err) == (0, "")
    long_job = field(out, "job_id")
    (file_id,) = json.loads(field(out, "training_file_ids"))
    assert strict.state.files.names() == {file_id: CLI_TRAINING_FILE}
    # 3. A 5 s job meant to fail with its own message (the uploaded file is reused, not uploaded again).
    status, out, _ = cli("jobs", "create", "--model", "qwen3-8b", "--outcome", "FAILED", "--pending-seconds", "0",
                         "--running-seconds", "5", "--failure-code", "DataError", "--failure-message", "job three")  # fmt: skip
    assert status == 0
    failing_job = field(out, "job_id")
    assert json.loads(field(out, "training_file_ids")) == [file_id] and len(strict.state.files.names()) == 1
    # 4. A job with no settings: the emulator's defaults, no leftover plan.
    plain_job = field(cli("jobs", "create", "--model", "qwen3-8b")[1], "job_id")
    assert Api(strict).call("GET", "/_emulator/plans", root=True).json == {"plans": []}

    clock.advance(59)  # the long job is still training: it did not take a 5 s plan
    assert field(cli("jobs", "get", long_job)[1], "status") == "RUNNING"
    clock.advance(1)
    long = cli("jobs", "get", long_job)[1]
    assert (field(long, "status"), field(long, "usage")) == ("SUCCEEDED", "6000")
    clock.advance(5)  # the failing job queued behind the long one, then ran its own 5 s
    failed = cli("jobs", "get", failing_job)[1]
    assert (field(failed, "status"), field(failed, "code"), field(failed, "message")) == (
        "FAILED",
        "DataError",
        "job three",
    )
    clock.advance(5 + 20)
    assert field(cli("jobs", "get", plain_job)[1], "status") == "SUCCEEDED"


def test_queued_plans_bind_to_a_job_name_are_listed_and_forgotten(strict, clock) -> None:
    api = Api(strict)
    file_id = api.upload_one(content=b'{"messages": [{"role": "user", "content": "q"}]}\n')
    reply = api.call(
        "POST", "/_emulator/plans", [{"job_name": "nightly", "outcome": "FAILED"}, {"usage": 77}], root=True
    )
    assert reply.json == {"status": "ok", "plan_ids": ["plan-1", "plan-2"]}
    assert api.call("GET", "/_emulator/plans", root=True).json == {
        "plans": [{"plan_id": "plan-1", "job_name": "nightly", "outcome": "FAILED"}, {"plan_id": "plan-2", "usage": 77}]
    }
    # A refused create takes no plan.
    refused = api.call("POST", "/fine-tunes", {"model": "qwen3-14b", "training_file_ids": ["file-gone"]})
    assert refused.status == 400
    assert len(api.call("GET", "/_emulator/plans", root=True).json["plans"]) == 2
    # Another job name takes the unbound plan, the named job its own.
    other = api.create(training_file_ids=[file_id], job_name="adhoc", model="qwen3-8b")
    named = api.create(training_file_ids=[file_id], job_name="nightly")
    clock.advance(5 + 20 + 20)
    assert (api.get(other["job_id"])["status"], api.get(other["job_id"])["usage"]) == ("SUCCEEDED", 77)
    assert api.status(named["job_id"]) == "FAILED"
    api.call("POST", "/_emulator/plans", [{"outcome": "CANCELED"}, {"outcome": "FAILED"}], root=True)
    left = api.call("DELETE", "/_emulator/plans?plan_id=plan-3", root=True).json
    assert left == {"plans": [{"plan_id": "plan-4", "outcome": "FAILED"}]}
    assert api.call("DELETE", "/_emulator/plans?plan_id=plan-3", root=True).status == 400
    assert api.call("DELETE", "/_emulator/plans", root=True).json == {"plans": []}


def test_an_inline_plan_that_is_not_a_plan_is_refused_and_leaves_nothing(emu) -> None:
    api = Api(emu)
    reply = api.call("POST", "/fine-tunes", {"model": "q", "training_file_ids": ["f"]},
                     headers={"X-DashScope-Emulator-Plan": '{"outcome": "MAYBE"}'})  # fmt: skip
    assert reply.status == 400 and "X-DashScope-Emulator-Plan" in reply.json["message"]
    assert emu.state.job_ids() == []


def test_files_list_get_delete(emu, capsys) -> None:
    cli = command(emu, capsys)
    api = Api(emu)
    first = api.upload_one("a.jsonl")
    second = api.upload_one("b.jsonl")
    status, out, _ = cli("files", "list")
    lines = out.splitlines()
    assert status == 0
    assert lines[0].split() == ["FILE_ID", "NAME", "SIZE", "GMT_CREATE", "DESCRIPTION"]
    assert [line.split()[:2] for line in lines[1:3]] == [[second, "b.jsonl"], [first, "a.jsonl"]]
    assert lines[-1] == "page 1 (2 of 2 files)"
    assert field(cli("files", "get", first)[1], "name") == "a.jsonl"
    listed = json.loads(cli("files", "list", "--json", "--page-size", "1")[1])
    assert (listed["total"], [f["file_id"] for f in listed["files"]]) == (2, [second])
    assert json.loads(cli("files", "delete", first, "--json")[1]) == {"file_id": first, "deleted": True}
    status, _, err = cli("files", "get", first)
    assert status == 1 and err.startswith(f"dashscope-emulator files get: GET /files/{first}: HTTP 400")


def test_deployments_list_get_delete(emu, clock, capsys) -> None:
    cli = command(emu, capsys)
    emu.state.deployments.seed([{"model_name": "qwen3-8b", "suffix": "serve", "status": "RUNNING", "capacity": 2}])
    status, out, _ = cli("deployments", "list")
    lines = out.splitlines()
    assert status == 0
    assert lines[0].split() == ["DEPLOYED_MODEL", "STATUS", "MODEL_NAME", "CAPACITY", "READY_CAPACITY", "GMT_CREATE"]
    assert lines[1].split()[:4] == ["qwen3-8b-serve", "RUNNING", "qwen3-8b", "2"]
    assert lines[-1] == "page 1 (1 of 1 deployments)"
    got = json.loads(cli("deployments", "get", "qwen3-8b-serve", "--json")[1])
    assert (got["deployed_model"], got["status"], got["capacity"]) == ("qwen3-8b-serve", "RUNNING", 2)
    status, out, _ = cli("deployments", "delete", "qwen3-8b-serve")
    assert (status, field(out, "status")) == (0, "DELETING")
    clock.advance(3600)
    assert json.loads(cli("deployments", "list", "--json")[1])["total"] == 0
    status, _, err = cli("deployments", "get", "qwen3-8b-serve")
    assert status == 1 and "HTTP 404" in err


def test_the_docs_jobs_create_example_works_against_an_emulator_started_like_make_demo(tmp_path) -> None:
    """Real processes: the emulator with --strict-file-ids, then the command line of docs/emulator.md."""
    port_file = tmp_path / "port"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    server = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_dashscope.emulator", "--port", "0", "--port-file", str(port_file),
         "--strict-file-ids", "--quiet", "--api-key", "sk-demo"],
        env=env,
    )  # fmt: skip
    try:
        for _ in range(300):
            if port_file.exists() and port_file.read_text().strip():
                break
            assert server.poll() is None, "the emulator exited"
            time.sleep(0.05)
        url = f"http://127.0.0.1:{port_file.read_text().strip()}"
        docs = (REPO_ROOT / "docs" / "emulator.md").read_text(encoding="utf-8")
        example = next(line for line in docs.splitlines() if line.startswith("dashscope-emulator jobs create"))
        args = example.split()[1:]
        created = subprocess.run(
            [sys.executable, "-m", "airflow_provider_dashscope.emulator", *args, "--url", url, "--api-key", "sk-demo",
             "--json"],
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert created.returncode == 0, created.stderr
        job = json.loads(created.stdout)
        assert job["status"] in ("PENDING", "RUNNING") and len(job["training_file_ids"]) == 1
    finally:
        server.terminate()
        server.wait(timeout=10)
