"""``dashscope-emulator jobs ...`` as a user runs it, against a real emulator on 127.0.0.1."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_provider_dashscope.emulator.__main__ import main
from airflow_provider_dashscope.emulator.jobs_cli import render
from airflow_provider_dashscope.emulator.scenario import DEPLOYMENT_SCHEMA, FILE_SCHEMA, JOB_SCHEMA
from airflow_provider_dashscope.emulator.testing import EmulatorThread
from tests.emulator._cli import field

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli(emu, capsys):
    """Run ``dashscope-emulator jobs ARGS --url <emu>``: (exit status, stdout, stderr)."""

    def run(*args: str, url: str | None = None, key: str | None = None) -> tuple[int, str, str]:
        connection = ["--url", url or emu.root_url, "--api-key", key or emu.api_key]
        status = main(["jobs", *args, *connection])
        out, err = capsys.readouterr()
        return status, out, err

    return run


def test_create_with_an_outcome_and_durations_then_get(cli, emu, clock) -> None:
    status, out, err = cli(
        "create",
        "--model",
        "qwen3-14b",
        "--outcome",
        "failed",
        "--running-seconds",
        "5",
        "--pending-seconds",
        "0",
        "--failure-code",
        "DataError",
        "--failure-message",
        "line 3 is not JSON",
        "--hyper-parameter",
        "n_epochs=3",
        "--hyper-parameter",
        "learning_rate=1.6e-5",
        "--suffix",
        "nightly",
    )
    assert (status, err) == (0, "")
    job_id = field(out, "job_id")
    assert field(out, "status") == "RUNNING"  # no pending time, the slot was free
    assert json.loads(field(out, "hyper_parameters")) == {"n_epochs": 3, "learning_rate": 1.6e-5}
    assert emu.request_count("POST", "/fine-tunes") == 1
    clock.advance(5)
    status, out, _ = cli("get", job_id)
    assert status == 0
    assert (field(out, "status"), field(out, "code"), field(out, "message")) == (
        "FAILED",
        "DataError",
        "line 3 is not JSON",
    )


def test_create_without_settings_uses_the_emulator_defaults_and_no_plan(cli, emu, clock) -> None:
    status, out, _ = cli("create", "--model", "qwen3-8b", "--training-file-ids", "file-a", "file-b")
    assert status == 0
    assert field(out, "status") == "PENDING"
    assert json.loads(field(out, "training_file_ids")) == ["file-a", "file-b"]
    clock.advance(5 + 20)
    assert emu.state.job_status(field(out, "job_id")) == "SUCCEEDED"


def test_list_shows_a_table_newest_first(cli, clock) -> None:
    ids = []
    for model in ("qwen3-14b", "qwen3-8b", "qwen3-8b"):
        clock.advance(60)
        ids.append(field(cli("create", "--model", model)[1], "job_id"))
    status, out, _ = cli("list")
    lines = out.splitlines()
    assert status == 0
    assert lines[0].split() == ["JOB_ID", "STATUS", "MODEL", "CREATE_TIME", "END_TIME", "USAGE"]
    assert [line.split()[0] for line in lines[1:4]] == ids[::-1]
    assert lines[1].split()[1:3] == ["PENDING", "qwen3-8b"]
    assert lines[3].split()[1] == "SUCCEEDED" and lines[3].split()[-1] == "2000"
    assert lines[-1] == "page 1 (3 of 3 jobs)"
    _, out, _ = cli("list", "--model", "qwen3-8b", "--page-size", "1", "--page-no", "2")
    assert out.splitlines()[1].split()[0] == ids[1]
    assert out.splitlines()[-1] == "page 2 (1 of 2 jobs)"


def test_cancel_shows_the_job_canceling(cli, clock) -> None:
    job_id = field(cli("create", "--model", "qwen3-14b")[1], "job_id")
    status, out, _ = cli("cancel", job_id)
    assert (status, field(out, "status")) == (0, "CANCELING")
    clock.advance(3)
    assert field(cli("get", job_id)[1], "status") == "CANCELED"
    status, _, err = cli("cancel", job_id)
    assert status == 1
    assert "HTTP 400 UnsupportedOperation" in err


def test_json_output_is_the_api_output(cli) -> None:
    status, out, _ = cli("create", "--model", "qwen3-14b", "--json")
    job = json.loads(out)
    assert status == 0 and job["status"] == "PENDING"
    listed = json.loads(cli("list", "--json")[1])
    assert [j["job_id"] for j in listed["jobs"]] == [job["job_id"]]


def test_api_errors_and_a_wrong_key_fail_with_a_message(cli) -> None:
    status, out, err = cli("get", "ft-000000000000-dead")
    assert (status, out) == (1, "")
    assert (
        err.strip()
        == "dashscope-emulator jobs get: GET /fine-tunes/ft-000000000000-dead: HTTP 404 NotFound: Not found!"
    )
    status, _, err = cli("list", key="sk-wrong")
    assert status == 1 and "HTTP 401 InvalidApiKey" in err


def test_an_unreachable_emulator_is_one_line(cli) -> None:
    with EmulatorThread() as other:
        url = other.root_url
    status, _, err = cli("list", url=url)
    assert status == 1
    assert err.startswith(f"dashscope-emulator jobs list: cannot reach the emulator at {url}")


def test_the_url_may_end_in_the_api_prefix_and_the_key_come_from_the_environment(emu, capsys, monkeypatch) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", emu.api_key)
    assert main(["jobs", "list", "--url", emu.base_url + "/"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "page 1 (0 of 0 jobs)"


def test_render_of_one_job_keeps_strings_plain_and_json_for_the_rest() -> None:
    text = render("get", {"job_id": "ft-1", "usage": 3, "training_file_ids": ["f"]})
    assert text.splitlines() == ["job_id             ft-1", "usage              3", 'training_file_ids  ["f"]']


def test_help_documents_the_scenario_schema_the_defaults_and_the_jobs_commands() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "airflow_provider_dashscope.emulator", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
        env={"PYTHONPATH": str(REPO_ROOT), "COLUMNS": "120"},
    )
    text = proc.stdout
    for key, kind, _ in JOB_SCHEMA + FILE_SCHEMA + DEPLOYMENT_SCHEMA:
        assert f"  {key} " in text and kind in text, key
    for flag, default in (("--pending-seconds", "2.0"), ("--running-seconds", "10.0"), ("--canceling-seconds", "2.0")):
        found = re.search(rf"^  {flag} \S+\s+default ([0-9.]+)", text, re.MULTILINE)
        assert found is not None and found.group(1) == default, flag
    assert "dashscope-emulator jobs create|list|get|cancel" in text
    jobs_help = subprocess.run(
        [sys.executable, "-m", "airflow_provider_dashscope.emulator", "jobs", "create", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
        env={"PYTHONPATH": str(REPO_ROOT)},
    ).stdout
    assert "--outcome" in jobs_help and "--running-seconds" in jobs_help and "--url" in jobs_help


def test_the_cookbook_documents_every_scenario_key() -> None:
    text = (REPO_ROOT / "docs" / "emulator.md").read_text(encoding="utf-8")
    for schema in (JOB_SCHEMA, FILE_SCHEMA, DEPLOYMENT_SCHEMA):
        assert [key for key, _, _ in schema if f"`{key}`" not in text] == []
