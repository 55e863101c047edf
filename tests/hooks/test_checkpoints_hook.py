"""The hook's checkpoint calls against the emulator: typed checkpoints in the API's order, sync and async; an export
is a call with a side effect, retried only when the API certainly did not act."""

from __future__ import annotations

import asyncio

import pytest

from airflow_provider_dashscope.exceptions import (
    DashScopeConfigError,
    InternalServerError,
    NotFoundError,
)
from airflow_provider_dashscope.hooks.dashscope import DashScopeHook
from airflow_provider_dashscope.models.checkpoints import Checkpoint, CheckpointStatus
from tests._waiting import seed

JOB = "ft-202411251000-cafe"
EXPORT = "/fine-tunes/{job_id}/export/{checkpoint}"


@pytest.fixture
def job(emu):
    return seed(emu, JOB, status="SUCCEEDED", running_seconds=6, hyper_parameters={"n_epochs": 2}, export_seconds=0)


def test_list_checkpoints_returns_frozen_checkpoints_newest_step_first(emu, job):
    listed = DashScopeHook().list_checkpoints(job)
    assert all(isinstance(c, Checkpoint) for c in listed)
    assert [(c.checkpoint, c.step, c.job_id) for c in listed] == [("checkpoint-6", 6, JOB), ("checkpoint-3", 3, JOB)]
    assert listed[0].status is None and listed[0].create_time is not None and listed[0].expire_time is not None


def test_alist_checkpoints_reads_the_same_on_the_event_loop(emu, job):
    async def both():
        hook = DashScopeHook()
        return await hook.alist_checkpoints(job)

    def plain(checkpoints):
        return [{k: v for k, v in c.summary().items() if k != "request_id"} for c in checkpoints]

    assert plain(asyncio.run(both())) == plain(DashScopeHook().list_checkpoints(job))


def test_export_checkpoint_starts_an_export_the_list_then_shows(emu, job):
    hook = DashScopeHook()
    assert hook.export_checkpoint(job, "checkpoint-3", "faq-epoch-1") is True
    exported = hook.list_checkpoints(job)[1]
    assert (exported.status, exported.model_name, exported.model_display_name) == (
        CheckpointStatus.SUCCEEDED,
        f"qwen3-14b-{JOB}-c3",
        "faq-epoch-1",
    )


def test_an_export_is_not_sent_again_after_a_5xx(emu, job):
    emu.add_fault(route="GET " + EXPORT, status=500, times=1)
    with pytest.raises(InternalServerError):
        DashScopeHook().export_checkpoint(job, "checkpoint-3", "faq")
    assert emu.request_count("GET", EXPORT) == 1


def test_an_export_is_sent_again_after_a_429(emu, job):
    emu.add_fault(route="GET " + EXPORT, status=429, times=1, retry_after="0")
    assert DashScopeHook().export_checkpoint(job, "checkpoint-3", "faq") is True
    assert emu.request_count("GET", EXPORT) == 2


def test_listing_the_checkpoints_is_retried_after_a_5xx(emu, job):
    emu.add_fault(route="GET /fine-tunes/{job_id}/checkpoints", status=503, times=1)
    assert len(DashScopeHook().list_checkpoints(job)) == 2


def test_an_unknown_job_is_not_found(emu):
    with pytest.raises(NotFoundError):
        DashScopeHook().list_checkpoints("ft-202411251000-0000")


@pytest.mark.parametrize(
    "checkpoint, model_name, words",
    [
        ("../checkpoint-3", "faq", "not a checkpoint name"),
        ("checkpoint-3/x", "faq", "not a checkpoint name"),
        ("best", "faq", "not a checkpoint name"),
        ("checkpoint-3", "", "model_name"),
        ("checkpoint-3", "a b", "model_name"),
    ],
)
def test_bad_arguments_are_refused_before_any_request(emu, job, checkpoint, model_name, words):
    with pytest.raises(DashScopeConfigError, match=words):
        DashScopeHook().export_checkpoint(job, checkpoint, model_name)
    assert emu.request_count("GET", EXPORT) == 0
