"""The "Files and deployments" table of docs/reliability.md: every row of ``_faults.ROUTE_FAULTS``, injected into the
emulator over loopback, with the outcome the row states (request counts, errors, what the emulator holds)."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_dashscope.emulator.testing import EmulatorThread
from airflow_provider_dashscope.exceptions import (
    ConflictError,
    DashScopeError,
    DashScopeTransportError,
    DeploymentFailedError,
    DeploymentNotFoundError,
    FileUploadError,
    InternalServerError,
    InvalidResponseError,
    NotFoundError,
    ServiceUnavailableError,
)
from airflow_provider_dashscope.hooks.dashscope import DashScopeHook
from airflow_provider_dashscope.operators.deployments import (
    DashScopeDeleteDeploymentOperator,
    DashScopeDeployModelOperator,
)
from airflow_provider_dashscope.operators.files import DashScopeUploadFileOperator
from airflow_provider_dashscope.triggers.deployments import (
    DashScopeDeploymentDeletionTrigger,
    DashScopeDeploymentTrigger,
)
from tests._waiting import FakeTI, FakeTime, make_context

from ._faults import HOOK_ATTEMPTS, ROUTE_FAULTS, TRIGGER_POLLS, Checks, RouteFault
from .conftest import KEY, conn_json, raised

RECORD = '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}\n'
UPLOAD, FILE = "/files", "/files/{file_id}"
DEPLOYMENTS, DEPLOYMENT = "/deployments", "/deployments/{deployed_model}"
MODEL = "qwen-plus"

CHECKS = Checks()
check = CHECKS.register


class Ctx:
    """What every check gets: the emulator, a hook whose retry sleeps are recorded, a training file."""

    def __init__(self, emu: EmulatorThread, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.emu = emu
        self.tmp_path = tmp_path
        self.monkeypatch = monkeypatch
        self.sleeps: list[float] = []
        self.file = tmp_path / "train.jsonl"
        self.file.write_text(RECORD * 20)

    def hook(self, conn_id: str = "dashscope_default") -> DashScopeHook:
        hook = DashScopeHook(conn_id)
        hook._sleep = self.sleeps.append
        return hook

    def fault(self, method: str, route: str, **fault: Any) -> None:
        self.emu.add_fault(route=f"{method} {route}", **fault)

    def count(self, method: str, route: str) -> int:
        return self.emu.request_count(method, route)

    def seed_deployment(self, status: str = "RUNNING", **settings: Any) -> str:
        return self.emu.state.deployments.seed([{"model_name": MODEL, "status": status, **settings}])[0]

    def wait(self, trigger_cls=DashScopeDeploymentTrigger, **kwargs: Any) -> tuple[dict, FakeTime]:
        fake = FakeTime()
        kwargs.setdefault("poll_interval", 0.01)
        trigger = fake.drive(trigger_cls(deployed_model=MODEL, max_consecutive_failures=TRIGGER_POLLS, **kwargs))

        async def first() -> dict:
            async for event in trigger.run():
                return event.payload
            raise AssertionError("no event")

        return asyncio.run(first()), fake


# ------------------------------------------------------------------------------------------------------------------
# Uploads
# ------------------------------------------------------------------------------------------------------------------
@check("upload_503")
def _(ctx: Ctx) -> None:
    ctx.fault("POST", UPLOAD, status=503, times=-1)
    error = raised(ServiceUnavailableError, lambda: ctx.hook().upload_file(ctx.file))
    assert "request_id=" in str(error)
    assert ctx.count("POST", UPLOAD) == 1 and ctx.sleeps == []
    assert ctx.emu.state.files.names() == {}


@check("upload_429")
def _(ctx: Ctx) -> None:
    ctx.fault("POST", UPLOAD, status=429, times=2)
    uploaded = ctx.hook().upload_file(ctx.file)
    assert ctx.count("POST", UPLOAD) == 3 and len(ctx.sleeps) == 2
    stored = ctx.emu.state.files.get(uploaded.file_id)
    assert stored["md5"] == hashlib.md5(ctx.file.read_bytes()).hexdigest() == uploaded.md5
    assert list(ctx.emu.state.files.names()) == [uploaded.file_id]


@check("upload_refused")
def _(ctx: Ctx) -> None:
    error = raised(DashScopeTransportError, lambda: ctx.hook("refused").upload_file(ctx.file))
    assert error.connect_failed and len(ctx.sleeps) == HOOK_ATTEMPTS - 1
    assert "(file_name=train.jsonl) could not connect" in str(error)


@check("upload_reset")
def _(ctx: Ctx) -> None:
    ctx.fault("POST", UPLOAD, kind="drop", times=-1)
    raised(DashScopeTransportError, lambda: ctx.hook().upload_file(ctx.file))
    assert ctx.count("POST", UPLOAD) == 1 and ctx.sleeps == []
    assert ctx.emu.state.files.names() == {}


@check("upload_stored_then_dropped")
def _(ctx: Ctx) -> None:
    ctx.fault("POST", UPLOAD, kind="drop", after=True, times=1)
    ti = FakeTI(task_id="upload")
    task = DashScopeUploadFileOperator(task_id="upload", path=str(ctx.file))
    raised(DashScopeTransportError, lambda: task.execute(make_context(ti)))
    (stored,) = ctx.emu.state.files.names()  # the API did store it
    retry = DashScopeUploadFileOperator(task_id="upload", path=str(ctx.file))
    assert retry.execute(make_context(ti.retry())) == stored
    assert ctx.count("POST", UPLOAD) == 1


@check("upload_malformed")
def _(ctx: Ctx) -> None:
    ctx.fault("POST", UPLOAD, kind="malformed_json", times=-1)
    error = raised(InvalidResponseError, lambda: ctx.hook().upload_file(ctx.file))
    assert "the response body is not JSON" in str(error)
    assert ctx.count("POST", UPLOAD) == 1


@check("upload_quota")
def _(ctx: Ctx) -> None:
    with EmulatorThread(api_key=KEY, max_storage_bytes=100) as small:
        ctx.monkeypatch.setenv("AIRFLOW_CONN_SMALL", conn_json(small.base_url))
        error = raised(FileUploadError, lambda: ctx.hook("small").upload_file(ctx.file))
        assert str(error).startswith("Upload of train.jsonl was refused: BadRequest.TooLarge: Out of space, ")
        assert "(request_id=" in str(error)
        assert small.request_count("POST", UPLOAD) == 1 and small.state.files.names() == {}


@check("get_file_503")
def _(ctx: Ctx) -> None:
    file_id = ctx.hook().upload_file(ctx.file).file_id
    ctx.fault("GET", FILE, file_id=file_id, status=503, times=3)
    assert ctx.hook().get_file(file_id).file_id == file_id
    assert ctx.count("GET", FILE) == 4


@check("file_not_found")
def _(ctx: Ctx) -> None:
    for call in (ctx.hook().get_file, ctx.hook().delete_file):
        error = raised(NotFoundError, lambda call=call: call("no-such-file"))
        assert error.status_code == 400 and error.request_id and "File not found." in str(error)
    assert ctx.count("GET", FILE) == 1 and ctx.count("DELETE", FILE) == 1 and ctx.sleeps == []


# ------------------------------------------------------------------------------------------------------------------
# Creating a deployment
# ------------------------------------------------------------------------------------------------------------------
@check("create_deployment_503")
def _(ctx: Ctx) -> None:
    ctx.fault("POST", DEPLOYMENTS, status=503, times=-1)
    raised(ServiceUnavailableError, lambda: ctx.hook().create_deployment(MODEL))
    assert ctx.count("POST", DEPLOYMENTS) == 1 and ctx.emu.state.deployments.names() == []


@check("create_deployment_429")
def _(ctx: Ctx) -> None:
    ctx.fault("POST", DEPLOYMENTS, status=429, times=3)
    assert ctx.hook().create_deployment(MODEL).deployed_model == MODEL
    assert ctx.count("POST", DEPLOYMENTS) == 4 and ctx.emu.state.deployments.names() == [MODEL]


@check("create_deployment_500_after")
def _(ctx: Ctx) -> None:
    ctx.fault("POST", DEPLOYMENTS, status=500, after=True, times=1)
    ti = FakeTI(task_id="deploy")
    first = DashScopeDeployModelOperator(task_id="deploy", model_name=MODEL)
    raised(InternalServerError, lambda: first.execute(make_context(ti)))
    assert ctx.emu.state.deployments.names() == [MODEL]  # created although the answer was an error
    retry = FakeTime().drive_task(DashScopeDeployModelOperator(task_id="deploy", model_name=MODEL, poll_interval=0.01))
    assert retry.execute(make_context(ti.retry()))["status"] == "RUNNING"
    assert ctx.count("POST", DEPLOYMENTS) == 1


@check("create_deployment_conflict")
def _(ctx: Ctx) -> None:
    ctx.hook().create_deployment(MODEL)
    error = raised(ConflictError, lambda: ctx.hook().create_deployment(MODEL))
    assert "already exists, please specify a suffix." in str(error)
    assert ctx.count("POST", DEPLOYMENTS) == 2 and ctx.sleeps == []


@check("create_deployment_unknown_model")
def _(ctx: Ctx) -> None:
    error = raised(NotFoundError, lambda: ctx.hook().create_deployment("qwen-none"))
    assert "Model: qwen-none not found!" in str(error)
    assert ctx.count("POST", DEPLOYMENTS) == 1


# ------------------------------------------------------------------------------------------------------------------
# Waiting until a deployment serves
# ------------------------------------------------------------------------------------------------------------------
@check("wait_503_recover")
def _(ctx: Ctx) -> None:
    ctx.seed_deployment()
    ctx.fault("GET", DEPLOYMENT, deployed_model=MODEL, status=503, times=3)
    event, _ = ctx.wait()
    assert event["status"] == "success" and ctx.count("GET", DEPLOYMENT) == 4


@check("wait_503_forever")
def _(ctx: Ctx) -> None:
    ctx.seed_deployment()
    ctx.fault("GET", DEPLOYMENT, deployed_model=MODEL, status=503, times=-1)
    event, _ = ctx.wait()
    assert (event["status"], event["http_status"]) == ("error", 503)
    assert event["request_id"] and ctx.count("GET", DEPLOYMENT) == TRIGGER_POLLS
    error = raised(DashScopeError, lambda: DashScopeDeployModelOperator(
        task_id="deploy", model_name=MODEL).execute_complete(make_context(), event))  # fmt: skip
    assert not isinstance(error, AirflowFailException)


@check("wait_retry_after")
def _(ctx: Ctx) -> None:
    ctx.seed_deployment()
    ctx.fault("GET", DEPLOYMENT, deployed_model=MODEL, status=429, retry_after="86400", times=2)
    event, fake = ctx.wait()
    assert event["status"] == "success" and ctx.count("GET", DEPLOYMENT) == 3
    assert fake.sleeps and max(fake.sleeps) <= 0.05 + 1e-9  # the connection's retry_max_delay


@check("wait_missing_status")
def _(ctx: Ctx) -> None:
    ctx.seed_deployment()
    ctx.fault("GET", DEPLOYMENT, deployed_model=MODEL, kind="missing_status", times=2)
    event, _ = ctx.wait()
    assert event["status"] == "success" and ctx.count("GET", DEPLOYMENT) == 3


@check("wait_unknown_status")
def _(ctx: Ctx) -> None:
    ctx.seed_deployment()
    ctx.fault("GET", DEPLOYMENT, deployed_model=MODEL, kind="unknown_status", job_status="HIBERNATING", times=2)
    event, _ = ctx.wait()
    assert (event["status"], event["deployment_status"]) == ("success", "RUNNING")
    assert ctx.count("GET", DEPLOYMENT) == 3


@check("wait_failed")
def _(ctx: Ctx) -> None:
    ctx.seed_deployment("FAILED")
    event, _ = ctx.wait()
    assert (event["status"], event["deployment_status"]) == ("failed", "FAILED")
    error = raised(DeploymentFailedError, lambda: DashScopeDeployModelOperator(
        task_id="deploy", model_name=MODEL).execute_complete(make_context(), event))  # fmt: skip
    assert isinstance(error, AirflowFailException)
    assert f"Deployment {MODEL} is FAILED, from which it does not become RUNNING (request_id=" in str(error)


@check("wait_not_found")
def _(ctx: Ctx) -> None:
    event, _ = ctx.wait()
    assert (event["status"], event["http_status"]) == ("error", 404)
    assert ctx.count("GET", DEPLOYMENT) == 1
    error = raised(DeploymentNotFoundError, lambda: DashScopeDeployModelOperator(
        task_id="deploy", model_name=MODEL).execute_complete(make_context(), event))  # fmt: skip
    assert f"Deployment {MODEL} was not found (HTTP 404, request_id=" in str(error)


# ------------------------------------------------------------------------------------------------------------------
# Deleting
# ------------------------------------------------------------------------------------------------------------------
@check("delete_503")
def _(ctx: Ctx) -> None:
    ctx.seed_deployment()
    ctx.fault("DELETE", DEPLOYMENT, deployed_model=MODEL, status=503, times=3)
    assert ctx.hook().delete_deployment(MODEL).status_text == "DELETING"
    assert ctx.count("DELETE", DEPLOYMENT) == 4 and len(ctx.sleeps) == 3


@check("delete_gone")
def _(ctx: Ctx) -> None:
    result = DashScopeDeleteDeploymentOperator(task_id="undeploy", deployed_model=MODEL).execute(make_context())
    assert result["deleted"] is True and ctx.count("DELETE", DEPLOYMENT) == 1


@check("deletion_wait_503")
def _(ctx: Ctx) -> None:
    ctx.seed_deployment("DELETING", deleting_seconds=0)  # gone at once
    ctx.fault("GET", DEPLOYMENT, deployed_model=MODEL, status=503, times=3)
    event, _ = ctx.wait(DashScopeDeploymentDeletionTrigger)
    assert (event["status"], event["http_status"]) == ("success", 404)
    assert ctx.count("GET", DEPLOYMENT) == 4


def test_every_row_has_a_check():
    assert set(CHECKS) == {fault.key for fault in ROUTE_FAULTS}


@pytest.mark.parametrize("fault", ROUTE_FAULTS, ids=str)
def test_route_fault(fault: RouteFault, conn, tmp_path, monkeypatch):
    CHECKS[fault.key](Ctx(conn, tmp_path, monkeypatch))
