"""The "Checkpoints and exports" table of docs/reliability.md: every row of ``_faults.CHECKPOINT_FAULTS``, injected
into the emulator over loopback, with the outcome the row states. The list is a GET and is retried like one; the
export is a GET with a side effect and is retried only when the API certainly did not act (refused, 429)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_dashscope.exceptions import (
    CheckpointExportFailedError,
    CheckpointNotFoundError,
    DashScopeTransportError,
    InternalServerError,
    InvalidResponseError,
    NotFoundError,
    ServiceUnavailableError,
)
from airflow_provider_dashscope.hooks.dashscope import DashScopeHook
from airflow_provider_dashscope.operators.checkpoints import DashScopeExportCheckpointOperator
from airflow_provider_dashscope.triggers.checkpoints import DashScopeCheckpointExportTrigger
from tests._waiting import FakeTI, FakeTime, make_context

from ._faults import CHECKPOINT_FAULTS, HOOK_ATTEMPTS, TRIGGER_POLLS, Checks, RouteFault
from .conftest import raised

JOB = "ft-202411251000-c4e7"
LIST, EXPORT = "/fine-tunes/{job_id}/checkpoints", "/fine-tunes/{job_id}/export/{checkpoint}"
CHECKS = Checks()
check = CHECKS.register


class Ctx:
    def __init__(self, emu) -> None:
        self.emu = emu
        self.sleeps: list[float] = []
        emu.seed([{"job_id": JOB, "model": "qwen3-14b", "status": "SUCCEEDED", "running_seconds": 4,
                   "hyper_parameters": {"n_epochs": 2}, "validation_file_ids": ["file-v"], "export_seconds": 0}])  # fmt: skip

    def hook(self, conn_id: str = "dashscope_default") -> DashScopeHook:
        hook = DashScopeHook(conn_id)
        hook._sleep = self.sleeps.append
        return hook

    def fault(self, route: str, **fault: Any) -> None:
        self.emu.add_fault(route=f"GET {route}", **fault)

    def count(self, route: str) -> int:
        return self.emu.request_count("GET", route)

    def export_task(self, ti: FakeTI, **kwargs: Any) -> dict[str, Any]:
        task = DashScopeExportCheckpointOperator(task_id="export", job_id=JOB, poll_interval=0.01, **kwargs)
        FakeTime().drive_task(task)
        task.hook._sleep = self.sleeps.append
        return task.execute(make_context(ti))

    def wait(self, checkpoint: str = "checkpoint-4") -> dict:
        fake = FakeTime()
        trigger = fake.drive(
            DashScopeCheckpointExportTrigger(
                export_id=f"{JOB}:{checkpoint}", poll_interval=0.01, max_consecutive_failures=TRIGGER_POLLS
            )
        )

        async def first() -> dict:
            async for event in trigger.run():
                return event.payload
            raise AssertionError("no event")

        return asyncio.run(first())


# ------------------------------------------------------------------------------------------------------------------
# The list
# ------------------------------------------------------------------------------------------------------------------
@check("list_429")
def _(ctx: Ctx) -> None:
    ctx.fault(LIST, status=429, times=3, retry_after="0.02")
    assert [c.step for c in ctx.hook().list_checkpoints(JOB)] == [4, 2]
    assert ctx.count(LIST) == 4 and len(ctx.sleeps) == 3 and all(s >= 0.02 for s in ctx.sleeps)


@check("list_503_forever")
def _(ctx: Ctx) -> None:
    ctx.fault(LIST, status=503, times=-1)
    raised(ServiceUnavailableError, lambda: ctx.hook().list_checkpoints(JOB))
    assert ctx.count(LIST) == HOOK_ATTEMPTS


@check("list_404")
def _(ctx: Ctx) -> None:
    ctx.fault(LIST, status=404, times=-1)
    raised(NotFoundError, lambda: ctx.hook().list_checkpoints(JOB))
    assert ctx.count(LIST) == 1
    error = raised(CheckpointNotFoundError, lambda: ctx.export_task(FakeTI(task_id="export")))
    assert isinstance(error, AirflowFailException) and f"fine-tune job {JOB} has no checkpoints (HTTP 404" in str(error)
    assert ctx.count(EXPORT) == 0


@check("list_not_json")
def _(ctx: Ctx) -> None:
    ctx.fault(LIST, kind="malformed_json", times=-1)
    raised(InvalidResponseError, lambda: ctx.hook().list_checkpoints(JOB))
    assert ctx.count(LIST) == HOOK_ATTEMPTS


@check("list_html")
def _(ctx: Ctx) -> None:
    ctx.fault(LIST, kind="html", status=502, times=3)
    assert len(ctx.hook().list_checkpoints(JOB)) == 2
    assert ctx.count(LIST) == 4


@check("list_object")
def _(ctx: Ctx) -> None:
    ctx.fault(LIST, kind="object_output", times=-1)
    error = raised(InvalidResponseError, lambda: ctx.hook().list_checkpoints(JOB))
    assert "expected an array of checkpoints in 'output', got an object (keys: items)" in str(error)
    assert "request_id=" in str(error)


# ------------------------------------------------------------------------------------------------------------------
# The export
# ------------------------------------------------------------------------------------------------------------------
@check("export_500")
def _(ctx: Ctx) -> None:
    ctx.fault(EXPORT, status=500, times=-1)
    raised(InternalServerError, lambda: ctx.hook().export_checkpoint(JOB, "checkpoint-4", "x"))
    assert ctx.count(EXPORT) == 1 and ctx.sleeps == []


@check("export_429")
def _(ctx: Ctx) -> None:
    ctx.fault(EXPORT, status=429, times=2, retry_after="0.02")
    assert ctx.hook().export_checkpoint(JOB, "checkpoint-4", "x") is True
    assert ctx.count(EXPORT) == 3 and len(ctx.sleeps) == 2
    assert ctx.emu.state.list_checkpoints(JOB)[0]["model_display_name"] == "x"


@check("export_refused")
def _(ctx: Ctx) -> None:
    error = raised(DashScopeTransportError, lambda: ctx.hook("refused").export_checkpoint(JOB, "checkpoint-4", "x"))
    assert error.connect_failed and len(ctx.sleeps) == HOOK_ATTEMPTS - 1


@check("export_500_after")
def _(ctx: Ctx) -> None:
    ctx.fault(EXPORT, status=500, after=True, times=1)
    ti = FakeTI(task_id="export")
    raised(InternalServerError, lambda: ctx.export_task(ti, checkpoint="last"))
    assert ctx.count(EXPORT) == 1  # not sent again: the API had started the export
    result = ctx.export_task(ti.retry(), checkpoint="last")  # the task's retry
    assert (result["status"], result["model_display_name"]) == ("SUCCEEDED", f"{JOB}-checkpoint-4")
    # The retry found the export it had started under its name: listed SUCCEEDED, nothing exported again.
    assert ctx.count(EXPORT) == 1


@check("export_wait_503")
def _(ctx: Ctx) -> None:
    ctx.emu.state.export_checkpoint(JOB, "checkpoint-4", "x")
    ctx.fault(LIST, status=503, times=3)
    event = ctx.wait()
    assert (event["status"], event["checkpoint"]["model_display_name"]) == ("success", "x")
    assert ctx.count(LIST) == 4


@check("export_wait_unknown_status")
def _(ctx: Ctx) -> None:
    ctx.emu.state.export_checkpoint(JOB, "checkpoint-4", "x")
    ctx.fault(LIST, kind="unknown_status", job_status="NOT_EXPORTED", times=2)
    event = ctx.wait()
    assert (event["status"], event["export_status"]) == ("success", "SUCCEEDED")
    assert ctx.count(LIST) == 3  # two polls saw a status that is not an export's and kept waiting


@check("export_failed")
def _(ctx: Ctx) -> None:
    ctx.emu.seed([{"job_id": "ft-202411251000-fa11", "model": "qwen3-14b", "status": "SUCCEEDED",
                   "running_seconds": 10, "export_outcome": "FAILED", "export_seconds": 0}])  # fmt: skip
    task = DashScopeExportCheckpointOperator(
        task_id="export", job_id="ft-202411251000-fa11", checkpoint="last", poll_interval=0.01
    )
    error = raised(CheckpointExportFailedError, lambda: FakeTime().drive_task(task).execute(make_context()))
    assert isinstance(error, AirflowFailException) and error.export_status == "FAILED"
    assert error.job_id == "ft-202411251000-fa11" and error.checkpoint == "checkpoint-10"


def test_every_row_has_a_check():
    assert set(CHECKS) == {fault.key for fault in CHECKPOINT_FAULTS}


@pytest.mark.parametrize("fault", CHECKPOINT_FAULTS, ids=str)
def test_checkpoint_fault(fault: RouteFault, conn):
    CHECKS[fault.key](Ctx(conn))
