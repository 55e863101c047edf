"""Life cycle with a fake clock, cancel/delete rules, logs, quota, seeding and persistence."""

from __future__ import annotations

import json

import pytest

from airflow_provider_dashscope.emulator import EmulatorState, scenario
from airflow_provider_dashscope.emulator.testing import EmulatorThread

# fixture emu: pending 5 s, running 20 s, canceling 3 s, 100 tokens/s


def test_pending_running_succeeded(api, clock) -> None:
    jid = api.create(model="qwen3-14b", finetuned_output_suffix="sfx")["job_id"]
    assert api.status(jid) == "PENDING"
    clock.advance(4.9)
    assert api.status(jid) == "PENDING"
    clock.advance(0.2)
    job = api.get(jid)
    assert job["status"] == "RUNNING"
    assert "usage" not in job and "end_time" not in job and "finetuned_output" not in job
    clock.advance(20)
    job = api.get(jid)
    assert job["status"] == "SUCCEEDED"
    assert job["usage"] == 2000 and isinstance(job["usage"], int)
    assert job["end_time"] == "2024-10-29 16:54:18"  # create + 5 + 20 s
    assert job["finetuned_output"] == f"qwen3-14b-sfx-{jid}"
    assert "code" not in job


def test_finetuned_output_without_suffix(api, clock) -> None:
    jid = api.create(model="qwen3-8b")["job_id"]
    clock.advance(100)
    assert api.get(jid)["finetuned_output"] == f"qwen3-8b-{jid}"


def test_second_job_queues_behind_running_one(api, clock) -> None:
    first = api.create()["job_id"]
    clock.advance(1)
    second = api.create()["job_id"]
    clock.advance(5)  # t=6: first running, second ready but slot busy
    assert api.status(first) == "RUNNING"
    assert api.status(second) == "QUEUING"
    clock.advance(19)  # t=25: first done, second starts exactly now
    assert api.status(first) == "SUCCEEDED"
    assert api.status(second) == "RUNNING"
    clock.advance(19.9)
    assert api.status(second) == "RUNNING"
    clock.advance(0.2)
    assert api.status(second) == "SUCCEEDED"
    assert api.get(second)["end_time"] == "2024-10-29 16:54:38"  # 25 + 20 s


def test_cancel_of_running_job_frees_slot_after_canceling(api, clock) -> None:
    first = api.create()["job_id"]
    second = api.create()["job_id"]
    clock.advance(10)  # first ran 5 s
    assert api.call("POST", f"/fine-tunes/{first}/cancel").output == {"status": "success"}
    job = api.get(first)
    assert job["status"] == "CANCELING"
    assert "usage" not in job and "end_time" not in job
    assert api.status(second) == "QUEUING"
    # a second cancel while CANCELING is harmless
    assert api.call("POST", f"/fine-tunes/{first}/cancel").status == 200
    clock.advance(3)
    job = api.get(first)
    assert job["status"] == "CANCELED"
    assert job["usage"] == 500  # 5 s * 100 tokens/s
    assert job["end_time"] == "2024-10-29 16:54:06"
    assert "finetuned_output" not in job
    assert api.status(second) == "RUNNING"  # took the slot when the first one ended


def test_cancel_of_pending_job_has_zero_usage(api, clock) -> None:
    jid = api.create()["job_id"]
    clock.advance(1)
    api.call("POST", f"/fine-tunes/{jid}/cancel")
    assert api.status(jid) == "CANCELING"
    clock.advance(3)
    job = api.get(jid)
    assert (job["status"], job["usage"]) == ("CANCELED", 0)
    # the slot was never taken: a new job runs right after its pending time
    other = api.create()["job_id"]
    clock.advance(5)
    assert api.status(other) == "RUNNING"


def test_cancel_terminal_job_is_unsupported(api, clock) -> None:
    jid = api.create()["job_id"]
    clock.advance(30)
    reply = api.call("POST", f"/fine-tunes/{jid}/cancel")
    assert reply.status == 400
    assert reply.json["code"] == "UnsupportedOperation"
    assert reply.json["message"] == (
        "The fine-tuning job cannot be canceled because it has already succeeded, failed, or been canceled."
    )
    assert api.status(jid) == "SUCCEEDED"


@pytest.mark.parametrize("advance, status", [(0, "PENDING"), (6, "RUNNING")])
def test_delete_non_terminal_job_is_unsupported(api, clock, advance, status) -> None:
    jid = api.create()["job_id"]
    clock.advance(advance)
    reply = api.call("DELETE", f"/fine-tunes/{jid}")
    assert reply.status == 400
    assert reply.json["code"] == "UnsupportedOperation"
    assert status in reply.json["message"]
    assert api.status(jid) == status


def test_delete_queuing_and_canceling_are_unsupported(api, clock) -> None:
    a = api.create()["job_id"]
    b = api.create()["job_id"]
    clock.advance(6)
    assert api.status(b) == "QUEUING"
    assert api.call("DELETE", f"/fine-tunes/{b}").status == 400
    api.call("POST", f"/fine-tunes/{a}/cancel")
    assert api.status(a) == "CANCELING"
    assert api.call("DELETE", f"/fine-tunes/{a}").status == 400


def test_delete_terminal_jobs_and_schedule_is_stable(api, clock) -> None:
    a = api.create()["job_id"]
    b = api.create()["job_id"]
    clock.advance(26)  # a done at 25, b running 25..45
    assert api.status(b) == "RUNNING"
    assert api.call("DELETE", f"/fine-tunes/{a}").status == 200
    assert api.status(b) == "RUNNING"  # deleting history does not move the running job
    c = api.create()["job_id"]
    clock.advance(10)  # t=36: c is ready but b still runs
    assert api.status(c) == "QUEUING"
    clock.advance(10)
    assert api.status(b) == "SUCCEEDED"
    assert api.status(c) == "RUNNING"


def test_failed_outcome_has_code_message_and_no_usage(clock, make_api) -> None:
    with EmulatorThread(
        clock=clock,
        pending_seconds=1,
        running_seconds=2,
        model_profiles={"bad-model": {"outcome": "FAILED", "code": "InvalidDataset", "message": "bad line 3"}},
    ) as emu:
        api = make_api(emu)
        bad = api.create(model="bad-model")["job_id"]
        clock.advance(3.5)
        good = api.create(model="good-model")["job_id"]
        clock.advance(10)
        job = api.get(bad)
        assert job["status"] == "FAILED"
        assert (job["code"], job["message"]) == ("InvalidDataset", "bad line 3")
        assert "usage" not in job and "finetuned_output" not in job
        assert "end_time" in job
        assert api.status(good) == "SUCCEEDED"
        logs = api.call("GET", f"/fine-tunes/{bad}/logs").output["logs"]
        assert "InvalidDataset" in logs[-1]
        assert "##FT_COMPLETE##" not in "".join(logs)


def test_plan_next_sets_outcome_and_durations(api, emu, clock) -> None:
    emu.plan_next({"outcome": "FAILED", "running_seconds": 1, "pending_seconds": 0})
    failing = api.create()["job_id"]
    normal = api.create()["job_id"]
    clock.advance(1.5)
    assert api.status(failing) == "FAILED"
    assert api.get(failing)["code"] == "TrainingFailed"
    assert api.status(normal) == "PENDING"


def test_logs_grow_page_and_complete(api, clock) -> None:
    jid = api.create(hyper_parameters={"n_epochs": 2})["job_id"]
    logs = api.call("GET", f"/fine-tunes/{jid}/logs").output
    assert logs["total"] == 1 and len(logs["logs"]) == 1
    clock.advance(5 + 7.5)  # 7 steps of 1 s
    out = api.call("GET", f"/fine-tunes/{jid}/logs").output
    assert out["total"] == 2 + 7
    assert len(out["logs"]) == out["total"]
    assert "'step': 7" in out["logs"][-1]
    clock.advance(3)
    assert api.call("GET", f"/fine-tunes/{jid}/logs").output["total"] == 2 + 10
    clock.advance(20)
    full = api.call("GET", f"/fine-tunes/{jid}/logs?line=1000").output
    assert full["total"] == 2 + 20 + 4
    assert full["logs"][-1].endswith("##FT_COMPLETE##")
    assert full["logs"][-2].endswith("training usage 2000")
    assert full["logs"][-3] == " Actual number of consumed tokens is 2000!"
    page = api.call("GET", f"/fine-tunes/{jid}/logs?offset=20&line=3").output
    assert page["total"] == full["total"]
    assert page["logs"] == full["logs"][20:23]
    default = api.call("GET", f"/fine-tunes/{jid}/logs?offset=1").output
    assert default["logs"] == full["logs"][1:]
    beyond = api.call("GET", f"/fine-tunes/{jid}/logs?offset=500").output
    assert beyond == {"total": full["total"], "logs": []}


@pytest.mark.parametrize("query", ["line=1001", "line=0", "offset=-1", "offset=x"])
def test_logs_bad_params(api, query) -> None:
    jid = api.create()["job_id"]
    reply = api.call("GET", f"/fine-tunes/{jid}/logs?{query}")
    assert reply.status == 400 and reply.json["code"] == "InvalidParameter"


def test_logs_line_default_is_100(clock, make_api) -> None:
    with EmulatorThread(clock=clock, pending_seconds=0, running_seconds=300, log_interval_seconds=1) as emu:
        api = make_api(emu)
        jid = api.create()["job_id"]
        clock.advance(400)
        out = api.call("GET", f"/fine-tunes/{jid}/logs").output
        assert out["total"] == 2 + 300 + 4
        assert len(out["logs"]) == 100
        assert len(api.call("GET", f"/fine-tunes/{jid}/logs?line=1000").output["logs"]) == 306


def test_quota_429(clock, make_api) -> None:
    with EmulatorThread(clock=clock, quota=3, pending_seconds=0, running_seconds=10) as emu:
        api = make_api(emu)
        ids = [api.create()["job_id"] for _ in range(3)]
        reply = api.call("POST", "/fine-tunes", {"model": "m", "training_file_ids": ["f"]})
        assert reply.status == 429
        assert reply.json["code"] == "Throttling"
        assert reply.json["message"] == "Only 3 fine-tune job in running or succeeded allowed per user."
        assert "Retry-After" not in reply.headers
        # a canceled job frees quota, a SUCCEEDED one does not
        clock.advance(10.5)
        assert api.status(ids[0]) == "SUCCEEDED"
        assert api.call("POST", "/fine-tunes", {"model": "m", "training_file_ids": ["f"]}).status == 429
        api.call("POST", f"/fine-tunes/{ids[2]}/cancel")
        assert api.call("POST", "/fine-tunes", {"model": "m", "training_file_ids": ["f"]}).status == 200
        assert api.call("POST", "/fine-tunes", {"model": "m", "training_file_ids": ["f"]}).status == 429
        assert api.call("DELETE", f"/fine-tunes/{ids[0]}").status == 200
        assert api.call("POST", "/fine-tunes", {"model": "m", "training_file_ids": ["f"]}).status == 200


def test_default_quota_is_20_with_seeded_succeeded_jobs(api, emu) -> None:
    emu.seed([{"model": "qwen3-14b", "status": "SUCCEEDED"} for _ in range(19)])
    api.create()
    reply = api.call("POST", "/fine-tunes", {"model": "m", "training_file_ids": ["f"]})
    assert reply.status == 429
    assert reply.json["message"] == "Only 20 fine-tune job in running or succeeded allowed per user."


SCENARIO = [
    {
        "job_id": "ft-202410291653-1c7f",
        "model": "qwen3-14b-ft-202401010000-aaaa",
        "base_model": "qwen3-14b",
        "status": "SUCCEEDED",
        "create_time": "2024-10-29 16:53:53",
        "end_time": "2024-10-29 17:11:26",
        "usage": 279808,
        "finetuned_output": "qwen3-14b-suffix-ft-202410291653-1c7f",
        "hyper_parameters": {"n_epochs": 3, "learning_rate": "1.6e-5"},
    },
    {"job_id": "ft-202410291700-0001", "model": "qwen3-8b", "status": "RUNNING", "pin": True},
    {"job_id": "ft-202410291700-0002", "model": "qwen3-8b", "status": "PAUSED"},
    {
        "job_id": "ft-202410291700-0003",
        "model": "qwen3-8b",
        "outcome": "FAILED",
        "failure_code": "DataError",
        "failure_message": "broken",
        "durations": {"pending_seconds": 0, "running_seconds": 1},
    },
    {
        "job_id": "ft-202410291700-0004",
        "model": "qwen3-8b",
        "outcome": "CANCELED",
        "usage": 77,
        "pending_seconds": 0,
        "running_seconds": 1,
        "canceling_seconds": 1,
    },
]


def test_seed_from_file_and_pinned_statuses(tmp_path, clock, make_api) -> None:
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps({"jobs": SCENARIO}))
    state = EmulatorState(clock=clock, api_key="k", pending_seconds=5, running_seconds=20)
    loaded = scenario.load(str(path))
    assert loaded.faults == []
    assert state.seed(loaded.jobs) == [j["job_id"] for j in SCENARIO]
    with EmulatorThread(state) as emu:
        api = make_api(emu)
        done = api.get("ft-202410291653-1c7f")
        assert done["status"] == "SUCCEEDED"
        assert done["model"] == "qwen3-14b-ft-202401010000-aaaa" and done["base_model"] == "qwen3-14b"
        assert done["usage"] == 279808
        assert done["end_time"] == "2024-10-29 17:11:26"
        assert done["create_time"] == "2024-10-29 16:53:53"
        assert done["finetuned_output"] == "qwen3-14b-suffix-ft-202410291653-1c7f"
        assert done["hyper_parameters"] == {"n_epochs": 3, "learning_rate": "1.6e-5"}
        clock.advance(3600)
        assert api.status("ft-202410291700-0001") == "RUNNING"  # pinned forever
        assert api.status("ft-202410291700-0002") == "PAUSED"  # unknown: always pinned
        assert api.status("ft-202410291700-0002") == "PAUSED"
        failed = api.get("ft-202410291700-0003")
        assert (failed["status"], failed["code"], failed["message"]) == ("FAILED", "DataError", "broken")
        canceled = api.get("ft-202410291700-0004")
        assert (canceled["status"], canceled["usage"]) == ("CANCELED", 77)
        # a pinned unknown status is not terminal: delete refused, cancel accepted
        assert api.call("DELETE", "/fine-tunes/ft-202410291700-0002").status == 400
        assert api.call("POST", "/fine-tunes/ft-202410291700-0002/cancel").status == 200
        assert api.status("ft-202410291700-0002") == "CANCELING"


def test_seed_rejects_unknown_keys(emu) -> None:
    with pytest.raises(ValueError, match="unknown seed keys"):
        emu.seed([{"model": "m", "stauts": "RUNNING"}])


def test_state_file_survives_restart(tmp_path, clock, make_api) -> None:
    state_file = tmp_path / "state.json"
    cfg = {
        "clock": clock,
        "pending_seconds": 5,
        "running_seconds": 20,
        "canceling_seconds": 3,
        "state_file": str(state_file),
    }
    with EmulatorThread(**cfg) as emu:
        api = make_api(emu)
        a = api.create(hyper_parameters={"n_epochs": 2})["job_id"]
        b = api.create()["job_id"]
        clock.advance(6)
        api.call("POST", f"/fine-tunes/{b}/cancel")
    assert state_file.exists()
    saved = json.loads(state_file.read_text())
    assert {j["job_id"] for j in saved["jobs"]} == {a, b}
    clock.advance(10)
    with EmulatorThread(**cfg) as emu2:
        api2 = make_api(emu2)
        assert api2.status(a) == "RUNNING"
        assert api2.get(a)["hyper_parameters"] == {"n_epochs": 2}
        assert api2.status(b) == "CANCELED"
        assert api2.call("GET", "/fine-tunes").output["total"] == 2
        clock.advance(10)
        assert api2.status(a) == "SUCCEEDED"


# ------------------------------------------------------------------------------------ seeded statuses
def test_a_seeded_running_job_ends_after_its_running_seconds(api, emu, clock) -> None:
    (jid,) = emu.seed([{"model": "qwen3-8b", "status": "RUNNING", "running_seconds": 30, "usage": 900}])
    assert api.status(jid) == "RUNNING"
    clock.advance(29.9)
    assert api.status(jid) == "RUNNING"
    clock.advance(0.2)
    job = api.get(jid)
    assert (job["status"], job["usage"]) == ("SUCCEEDED", 900)
    assert job["end_time"] == "2024-10-29 16:54:23"  # seed time + 30 s


def test_a_seeded_running_job_holds_the_training_slot(api, emu, clock) -> None:
    (seeded,) = emu.seed([{"model": "qwen3-8b", "status": "RUNNING"}])  # fixture: running 20 s
    created = api.create()["job_id"]
    clock.advance(6)  # pending (5 s) is over, but the seeded job trains until t=20
    assert api.status(created) == "QUEUING"
    clock.advance(14)
    assert (api.status(seeded), api.status(created)) == ("SUCCEEDED", "RUNNING")


def test_seeded_pending_queuing_and_canceling_jobs_follow_their_life_cycle(api, emu, clock) -> None:
    queuing, pending, canceling = emu.seed(
        [
            {"model": "m", "status": "QUEUING", "running_seconds": 4},
            {"model": "m", "status": "PENDING", "outcome": "FAILED", "pending_seconds": 2, "running_seconds": 4},
            {"model": "m", "status": "CANCELING", "canceling_seconds": 1, "usage": 12},
        ]
    )
    # the QUEUING job trains at once (the slot is free), the PENDING one waits its pending time
    assert [api.status(j) for j in (queuing, pending, canceling)] == ["RUNNING", "PENDING", "CANCELING"]
    clock.advance(1)
    assert api.get(canceling)["status"] == "CANCELED"
    assert api.get(canceling)["usage"] == 12
    clock.advance(1.5)  # t=2.5: the PENDING one is ready, the slot is busy until t=4
    assert [api.status(j) for j in (queuing, pending)] == ["RUNNING", "QUEUING"]
    clock.advance(1.5)
    assert [api.status(j) for j in (queuing, pending)] == ["SUCCEEDED", "RUNNING"]
    clock.advance(4)
    assert api.get(pending)["code"] == "TrainingFailed"


def test_seeded_terminal_jobs_are_over_at_seed_time(api, emu, clock) -> None:
    done, failed = emu.seed(
        [{"model": "m", "status": "SUCCEEDED"}, {"model": "m", "status": "FAILED", "end_time": "2024-10-29 16:00:00"}]
    )
    job = api.get(done)
    assert (job["status"], job["usage"]) == ("SUCCEEDED", 2000)  # 20 s at 100 tokens/s
    assert job["end_time"] == job["create_time"] == "2024-10-29 16:53:53"  # not in the future
    assert api.get(failed)["end_time"] == "2024-10-29 16:00:00"
    logs = api.call("GET", f"/fine-tunes/{done}/logs?line=1000").output["logs"]
    assert logs[-1].endswith("##FT_COMPLETE##")
    clock.advance(3600)
    assert [api.status(j) for j in (done, failed)] == ["SUCCEEDED", "FAILED"]


@pytest.mark.parametrize("status", ["RUNNING", "PENDING", "QUEUING", "PAUSED", "SUCCEEDED"])
def test_pinned_and_unknown_statuses_stay_and_take_no_slot(api, emu, clock, status) -> None:
    extra = {"pin": True} if status != "PAUSED" else {}
    (jid,) = emu.seed([{"model": "m", "status": status, **extra}])
    created = api.create()["job_id"]
    clock.advance(5)
    assert api.status(created) == "RUNNING"  # the pinned job did not hold the slot
    clock.advance(10_000)
    assert api.status(jid) == status


def test_pin_needs_a_status(emu) -> None:
    with pytest.raises(ValueError, match="pin"):
        emu.seed([{"model": "m", "pin": True}])


def test_a_plan_may_start_the_next_job_in_a_status(api, emu, clock) -> None:
    emu.plan_next({"status": "RUNNING", "running_seconds": 2}, {"status": "PAUSED"})
    running = api.create()
    paused = api.create()
    assert (running["status"], paused["status"]) == ("RUNNING", "PAUSED")
    clock.advance(2)
    assert (api.status(running["job_id"]), api.status(paused["job_id"])) == ("SUCCEEDED", "PAUSED")
