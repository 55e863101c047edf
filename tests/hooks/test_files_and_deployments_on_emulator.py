"""The hook's files and deployments methods against the emulator over loopback: what it stores is what was sent, and
the life cycle, conflicts and "not found" answers come back as the typed values and errors."""

from __future__ import annotations

import asyncio
import hashlib

import pytest

from airflow_provider_dashscope.exceptions import (
    ConflictError,
    FileUploadError,
    InvalidParameterError,
    NotFoundError,
    UnsupportedOperationError,
)
from airflow_provider_dashscope.hooks.dashscope import DashScopeHook
from airflow_provider_dashscope.models import DeploymentStatus
from tests._waiting import seed

RECORD = '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}\n'


@pytest.fixture
def train_file(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text(RECORD * 50)
    return path


def test_an_uploaded_file_is_stored_with_the_size_md5_and_description_sent(emu, train_file):
    hook = DashScopeHook()
    uploaded = hook.upload_file(train_file, description="SFT data")

    stored = hook.get_file(uploaded.file_id)
    content = train_file.read_bytes()
    assert (stored.name, stored.size, stored.md5) == ("train.jsonl", len(content), hashlib.md5(content).hexdigest())
    assert (uploaded.size, uploaded.md5) == (stored.size, stored.md5)
    assert stored.description == "SFT data" and stored.purpose == "fine-tune"
    assert stored.gmt_create is not None and stored.gmt_create.tzinfo is not None
    assert [item.file_id for item in hook.iter_files()] == [uploaded.file_id]
    assert emu.request_count("POST", "/files") == 1


def test_a_deleted_file_is_not_found_and_a_second_delete_too(emu, train_file):
    hook = DashScopeHook()
    file_id = hook.upload_file(train_file).file_id
    assert hook.delete_file(file_id)  # the request id
    with pytest.raises(NotFoundError) as info:
        hook.get_file(file_id)
    assert info.value.status_code == 400 and "File not found." in str(info.value)
    with pytest.raises(NotFoundError):
        hook.delete_file(file_id)


def test_a_file_over_the_accounts_storage_is_refused_in_failed_uploads(make_emulator, train_file):
    emu = make_emulator(max_storage_bytes=100)
    with pytest.raises(FileUploadError) as info:
        DashScopeHook().upload_file(train_file)
    assert info.value.code == "BadRequest.TooLarge"
    assert "storage space" in str(info.value) and "request_id=" in str(info.value)
    assert emu.request_count("POST", "/files") == 1


def test_a_fine_tune_may_name_only_uploaded_files_when_the_emulator_is_strict(make_emulator, train_file):
    make_emulator(strict_file_ids=True)
    hook = DashScopeHook()
    with pytest.raises(InvalidParameterError):
        hook.create_fine_tune_job(model="qwen3-14b", training_file_ids=["file-never-uploaded"])
    file_id = hook.upload_file(train_file).file_id
    assert hook.create_fine_tune_job(model="qwen3-14b", training_file_ids=[file_id]).training_file_ids == (file_id,)


def test_a_deployment_goes_through_its_life_cycle(make_emulator, fake_clock):
    emu = make_emulator(fake_clock, deploy_pending_seconds=2, deploying_seconds=3, updating_seconds=2,
                        deleting_seconds=1)  # fmt: skip
    hook = DashScopeHook()
    created = hook.create_deployment("qwen3-14b", capacity=2)
    assert (created.status, created.deployed_model, created.capacity) == (DeploymentStatus.PENDING, "qwen3-14b", 2)
    assert created.gmt_create is not None and created.ready_capacity == 0
    fake_clock.advance(2.5)
    assert hook.get_deployment("qwen3-14b").status == DeploymentStatus.DEPLOYING
    fake_clock.advance(3)
    running = asyncio.run(hook.aget_deployment("qwen3-14b"))
    assert running.is_running and running.ready_capacity == 2

    scaled = hook.scale_deployment("qwen3-14b", 3)
    assert scaled.status == DeploymentStatus.UPDATING and scaled.capacity == 3
    with pytest.raises(UnsupportedOperationError):
        hook.scale_deployment("qwen3-14b", 4)  # only a RUNNING deployment scales
    fake_clock.advance(2.5)
    assert hook.get_deployment("qwen3-14b").ready_capacity == 3

    assert hook.delete_deployment("qwen3-14b").status == DeploymentStatus.DELETING
    fake_clock.advance(1.5)
    with pytest.raises(NotFoundError):
        hook.get_deployment("qwen3-14b")
    assert list(hook.iter_deployments()) == []
    assert emu.request_count("POST", "/deployments") == 1


def test_a_fine_tunes_output_is_deployable_and_a_second_deployment_needs_a_suffix(emu):
    job_id = seed(emu, "ft-202611251000-d3p1", status="SUCCEEDED")
    output = emu.state.get_job(job_id)["finetuned_output"]
    hook = DashScopeHook()
    assert hook.create_deployment(output).model_name == output
    with pytest.raises(ConflictError, match="please specify a suffix"):
        hook.create_deployment(output)
    second = hook.create_deployment(output, suffix="v2")
    assert second.deployed_model == f"{output}-v2"
    assert {d.deployed_model for d in hook.iter_deployments(page_size=1)} == {output, f"{output}-v2"}
    with pytest.raises(NotFoundError, match=r"Model: qwen-none not found!"):
        hook.create_deployment("qwen-none")
    assert emu.request_count("POST", "/deployments") == 4  # each refused once, never retried
