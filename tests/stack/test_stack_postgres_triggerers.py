"""Real-stack test on PostgreSQL with two triggerers: many deferred waits spread over both, one triggerer is
killed (SIGKILL of its whole process group) mid-wait, the other adopts its triggers, and every wait still ends
with the right result, pushed once, with no create, cancel or delete request.

The test makes its own PostgreSQL cluster (a temporary directory, 127.0.0.1 and a private socket, a free port)
and runs api-server (execution API), scheduler, dag-processor and two triggerers against it. The DAG
(``dags_ha/stack_ha_waits.py``) maps one deferrable sensor over ``WAITS`` emulator jobs. The emulator's clock is
wall-clock time plus an offset: the jobs stay RUNNING until the test moves the clock past their training time.

Spreading the waits is made deterministic with capacity: triggerer A runs with ``--capacity`` half the waits and
starts first, so it fills up; triggerer B (default capacity) then takes the rest. A is the one killed; B must
adopt A's triggers once A's heartbeat is older than ``[triggerer] triggerer_health_check_threshold``.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import airflow
import pytest

from airflow_provider_dashscope.emulator import EmulatorThread
from tests.stack._db import PostgresReader
from tests.stack._deps import skip_unless_required
from tests.stack._emulated import OffsetClock, RecordingState, recording_emulator
from tests.stack._postgres import PostgresCluster, why_unavailable
from tests.stack._procs import Timeline, http_ok, wait_for
from tests.stack._stackrun import AirflowStack, airflow_stack, connection_env, reported

AIRFLOW_MAJOR = int(str(airflow.__version__).split(".", 1)[0])

pytestmark = [
    pytest.mark.stack,
    pytest.mark.skipif(
        AIRFLOW_MAJOR < 3,
        reason=f"the two-triggerer stack test needs Airflow 3 (api-server, dag-processor, Task SDK); "
        f"installed {airflow.__version__}",
    ),
]

DAGS = Path(__file__).resolve().parent / "dags_ha"
DAG_ID = "dashscope_stack_ha"
RUN_ID = "stack_ha_1"
TASK = "wait"
WAITS = 16
CAPACITY_A = WAITS // 2
#: Map indexes whose jobs end FAILED (one likely on each triggerer; which one held it is printed).
FAILING = {1, WAITS - 2}
JOB_IDS = [f"ft-stack-ha-{i:02d}" for i in range(WAITS)]
JOB_ROUTE = "/fine-tunes/{job_id}"
#: Each job's training time on the emulator's clock (the emulator trains one job at a time, in order).
JOB_RUNNING_SECONDS = 3600.0
POLL_INTERVAL = 2
#: Seconds of heartbeat silence after which a triggerer counts as dead and its triggers are taken over. A live
#: triggerer heartbeats about every 1-3 s here (every loop of ~1 s when due; later on a busy 2-core machine), so 8 s
#: keeps a live one from losing its triggers while the kill is still taken over within seconds.
HEALTH_CHECK_THRESHOLD = 8
TRIGGERER_SETTINGS = {
    "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
    "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": str(HEALTH_CHECK_THRESHOLD),
}
BAD_BEFORE_THE_END = {"failed", "upstream_failed", "skipped", "removed", "up_for_retry", "up_for_reschedule"}


@pytest.fixture
def postgres():
    reason = why_unavailable()
    if reason:
        skip_unless_required(reason)
    cluster = PostgresCluster()
    try:
        cluster.start()
    except BaseException:
        print(cluster.server_log_tail())
        cluster.stop()
        raise
    try:
        yield cluster
    finally:
        report = cluster.stop()
        assert not report["leftover"], f"PostgreSQL processes left after teardown: {report}"


@pytest.fixture
def emulator(stack_key: str):
    with recording_emulator(stack_key) as emu:
        yield emu


@pytest.fixture
def stack(tmp_path, airflow_bin, emulator, stack_key, postgres: PostgresCluster):
    env = {**connection_env(emulator.root_url, stack_key), "DASHSCOPE_STACK_WAITS": str(WAITS),
           "DASHSCOPE_STACK_POLL_INTERVAL": str(POLL_INTERVAL), **TRIGGERER_SETTINGS}  # fmt: skip
    with airflow_stack(tmp_path, airflow_bin=airflow_bin, dags=DAGS, env=env, secrets_to_hide=[stack_key, postgres.password],
                       sql_alchemy_conn=postgres.sqlalchemy_url, db=PostgresReader(postgres.dsn)) as stack:  # fmt: skip
        yield stack


def test_waits_survive_a_killed_triggerer_on_postgres(stack: AirflowStack, emulator: EmulatorThread, stack_key: str):
    with reported(stack, lines=25) as tl:
        _run_scenario(stack, emulator, stack_key, tl)


def _seed(emulator: EmulatorThread) -> dict[str, dict]:
    jobs = {}
    for index, job_id in enumerate(JOB_IDS):
        failing = index in FAILING
        jobs[job_id] = {
            "job_id": job_id,
            "model": "qwen-turbo",
            "pending_seconds": 0,
            "running_seconds": JOB_RUNNING_SECONDS,
            "outcome": "FAILED" if failing else "SUCCEEDED",
            "usage": 1000 + index,
            "finetuned_output": f"qwen-turbo-ft-stack-ha-{index:02d}",
        }
        if failing:
            jobs[job_id].update(failure_code="TrainingFailed", failure_message=f"loss diverged in job {index}")
    assert emulator.seed(list(jobs.values())) == JOB_IDS
    return jobs


def _run_scenario(stack: AirflowStack, emulator: EmulatorThread, stack_key: str, tl: Timeline) -> None:
    state: RecordingState = emulator.state  # type: ignore[assignment]
    clock: OffsetClock = emulator.clock  # type: ignore[attr-defined]
    jobs = _seed(emulator)
    waiting_statuses = {"RUNNING", "QUEUING"}  # the emulator trains one job at a time; the others queue
    assert {state.job_status(j) for j in JOB_IDS} == waiting_statuses
    db = stack.db

    def gets(job_id: str, since: float | None = None) -> int:
        return len(state.requests("GET", JOB_ROUTE, job_id, since=since))

    def check_not_broken(*triggerers: str) -> None:
        stack.check_running("api-server", "scheduler", "dag-processor", *triggerers)
        states = db.mapped_states(DAG_ID, RUN_ID, TASK)
        bad = {i: s for i, s in states.items() if s in BAD_BEFORE_THE_END}
        assert not bad, f"task instances ended before their jobs did: {bad}"

    # ------------------------------------------------------------------ start the stack on PostgreSQL
    stack.launch(triggerer="triggerer-a", triggerer_args=("--capacity", str(CAPACITY_A)), migrate_timeout=300)
    tl.mark(f"DB migrated (PostgreSQL), components launched (triggerer A with capacity {CAPACITY_A})")
    port = str(stack.api_port)
    wait_for(
        lambda: http_ok(f"http://127.0.0.1:{port}/execution/health"),
        timeout=120,
        what="the execution API's /execution/health",
        on_poll=stack.check_running,
    )
    wait_for(lambda: db.dag_ready(DAG_ID), timeout=120, what=f"DAG {DAG_ID} serialized", on_poll=stack.check_running)
    (job_a,) = wait_for(
        db.alive_triggerer_jobs, timeout=90, what="triggerer A to register", on_poll=stack.check_running
    )
    triggerer_a = int(job_a[0])
    tl.mark(f"stack ready; triggerer A is job {triggerer_a}")

    # ------------------------------------------------------------------ many deferred waits, spread over two
    stack.cli("dags", "trigger", DAG_ID, "-r", RUN_ID)
    tl.mark(f"DAG run triggered ({WAITS} mapped sensors)")
    wait_for(
        lambda: list(db.trigger_holders(DAG_ID, RUN_ID, TASK).values()).count(triggerer_a) == CAPACITY_A,
        timeout=240,
        what=f"triggerer A to hold {CAPACITY_A} triggers (its capacity)",
        on_poll=lambda: check_not_broken("triggerer-a"),
    )
    tl.mark(f"triggerer A full ({CAPACITY_A} triggers)")
    stack.start("triggerer-b", "triggerer", "--skip-serve-logs")

    def triggerer_b_job() -> int | None:
        others = [int(row[0]) for row in db.alive_triggerer_jobs() if int(row[0]) != triggerer_a]
        return others[0] if others else None

    triggerer_b = wait_for(triggerer_b_job, timeout=90, what="triggerer B to register", on_poll=stack.check_running)
    tl.mark(f"triggerer B is job {triggerer_b}")

    def all_assigned() -> dict[int, int | None] | None:
        holders = db.trigger_holders(DAG_ID, RUN_ID, TASK)
        states = db.mapped_states(DAG_ID, RUN_ID, TASK)
        done = len(holders) == WAITS and None not in holders.values() and set(states.values()) == {"deferred"}
        return holders if done else None

    wait_for(
        all_assigned,
        timeout=240,
        what=f"all {WAITS} sensors deferred with their triggers assigned",
        on_poll=check_not_broken,
    )
    wait_for(
        lambda: all(gets(j) >= 2 for j in JOB_IDS),
        timeout=60,
        what="every job checked by its sensor and polled by a trigger",
        on_poll=check_not_broken,
    )
    holders = db.trigger_holders(DAG_ID, RUN_ID, TASK)  # as they are just before the kill
    by_triggerer = {t: sorted(i for i, h in holders.items() if h == t) for t in (triggerer_a, triggerer_b)}
    assert sum(len(v) for v in by_triggerer.values()) == WAITS, f"a trigger is held elsewhere: {holders}"
    assert by_triggerer[triggerer_a] and by_triggerer[triggerer_b], f"both triggerers must hold waits: {holders}"
    assert len(by_triggerer[triggerer_a]) <= CAPACITY_A, by_triggerer
    held_by_a = [JOB_IDS[i] for i in by_triggerer[triggerer_a]]
    tl.mark(f"{WAITS} waits deferred: A holds {by_triggerer[triggerer_a]}, B holds {by_triggerer[triggerer_b]}")
    for index in sorted(FAILING):
        holder = "A" if holders[index] == triggerer_a else "B"
        print(f"[stack] the failing job {JOB_IDS[index]} (map index {index}) is held by triggerer {holder}")

    # ------------------------------------------------------------------ kill triggerer A mid-wait
    t_kill = time.monotonic()
    report = stack.kill("triggerer-a")
    heartbeat_age = float(
        db.query("SELECT EXTRACT(EPOCH FROM (now() - latest_heartbeat)) FROM job WHERE id = ?", (triggerer_a,))[0][0]
    )
    tl.mark(f"triggerer A killed (SIGKILL to its process group); its last heartbeat is {heartbeat_age:.1f} s old")
    assert not report["leftover"], report
    assert not stack.live_pids().get(f"triggerer-a (pid {stack.components['triggerer-a'].pid})")
    assert set(db.mapped_states(DAG_ID, RUN_ID, TASK).values()) == {"deferred"}

    def adopted() -> bool:
        now = db.trigger_holders(DAG_ID, RUN_ID, TASK)
        return len(now) == WAITS and set(now.values()) == {triggerer_b}

    wait_for(
        adopted,
        timeout=90,
        what=f"triggerer B to take over A's {len(held_by_a)} triggers",
        interval=0.2,
        on_poll=lambda: check_not_broken("triggerer-b"),
    )
    t_adopted = time.monotonic()
    tl.mark("every trigger now held by triggerer B")
    # A died without ending its job row: B took its triggers because that row's heartbeat went stale
    assert db.query("SELECT state FROM job WHERE id = ? AND end_date IS NULL", (triggerer_a,)) == [("running",)]
    wait_for(
        lambda: all(gets(j, since=t_kill) >= 1 for j in held_by_a),
        timeout=60,
        what="triggerer B to poll each adopted job",
        interval=0.2,
        on_poll=check_not_broken,
    )
    t_polled = time.monotonic()
    tl.mark("triggerer B polled every adopted job")
    assert set(db.mapped_states(DAG_ID, RUN_ID, TASK).values()) == {"deferred"}
    assert {state.job_status(j) for j in JOB_IDS} == waiting_statuses

    # ------------------------------------------------------------------ the jobs end
    clock.advance(WAITS * JOB_RUNNING_SECONDS + 1)
    t_ended = time.monotonic()
    expected = {i: ("failed" if i in FAILING else "success") for i in range(WAITS)}
    assert {i: state.job_status(j) for i, j in enumerate(JOB_IDS)} == {
        i: ("FAILED" if i in FAILING else "SUCCEEDED") for i in range(WAITS)
    }
    tl.mark("emulator jobs ended (clock moved on)")
    wait_for(
        lambda: db.mapped_states(DAG_ID, RUN_ID, TASK) == expected,
        timeout=300,
        what=f"the task instances to end as {expected}",
        on_poll=lambda: stack.check_running("api-server", "scheduler", "triggerer-b"),
    )
    wait_for(lambda: db.dag_run_state(DAG_ID, RUN_ID) == "failed", timeout=60, what="the DAG run to end (failed)")
    t_done = tl.mark("every task instance ended as expected")

    # ------------------------------------------------------------------ results through Airflow's ORM
    snap = stack.orm_snapshot(DAG_ID, RUN_ID)
    mapped = {m["map_index"]: m for m in snap["mapped"] if m["task_id"] == TASK}
    assert {i: m["state"] for i, m in mapped.items()} == expected, mapped
    assert all(m["try_number"] == 1 for m in mapped.values()), mapped  # each wait ran once: no retry, no re-run
    returns: dict[int, list] = {i: [] for i in range(WAITS)}
    for x in snap["xcom"]:
        if x["task_id"] == TASK and x["key"] == "return_value":
            returns[x["map_index"]].append(x["value"])
    for index, job_id in enumerate(JOB_IDS):
        if index in FAILING:
            assert returns[index] == [], f"a failed wait pushed a result: {returns[index]}"
            continue
        assert len(returns[index]) == 1, f"map index {index}: {len(returns[index])} return_value XComs"
        (value,) = returns[index]
        seed = jobs[job_id]
        assert value["job_id"] == job_id and value["status"] == "SUCCEEDED", value
        assert value["finetuned_output"] == seed["finetuned_output"] and value["usage"] == seed["usage"], value

    # ------------------------------------------------------------------ each wait completed once (worker logs)
    completions, failures = {}, {}
    for index, job_id in enumerate(JOB_IDS):
        text = _worker_log(stack, index)
        completions[index] = text.count(f"Fine-tune job {job_id} succeeded")
        failures[index] = text.count(f"Fine-tune job {job_id} ended with status FAILED")
    assert completions == {i: (0 if i in FAILING else 1) for i in range(WAITS)}, completions
    assert all(failures[i] >= 1 for i in FAILING), failures
    adopted_logs = [i for i in by_triggerer[triggerer_a] if _trigger_log(stack, i, triggerer_b)]
    assert adopted_logs == by_triggerer[triggerer_a], "B's trigger log is missing for some taken-over waits"

    # ------------------------------------------------------------------ what the emulator saw
    stats = emulator.stats()
    assert emulator.request_count("POST", "/fine-tunes") == 0, stats
    assert emulator.request_count("POST", "/fine-tunes/{job_id}/cancel") == 0, stats
    assert emulator.request_count("DELETE", JOB_ROUTE) == 0, stats
    per_job = {j: gets(j) for j in JOB_IDS}
    for job_id in JOB_IDS:
        assert state.requests("GET", JOB_ROUTE, job_id, since=t_ended), f"nobody read {job_id} after it ended"
    assert state.job_ids() == JOB_IDS

    leaks = stack.files_containing(stack_key)
    assert not leaks, f"the test API key appears in: {leaks}"

    counts = sorted(per_job.values())
    print(
        f"[stack] figures: adoption (kill -> all of A's {len(held_by_a)} triggers held by B) {t_adopted - t_kill:.1f} s, "
        f"A's last heartbeat {heartbeat_age:.1f} s old at the kill, so {heartbeat_age + t_adopted - t_kill:.1f} s "
        f"after it (job_heartbeat_sec=1, triggerer_health_check_threshold={HEALTH_CHECK_THRESHOLD}); "
        f"kill -> B polled every adopted job {t_polled - t_kill:.1f} s; jobs ended -> all tasks done "
        f"{t_done - (t_ended - tl.t0):.1f} s"
    )
    print(
        f"[stack] figures: GET /fine-tunes/{{id}} per job over the whole wait (poll interval {POLL_INTERVAL} s): "
        f"min {counts[0]}, median {statistics.median(counts):g}, max {counts[-1]}, total {sum(counts)}; "
        f"adopted jobs after the kill: {sorted(gets(j, since=t_kill) for j in held_by_a)}; by route {stats['by_route']}"
    )


def _log_dir(stack: AirflowStack, index: int) -> Path:
    return stack.home / "logs" / f"dag_id={DAG_ID}" / f"run_id={RUN_ID}" / f"task_id={TASK}" / f"map_index={index}"


def _worker_log(stack: AirflowStack, index: int) -> str:
    path = _log_dir(stack, index) / "attempt=1.log"
    assert path.exists(), f"no worker log at {path}"
    return path.read_text(errors="replace")


def _trigger_log(stack: AirflowStack, index: int, triggerer_job: int) -> bool:
    return (_log_dir(stack, index) / f"attempt=1.log.trigger.{triggerer_job}.log").exists()
