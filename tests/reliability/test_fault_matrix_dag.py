"""The fault matrix, DAG-run column: ONE ``airflow dags test`` run of ``dag_files/reliability_fault_matrix.py`` with one
deferrable sensor per (fault, case), each on its own job id, with the faults keyed by job id.

* ``recover__<fault>``: the sensor's first check sees the job RUNNING, it defers, and the trigger meets the fault
  ``recover_times`` times before the job (pinned SUCCEEDED) comes through: the task succeeds and its XCom carries
  the job's ``finetuned_output`` and ``usage``.
* ``exhaust__<fault>``: same, but the fault never stops: the trigger gives up after 4 failed polls and the task fails
  with an error naming the job and the request id (for ``refused``/``dns`` the first check, on the worker, fails
  after the hook's 4 attempts). An unknown status never ends the wait: the sensor's timeout (3 s) does.
* ``precheck_*``: the fault hits the sensor's first check (the sync hook, with its retries) instead of the trigger.

The run's results are read once (module fixture) and each task is asserted by its own parametrized test.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ._faults import FAULTS, HOOK_ATTEMPTS, TRIGGER_POLLS, Fault
from .conftest import (
    DAG_FILES,
    GET_JOB,
    KEY,
    UNRESOLVABLE_BASE_URL,
    assert_no_key,
    closed_port,
    conn_json,
    migrated_home,
    run_dag,
    seed_job,
)

DAG_ID = "reliability_fault_matrix"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
#: The sensor's first check must see a running job so that it defers: this fault answers the first GET with the
#: real job, its status shown as RUNNING; the fault under test then applies to the trigger's polls.
FIRST_CHECK_RUNNING = {"kind": "unknown_status", "job_status": "RUNNING", "times": 1}


@dataclass(frozen=True)
class DagTask:
    task_id: str
    fault: Fault
    case: str  # "recover" | "exhaust" | "precheck-recover" | "precheck-exhaust"
    times: int
    timeout: float = 60
    xfail: str | None = None

    @property
    def job_id(self) -> str:
        return "ft-dag-" + self.task_id.replace("__", "-").replace("_", "-")

    @property
    def conn_id(self) -> str:
        if self.fault.transport and self.times == -1:
            return self.fault.transport
        return "dashscope_default"


def _tasks() -> list[DagTask]:
    tasks = []
    for fault in FAULTS:
        if fault.transport is None:  # nothing listens / nothing resolves: no server to come back within a DAG run
            timeout = 4 if fault.key == "429_huge_retry_after" else 60
            tasks.append(
                DagTask(
                    f"recover__{fault.key}",
                    fault,
                    "recover",
                    fault.recover_times,
                    timeout,
                    fault.xfail.get("dag-recover"),
                )
            )
        timeout = 3 if not fault.terminal_error else (4 if fault.key == "429_huge_retry_after" else 60)
        tasks.append(DagTask(f"exhaust__{fault.key}", fault, "exhaust", -1, timeout, fault.xfail.get("dag-exhaust")))
    by_key = {fault.key: fault for fault in FAULTS}
    tasks += [
        DagTask("precheck_recover__503", by_key["503"], "precheck-recover", 3),
        DagTask(
            "precheck_recover__missing_status",
            by_key["missing_status"],
            "precheck-recover",
            1,
            xfail=by_key["missing_status"].xfail.get("dag-precheck"),
        ),
        DagTask("precheck_exhaust__429_retry_after", by_key["429_retry_after"], "precheck-exhaust", -1),
    ]
    return tasks


TASKS = _tasks()


@pytest.fixture(scope="module")
def matrix_run(emu, tmp_path_factory) -> dict[str, Any]:
    """Seed one job per task, arm its faults, run the DAG once; return the run and per-job request counts."""
    emu.reset()
    jobs = {}
    for task in TASKS:
        status = "RUNNING" if task.case == "exhaust" and not task.fault.terminal_error else "SUCCEEDED"
        jobs[task.task_id] = seed_job(emu, task.job_id, status=status)
        if task.fault.fault is None:
            continue
        route = "GET " + GET_JOB
        if not task.case.startswith("precheck"):
            emu.add_fault(route=route, job_id=task.job_id, **FIRST_CHECK_RUNNING)
        emu.add_fault(route=route, job_id=task.job_id, times=task.times, **task.fault.fault)

    home = migrated_home(tmp_path_factory.mktemp("fault-matrix-home"))
    out_dir = tmp_path_factory.mktemp("fault-matrix-failures")
    spec = home / "spec.json"
    spec.write_text(
        json.dumps(
            {
                "dag_id": DAG_ID,
                "out_dir": str(out_dir),
                "tasks": [
                    {
                        "task_id": t.task_id,
                        "job_id": t.job_id,
                        "conn_id": t.conn_id,
                        "timeout": t.timeout,
                        "poll_interval": 0.05,
                    }
                    for t in TASKS
                ],
            }
        )
    )
    run = run_dag(
        home,
        DAG_FILES,
        DAG_ID,
        timeout=600,
        RELIABILITY_DAG_SPEC=str(spec),
        AIRFLOW_CONN_DASHSCOPE_DEFAULT=conn_json(emu.base_url),
        AIRFLOW_CONN_REFUSED=conn_json(f"http://127.0.0.1:{closed_port()}/api/v1"),
        AIRFLOW_CONN_DNS=conn_json(UNRESOLVABLE_BASE_URL),
    )
    (home / "dags_test_output.txt").write_text(run.output)  # for a human reading a failure
    failures = {path.stem: json.loads(path.read_text()) for path in Path(out_dir).glob("*.json")}
    requests = {t.task_id: emu.request_count("GET", GET_JOB, t.job_id) for t in TASKS}
    return {"run": run, "jobs": jobs, "failures": failures, "requests": requests, "home": home}


def test_the_matrix_is_one_dag_run_with_every_task(matrix_run):
    run = matrix_run["run"]
    assert set(run.states) == {t.task_id for t in TASKS}, run
    assert run.returncode == 1 and run.report["run_state"] == "failed", run  # the exhaust tasks fail, by design
    assert_no_key(run.output, json.dumps(run.report), json.dumps(matrix_run["failures"]))


@pytest.mark.parametrize(
    "task",
    [
        pytest.param(t, id=t.task_id, marks=[pytest.mark.xfail(strict=True, reason=t.xfail)] if t.xfail else [])
        for t in TASKS
    ],
)
def test_dag_task_outcome(task: DagTask, matrix_run):
    run = matrix_run["run"]
    state = run.states.get(task.task_id)
    failure = matrix_run["failures"].get(task.task_id)
    requests = matrix_run["requests"][task.task_id]
    job = matrix_run["jobs"][task.task_id]
    fault = task.fault

    if task.case in ("recover", "precheck-recover"):
        assert state == "success", f"{task.task_id}: {state} {failure}"
        result = run.xcom[task.task_id]["return_value"]
        assert result["job_id"] == task.job_id and result["status"] == "SUCCEEDED"
        assert result["finetuned_output"] == job["finetuned_output"] and result["usage"] == 4321
        first_check = 0 if task.case == "precheck-recover" else 1
        assert requests == first_check + task.times + 1, requests
        return

    assert state == "failed", f"{task.task_id}: {state}"
    assert "return_value" not in run.xcom.get(task.task_id, {})
    assert failure is not None, f"{task.task_id}: no exception recorded"
    text = failure["text"]
    assert task.job_id in text, failure
    if not fault.terminal_error:  # the unknown status never ended the wait; the sensor's timeout did
        assert failure["type"] == "AirflowSensorTimeout" and "still PAUSED" in text, failure
        return
    assert "DashScopeError" in failure["mro"], failure
    if fault.http_status is not None:
        assert f"HTTP {fault.http_status}" in text, failure
    if fault.request_id:
        assert UUID.search(text), failure
    if task.case == "precheck-exhaust":  # the worker's first check, with the hook's retries
        assert failure["type"] == fault.error.__name__, failure
        assert requests == HOOK_ATTEMPTS
    elif fault.transport is not None:  # nothing answers: the first check fails after the hook's 4 attempts
        assert failure["type"] == "DashScopeTransportError" and "could not connect" in text, failure
        retried = [line for line in run.output.splitlines() if f"/fine-tunes/{task.job_id} failed (attempt" in line]
        assert {f"attempt {n} of {HOOK_ATTEMPTS}" for n in range(1, HOOK_ATTEMPTS)} <= {
            m.group(0) for line in retried for m in [re.search(r"attempt \d of \d", line)] if m
        }, retried
    else:  # the trigger gave up after its failure budget
        assert requests == 1 + fault.trigger_requests, requests  # the first check, then the trigger's polls
        assert f"Fine-tune job {task.job_id}: {TRIGGER_POLLS} polls failed in a row; giving up" in run.output
    assert KEY not in text
