"""The API key is found nowhere it should not be, and is sent only to the configured base URL.

1. The example gate DAG runs through ``airflow dags test`` with the key ``sk-CANARY-7f3a9c`` against the emulator
   (with faults on the trigger's polls and DEBUG logging, so error and retry lines are written too); then the key
   is searched for in every file under AIRFLOW_HOME (DB, config, any task or trigger log file), the process's stdout
   and stderr (where ``dags test`` writes task and trigger logs), every XCom value, every rendered template field,
   every stored trigger row and ``next_kwargs`` (read through the ORM in the run's process). It must be nowhere,
   and no ``Authorization``/``Bearer`` header may be logged either.
2. In process: ``trigger.serialize()`` and its JSON, ``repr()`` of the hook, its config, the trigger and the
   ``TaskDeferred`` the sensor raises, and the text of the error every fault of the matrix produces (hook and
   trigger). (The fault-matrix and bounded-response tests check the error texts they see themselves, so no test here
   depends on which others ran before it.)
3. Redirects: a server answering 307 to another host (127.0.0.2, or ``localhost``) must not receive the
   ``Authorization`` header there, sync and async; a same-origin redirect (control) keeps it.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_dashscope.exceptions import DashScopeError
from airflow_provider_dashscope.hooks.dashscope import DashScopeHook
from airflow_provider_dashscope.sensors.fine_tunes import DashScopeFineTuneJobSensor
from airflow_provider_dashscope.triggers.fine_tunes import DashScopeFineTuneJobTrigger
from airflow_provider_dashscope.wait.fine_tunes import FINE_TUNE_JOB
from airflow_provider_dashscope.wait.outcomes import WaitEvent

from ._faults import FAULTS
from .conftest import (
    EXAMPLE_DAGS,
    GET_JOB,
    KEY,
    UNRESOLVABLE_BASE_URL,
    closed_port,
    conn_json,
    error_texts,
    migrated_home,
    run_dag,
    seed_job,
)

GATE = "dashscope_finetune_gate"
KEY_BYTES = KEY.encode()


def _leaks(text: str) -> list[str]:
    return [needle for needle in (KEY, "Bearer ", "Authorization") if needle in text]


# ------------------------------------------------------------------------------------------------------------------
# 1. A real DAG run
# ------------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def gate_run(emu, tmp_path_factory) -> dict[str, Any]:
    emu.reset()
    job_id = "ft-202411251000-5ec2"
    job = seed_job(emu, job_id, status="SUCCEEDED", usage=9876)
    route = "GET " + GET_JOB
    emu.add_fault(route=route, job_id=job_id, kind="unknown_status", job_status="RUNNING", times=1)  # sensor defers
    emu.add_fault(route=route, job_id=job_id, kind="status", status=503, times=1)  # the trigger logs a failure
    emu.add_fault(route=route, job_id=job_id, kind="status", status=429, retry_after="0.1", times=1)
    home = migrated_home(tmp_path_factory.mktemp("secrets-home"))
    run = run_dag(
        home,
        EXAMPLE_DAGS,
        GATE,
        {"job_id": job_id},
        AIRFLOW_CONN_DASHSCOPE_DEFAULT=conn_json(emu.base_url),
        DASHSCOPE_EXAMPLE_POLL_INTERVAL="0.2",
        AIRFLOW__LOGGING__LOGGING_LEVEL="DEBUG",
    )
    # Kept outside AIRFLOW_HOME (which is scanned) for a human reading a failure.
    (tmp_path_factory.mktemp("secrets-output") / "dags_test_output.txt").write_text(run.output)
    return {"run": run, "home": home, "job": job, "job_id": job_id}


def test_the_gate_dag_ran_for_real(gate_run):
    run, job = gate_run["run"], gate_run["job"]
    assert run.returncode == 0, run
    assert run.states == {"wait_for_finetune": "success", "finetune_result": "success", "deploy": "success"}, run
    assert run.xcom["deploy"]["return_value"] == {"deployed_model": job["finetuned_output"], "usage": 9876}, run
    # The trigger ran (it logged its failed polls), so its log lines are part of what is searched below.
    assert "poll failed (1 of 5 tolerated in a row)" in run.output, run
    assert run.report["rendered"], run.report  # there are rendered fields to search


def test_the_key_is_in_no_file_under_airflow_home(gate_run):
    scanned, leaks = [], []
    for path in sorted(Path(gate_run["home"]).rglob("*")):
        if path.is_file():
            scanned.append(str(path.relative_to(gate_run["home"])))
            data = path.read_bytes()
            if KEY_BYTES in data or (path.suffix == ".log" and (b"Bearer " in data or b"Authorization" in data)):
                leaks.append(str(path))
    assert "airflow.db" in scanned and "airflow.cfg" in scanned, scanned
    assert leaks == [], f"the key (or a header) was found in {leaks} (scanned: {scanned})"


#: Airflow 3.3.2's in-process supervisor of `dags test` / `dag.test()` (airflow/sdk/execution_time/supervisor.py,
#: InProcessSupervisorComms.send) logs every message it passes at DEBUG, including the MaskSecret message that carries
#: the connection's password to the secrets masker. Not the provider's doing (the Task SDK masks every connection
#: password it hands out), not the real supervisor's (it logs "body omitted"), and not at the default INFO level.
UPSTREAM_DEBUG_LINE = re.compile(r"\[debug +\] Sending request +.*msg=MaskSecret\(value='" + re.escape(KEY) + "'")


def test_the_key_is_not_in_the_task_and_trigger_logs_of_stdout_and_stderr(gate_run):
    run = gate_run["run"]
    leaking = [line for line in run.output.splitlines() if _leaks(line)]
    provider_leaks = [line for line in leaking if not UPSTREAM_DEBUG_LINE.search(line)]
    assert provider_leaks == [], provider_leaks
    assert len(leaking) <= 2 * len(run.states), leaking  # at most the upstream line per connection lookup


def test_the_key_is_in_no_xcom_rendered_field_trigger_row_or_next_kwargs(gate_run):
    report = gate_run["run"].report
    for part in ("xcom", "rendered", "triggers", "next_kwargs"):
        text = json.dumps(report[part], default=str)
        assert KEY not in text, f"the key is in the stored {part}: {text[:2000]}"
    assert report["xcom"]["finetune_result"]["finetuned_output"] == gate_run["job"]["finetuned_output"]
    assert report["rendered"]["wait_for_finetune"]["job_id"] == gate_run["job_id"]


# ------------------------------------------------------------------------------------------------------------------
# 2. In process: serialized trigger, reprs, error texts
# ------------------------------------------------------------------------------------------------------------------
class _TI:
    dag_id, task_id, run_id, map_index, try_number = "secrets", "wait", "manual__1", -1, 1

    def xcom_push(self, key: str, value: Any, **kwargs: Any) -> None:
        assert KEY not in json.dumps(value)


def test_trigger_kwargs_and_reprs_never_hold_the_key(conn):
    job_id = "ft-secrets-defer"
    seed_job(conn, job_id, status="RUNNING")
    sensor = DashScopeFineTuneJobSensor(task_id="wait", job_id=job_id, deferrable=True, poll_interval=5)
    try:
        from airflow.sdk.exceptions import TaskDeferred  # Airflow 3 (a BaseException there)
    except ImportError:  # Airflow 2
        from airflow.exceptions import TaskDeferred
    with pytest.raises(TaskDeferred) as info:
        sensor.execute({"ti": _TI(), "task_instance": _TI(), "params": {}})
    deferred = info.value
    trigger = deferred.trigger
    assert isinstance(trigger, DashScopeFineTuneJobTrigger)
    classpath, kwargs = trigger.serialize()
    hook = sensor.hook
    hook.get_fine_tune_job(job_id)  # a hook that has resolved its config and made a call
    texts = [
        classpath,
        repr(kwargs),
        json.dumps(kwargs),
        repr(trigger),
        str(deferred),
        repr(deferred),
        repr(hook),
        repr(hook.config),
        repr(vars(hook)),
        repr(sensor),
    ]
    for text in texts:
        assert _leaks(text) == [], text
    assert set(kwargs) == {
        "job_id",
        "dashscope_conn_id",
        "poll_interval",
        "deadline",
        "max_consecutive_failures",
        "cancel_on_kill",
        "started_at",
        "last_status",
        "log_training_progress",
    }


@pytest.mark.parametrize("fault", FAULTS, ids=str)
async def test_the_error_of_every_fault_never_holds_the_key(fault, conn, monkeypatch):
    """The hook's error and the trigger's event for every fault of the matrix (one attempt each, fast)."""
    job_id = f"ft-secrets-{fault.key}"
    seed_job(conn, job_id, status="RUNNING")
    conn_id = {"refused": "refused", "dns": "dns"}.get(fault.transport or "", "dashscope_default")
    if fault.fault is not None:
        conn.add_fault(route="GET " + GET_JOB, job_id=job_id, times=-1, **fault.fault)
    monkeypatch.setenv("AIRFLOW_CONN_ONE_SHOT", conn_json(conn.base_url, max_retries=0))
    monkeypatch.setenv("AIRFLOW_CONN_REFUSED", conn_json(f"http://127.0.0.1:{closed_port()}/api/v1", max_retries=0))
    monkeypatch.setenv("AIRFLOW_CONN_DNS", conn_json(UNRESOLVABLE_BASE_URL, max_retries=0))
    texts: list[str] = []
    hook = DashScopeHook("one_shot" if conn_id == "dashscope_default" else conn_id)
    try:
        await asyncio.to_thread(hook.get_fine_tune_job, job_id)
    except DashScopeError as err:
        texts += error_texts(err)
    trigger = DashScopeFineTuneJobTrigger(
        job_id=job_id,
        dashscope_conn_id=conn_id,
        poll_interval=0.01,
        max_consecutive_failures=1,
        deadline=time.time() + 2,
    )
    events = [event.payload async for event in trigger.run()]
    texts.append(json.dumps(events))
    try:
        raise FINE_TUNE_JOB.error_of(WaitEvent.from_payload(events[0]))
    except Exception as err:  # the task's error
        texts += error_texts(err)
    assert texts
    for text in texts:
        assert _leaks(text) == [], text


# ------------------------------------------------------------------------------------------------------------------
# 3. Redirects drop the key
# ------------------------------------------------------------------------------------------------------------------
class _Server:
    """http.server on ``host``: records the headers of every request; redirects (307) when ``redirect_to`` is set."""

    def __init__(self, host: str) -> None:
        self.requests: list[dict[str, str]] = []
        self.redirect_to: str | None = None
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server.requests.append({"path": self.path, **dict(self.headers.items())})
                if server.redirect_to is not None and not self.path.startswith("/moved"):
                    self.send_response(307)
                    self.send_header("Location", server.redirect_to + "/moved" + self.path)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = json.dumps(
                    {"request_id": "rid-redirect", "output": {"job_id": "ft-redirect", "status": "SUCCEEDED"}}
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def servers():
    started: list[_Server] = []

    def start(host: str) -> _Server:
        server = _Server(host)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("target", ["127.0.0.2", "localhost", "same-origin"])
def test_a_redirect_to_another_host_does_not_carry_the_key(target, mode, servers, monkeypatch):
    first = servers("127.0.0.1")
    if target == "same-origin":
        second, location = first, f"http://127.0.0.1:{first.port}"
    else:
        second = servers("127.0.0.2" if target == "127.0.0.2" else "127.0.0.1")
        location = f"http://{target}:{second.port}"
    first.redirect_to = location
    monkeypatch.setenv("AIRFLOW_CONN_REDIRECTING", conn_json(f"http://127.0.0.1:{first.port}/api/v1", max_retries=0))
    hook = DashScopeHook("redirecting")

    if mode == "sync":
        job = hook.get_fine_tune_job("ft-redirect")
    else:
        job = asyncio.run(hook.aget_fine_tune_job("ft-redirect"))

    assert job.status_text == "SUCCEEDED"
    assert first.requests[0]["Authorization"] == f"Bearer {KEY}"  # the configured base URL gets the key
    moved = [r for r in second.requests if r["path"].startswith("/moved")]
    assert len(moved) == 1, second.requests  # the redirect was followed: the second server was reached
    if target == "same-origin":
        assert moved[0].get("Authorization") == f"Bearer {KEY}"  # control: the same origin keeps it
    else:
        assert "Authorization" not in moved[0] and KEY not in json.dumps(moved[0]), moved[0]


# ------------------------------------------------------------------------------------------------------------------
# 4. OpenLineage: the lineage every operator reports after a run holds no key
# ------------------------------------------------------------------------------------------------------------------
def test_lineage_facets_of_every_operator_hold_no_key(conn, tmp_path, monkeypatch):
    pytest.importorskip("airflow.providers.openlineage")
    from openlineage.client.serde import Serde

    from airflow_provider_dashscope.operators.checkpoints import DashScopeExportCheckpointOperator
    from airflow_provider_dashscope.operators.deployments import DashScopeDeployModelOperator
    from airflow_provider_dashscope.operators.files import DashScopeUploadFileOperator
    from airflow_provider_dashscope.operators.fine_tunes import DashScopeFineTuneJobOperator
    from tests._waiting import FakeTI, FakeTime, make_context

    # Lineage is on (a transport is configured), so the fine-tune operators read the job for its inputs.
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__TRANSPORT", json.dumps({"type": "console"}))
    job_id = "ft-202411251000-5ec7"
    conn.seed([{"job_id": job_id, "model": "qwen3-14b", "status": "SUCCEEDED", "running_seconds": 4,
                "validation_file_ids": ["file-v"], "hyper_parameters": {"n_epochs": 2}, "export_seconds": 0}])  # fmt: skip
    path = tmp_path / "train.jsonl"
    path.write_text('{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "ok"}]}\n')
    upload = DashScopeUploadFileOperator(task_id="upload", path=str(path))
    upload.execute(make_context(FakeTI(task_id="upload")))
    wait = FakeTime().drive_task(DashScopeFineTuneJobOperator(task_id="train", job_id=job_id))
    wait.execute(make_context(FakeTI(task_id="train")))
    export = FakeTime().drive_task(
        DashScopeExportCheckpointOperator(task_id="export", job_id=job_id, poll_interval=0.01)
    )
    exported = export.execute(make_context(FakeTI(task_id="export")))
    deploy = FakeTime().drive_task(
        DashScopeDeployModelOperator(task_id="deploy", model_name=exported["model_name"], poll_interval=0.01)
    )
    conn.state.deployments.plan_next({"pending_seconds": 0, "deploying_seconds": 0})
    deploy.execute(make_context(FakeTI(task_id="deploy")))

    trained_on = wait.get_openlineage_facets_on_complete(None).inputs
    assert [d.name for d in trained_on] == ["files/file-emulator-seed", "files/file-v"]  # read from the job
    for task in (upload, wait, export, deploy):
        lineage = task.get_openlineage_facets_on_complete(None)
        assert lineage.outputs, task.task_id  # it did report what it produced
        text = json.dumps(
            [json.loads(Serde.to_json(d)) for d in lineage.inputs + lineage.outputs]
            + [json.loads(Serde.to_json(f)) for f in lineage.run_facets.values()]
        )
        assert not _leaks(text), (task.task_id, text[:500])
