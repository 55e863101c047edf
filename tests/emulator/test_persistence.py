"""The state file: atomic snapshots, and files of another layout refused."""

from __future__ import annotations

import json

import pytest

from airflow_provider_dashscope.emulator import EmulatorState, FakeClock, persistence


def test_write_is_atomic_and_leaves_no_temporary_file(tmp_path) -> None:
    path = tmp_path / "state.json"
    persistence.write_atomic(str(path), {"version": persistence.VERSION, "jobs": []})
    persistence.write_atomic(str(path), {"version": persistence.VERSION, "jobs": [1]})
    assert json.loads(path.read_text())["jobs"] == [1]
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_a_failed_write_keeps_the_old_file(tmp_path) -> None:
    path = tmp_path / "state.json"
    persistence.write_atomic(str(path), {"version": persistence.VERSION})
    with pytest.raises(TypeError):
        persistence.write_atomic(str(path), {"version": persistence.VERSION, "bad": object()})
    assert json.loads(path.read_text()) == {"version": persistence.VERSION}
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


@pytest.mark.parametrize("content", [{"version": 1, "jobs": []}, {"jobs": []}, []])
def test_a_file_of_another_layout_is_refused(tmp_path, content) -> None:
    path = tmp_path / "old.json"
    path.write_text(json.dumps(content))
    with pytest.raises(ValueError, match="delete the file"):
        EmulatorState(state_file=str(path))


def test_a_snapshot_reloads_into_the_same_jobs(tmp_path) -> None:
    clock = FakeClock()
    path = tmp_path / "state.json"
    state = EmulatorState(clock=clock, state_file=str(path), pending_seconds=1, running_seconds=5)
    job = state.create_job({"model": "m", "training_file_ids": ["f"]})
    clock.advance(3)
    again = EmulatorState(clock=clock, state_file=str(path))
    assert again.snapshot() == state.snapshot()
    assert again.get_job(job["job_id"]) == state.get_job(job["job_id"])


def test_files_and_deployments_survive_a_restart(tmp_path) -> None:
    clock = FakeClock()
    path = tmp_path / "state.json"
    state = EmulatorState(clock=clock, state_file=str(path), deploy_pending_seconds=1, deploying_seconds=1)
    (file_id,) = state.files.seed([{"name": "train.jsonl", "content": "{}\n", "description": "d"}])
    state.deployments.create({"model_name": "qwen3-8b", "capacity": 3, "suffix": "a"})
    clock.advance(1.5)
    again = EmulatorState(clock=clock, state_file=str(path))
    assert again.files.get(file_id) == state.files.get(file_id)
    assert again.deployments.get("qwen3-8b-a")["status"] == "DEPLOYING"
    clock.advance(1)
    assert again.deployments.get("qwen3-8b-a")["status"] == "RUNNING"
    uploaded = again.files.upload([])  # ids keep counting where they were
    assert uploaded == {"uploaded_files": [], "failed_uploads": []}
    (second,) = again.files.seed([{"name": "b"}])
    assert again.files.get(second)["id"] == 2
    assert json.loads(path.read_text())["files"]["next_id"] == 3
