"""DashScopeFineTuneJobTrigger driven through ``run()`` against the emulator over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import importlib
import json
import time

import aiohttp
import pytest

from airflow_provider_dashscope._http import async_transport as _aio
from airflow_provider_dashscope.triggers.fine_tunes import DashScopeFineTuneJobTrigger
from tests._waiting import API_KEY, GET_JOB, FakeTime, PollClock, cancels, gets, seed

#: The documented event keys (``_waiting`` module docstring and issue #3).
EVENT_KEYS = {"status", "job_id", "job_status", "message", "job", "http_status", "request_id"}
JOB_SUMMARY_KEYS = {
    "job_id",
    "status",
    "finetuned_output",
    "usage",
    "model",
    "base_model",
    "create_time",
    "end_time",
    "code",
    "message",
    "request_id",
}


async def drain(trigger: DashScopeFineTuneJobTrigger) -> list[dict]:
    """Every event ``run()`` yields, as payloads."""
    return [event.payload async for event in trigger.run()]


def make_trigger(job_id: str = "ft-202410291653-1c7f", **kwargs) -> DashScopeFineTuneJobTrigger:
    kwargs.setdefault("poll_interval", 0.01)
    return DashScopeFineTuneJobTrigger(job_id=job_id, **kwargs)


# ------------------------------------------------------------------------------------------------------------------
# Serialization
# ------------------------------------------------------------------------------------------------------------------
class TestSerialize:
    def test_serialize_round_trips_exactly_through_its_kwargs(self):
        trigger = DashScopeFineTuneJobTrigger(
            job_id="ft-202410291653-1c7f",
            dashscope_conn_id="dashscope_intl",
            poll_interval=30,
            deadline=1_900_000_000.5,
            max_consecutive_failures=7,
            cancel_on_kill=True,
            started_at=1_800_000_000.25,
            last_status="RUNNING",
            log_training_progress=False,
        )
        classpath, kwargs = trigger.serialize()

        module_name, _, class_name = classpath.rpartition(".")
        cls = getattr(importlib.import_module(module_name), class_name)
        assert cls is DashScopeFineTuneJobTrigger
        assert cls(**kwargs).serialize() == (classpath, kwargs)
        assert kwargs == {
            "job_id": "ft-202410291653-1c7f",
            "dashscope_conn_id": "dashscope_intl",
            "poll_interval": 30.0,
            "deadline": 1_900_000_000.5,
            "max_consecutive_failures": 7,
            "cancel_on_kill": True,
            "started_at": 1_800_000_000.25,
            "last_status": "RUNNING",
            "log_training_progress": False,
        }

    def test_defaults_round_trip_and_a_fresh_trigger_keeps_its_start_time(self):
        classpath, kwargs = DashScopeFineTuneJobTrigger(job_id="ft-x").serialize()
        again = DashScopeFineTuneJobTrigger(**kwargs)
        time.sleep(0.01)
        assert again.serialize() == (classpath, kwargs)
        assert kwargs["deadline"] is None and kwargs["last_status"] is None and kwargs["cancel_on_kill"] is False

    def test_kwargs_survive_airflows_own_serialization_and_rebuild_the_same_trigger(self):
        trigger = DashScopeFineTuneJobTrigger(
            job_id="ft-1", poll_interval=3, deadline=1_900_000_000.5, last_status="RUNNING", cancel_on_kill=True
        )
        classpath, kwargs = trigger.serialize()
        try:  # Airflow 3.2+: what the task runner does with a deferral's trigger kwargs
            from airflow.sdk.serde import deserialize, serialize
        except ImportError:  # Airflow 2
            from airflow.serialization.serialized_objects import BaseSerialization

            serialize, deserialize = BaseSerialization.serialize, BaseSerialization.deserialize

        restored = deserialize(serialize(kwargs))
        assert restored == kwargs
        assert DashScopeFineTuneJobTrigger(**restored).serialize() == (classpath, kwargs)

    def test_kwargs_are_json_primitives_and_never_hold_the_key(self, emu):
        seed(emu, "ft-secret-check", status="RUNNING")
        trigger = make_trigger("ft-secret-check", deadline=time.time() + 60, last_status="RUNNING")
        _, kwargs = trigger.serialize()

        assert all(v is None or isinstance(v, (str, int, float, bool)) for v in kwargs.values()), kwargs
        assert json.loads(json.dumps(kwargs)) == kwargs
        assert API_KEY not in json.dumps(kwargs)
        assert API_KEY not in repr(trigger)

    async def test_events_and_logs_of_a_run_never_hold_the_key(self, poll_emu, logs):
        seed(poll_emu, "ft-secret-run", running_seconds=2)
        events = await drain(make_trigger("ft-secret-run"))

        assert events[0]["status"] == "success"
        assert API_KEY not in json.dumps(events)
        assert not [line for line in logs.lines() if API_KEY in line]

    @pytest.mark.parametrize(
        ("kwargs", "field"),
        [
            ({"job_id": ""}, "job_id"),
            ({"job_id": "../deployments"}, "job_id"),
            ({"job_id": "ft-1", "poll_interval": 0}, "poll_interval"),
            ({"job_id": "ft-1", "poll_interval": -1}, "poll_interval"),
            ({"job_id": "ft-1", "max_consecutive_failures": 0}, "max_consecutive_failures"),
        ],
    )
    def test_bad_arguments_are_refused_when_the_trigger_is_built(self, kwargs, field):
        with pytest.raises(ValueError, match=field):
            DashScopeFineTuneJobTrigger(**kwargs)


# ------------------------------------------------------------------------------------------------------------------
# Terminal paths: exactly one event with the documented keys
# ------------------------------------------------------------------------------------------------------------------
class TestTerminalPaths:
    async def test_success_event_carries_finetuned_output_and_usage(self, poll_emu):
        seed(poll_emu, "ft-ok", running_seconds=3, usage=4321, finetuned_output="qwen3-14b-ft-gate")
        events = await drain(make_trigger("ft-ok"))

        assert len(events) == 1
        event = events[0]
        assert set(event) == EVENT_KEYS
        assert set(event["job"]) == JOB_SUMMARY_KEYS
        assert event["status"] == "success"
        assert event["job_id"] == "ft-ok"
        assert event["job_status"] == "SUCCEEDED"
        assert event["job"]["finetuned_output"] == "qwen3-14b-ft-gate"
        assert event["job"]["usage"] == 4321
        assert event["job"]["model"] == "qwen3-14b"
        assert event["job"]["end_time"] is not None
        assert event["http_status"] is None
        assert event["request_id"]
        assert "qwen3-14b-ft-gate" in event["message"]
        # RUNNING on polls 1-2, SUCCEEDED on poll 3: the trigger stopped at the first terminal answer.
        assert gets(poll_emu, "ft-ok") == 3
        assert json.loads(json.dumps(event)) == event  # natively JSON-serializable payload

    async def test_failed_event_carries_the_jobs_code_and_message(self, poll_emu):
        seed(poll_emu, "ft-bad", running_seconds=2, outcome="FAILED", code="DataError", message="bad row 17")
        events = await drain(make_trigger("ft-bad"))

        assert len(events) == 1
        event = events[0]
        assert set(event) == EVENT_KEYS
        assert event["status"] == "failed"
        assert event["job_status"] == "FAILED"
        assert event["job"]["code"] == "DataError"
        assert event["job"]["message"] == "bad row 17"
        assert event["job"]["finetuned_output"] is None
        assert "FAILED" in event["message"] and "DataError" in event["message"] and "bad row 17" in event["message"]
        assert event["request_id"] and event["request_id"] in event["message"]

    async def test_a_cancelled_job_gives_a_cancelled_event(self, poll_emu):
        seed(poll_emu, "ft-cancelled", running_seconds=2, outcome="CANCELED")
        events = await drain(make_trigger("ft-cancelled"))

        assert len(events) == 1
        assert set(events[0]) == EVENT_KEYS
        assert events[0]["status"] == "cancelled"
        assert events[0]["job_status"] == "CANCELED"
        assert "CANCELED" in events[0]["message"]

    async def test_canceling_is_not_terminal_the_wait_goes_on_until_canceled(self, poll_emu):
        seed(poll_emu, "ft-slow-cancel", running_seconds=1, outcome="CANCELED", canceling_seconds=3)
        events = await drain(make_trigger("ft-slow-cancel"))

        assert [e["job_status"] for e in events] == ["CANCELED"]
        assert gets(poll_emu, "ft-slow-cancel") == 4  # CANCELING on polls 1-3 did not end the wait

    async def test_not_found_ends_the_wait_at_once_with_one_error_event(self, emu):
        events = await asyncio.wait_for(drain(make_trigger("ft-202401010000-dead", poll_interval=30)), 30)

        assert len(events) == 1
        event = events[0]
        assert set(event) == EVENT_KEYS
        assert event["status"] == "error"
        assert event["http_status"] == 404
        assert event["job_id"] == "ft-202401010000-dead"
        assert event["job"] is None
        assert event["request_id"]
        assert gets(emu) == 1


# ------------------------------------------------------------------------------------------------------------------
# Failures while polling
# ------------------------------------------------------------------------------------------------------------------
class TestPollFailures:
    @pytest.mark.parametrize(
        ("fault", "failed_polls"),
        [
            ({"kind": "status", "status": 503}, {2}),
            ({"kind": "status", "status": 500}, {2}),
            ({"kind": "status", "status": 429}, {2}),
            ({"kind": "html", "status": 502}, {2}),
            ({"kind": "malformed_json"}, {2}),
            # aiohttp itself may resend a GET whose kept-alive connection was reset, so 1 or 2 polls fail
            ({"kind": "drop"}, {1, 2}),
        ],
        ids=["503", "500", "429", "html-502", "malformed-json", "connection-reset"],
    )
    async def test_transient_failures_are_tolerated_then_the_wait_succeeds(self, poll_emu, logs, fault, failed_polls):
        seed(poll_emu, "ft-blip", running_seconds=3, usage=99)
        poll_emu.add_fault(route="GET " + GET_JOB, times=2, **fault)
        events = await drain(make_trigger("ft-blip", max_consecutive_failures=3))

        assert [e["status"] for e in events] == ["success"]
        assert events[0]["job"]["usage"] == 99
        assert gets(poll_emu, "ft-blip") == 3  # two failed requests, the third one answered SUCCEEDED
        warnings = [line for line in logs.lines("warning") if "ft-blip" in line and "tolerated" in line]
        assert len(warnings) in failed_polls

    async def test_a_connection_reset_on_every_poll_exhausts_the_budget(self, emu):
        seed(emu, "ft-reset")
        emu.add_fault(route="GET " + GET_JOB, kind="drop", times=-1)
        events = await drain(make_trigger("ft-reset", max_consecutive_failures=3))

        assert [e["status"] for e in events] == ["error"]
        assert events[0]["http_status"] is None
        assert "ft-reset" in events[0]["message"]
        assert 3 <= gets(emu, "ft-reset") <= 6

    async def test_the_failure_budget_counts_consecutive_failures_only(self, poll_emu):
        seed(poll_emu, "ft-flaky", running_seconds=6)
        # failed, failed, answered (RUNNING), failed, failed, answered (SUCCEEDED): never 3 failures in a row.
        poll_emu.add_fault(route="GET " + GET_JOB, status=503, times=2)
        poll_emu.add_fault(route="GET " + GET_JOB, kind="slow", delay=0.001, times=1)
        poll_emu.add_fault(route="GET " + GET_JOB, status=503, times=2)
        events = await drain(make_trigger("ft-flaky", max_consecutive_failures=3))

        assert [e["status"] for e in events] == ["success"]
        assert gets(poll_emu, "ft-flaky") == 6

    @pytest.mark.parametrize("budget", [1, 3])
    async def test_an_exhausted_failure_budget_gives_an_error_event_after_exactly_that_many_polls(
        self, emu, logs, budget
    ):
        seed(emu, "ft-down")
        emu.add_fault(route="GET " + GET_JOB, status=503, times=-1)
        events = await drain(make_trigger("ft-down", max_consecutive_failures=budget))

        assert len(events) == 1
        assert events[0]["status"] == "error"
        assert events[0]["http_status"] == 503
        assert events[0]["job_id"] == "ft-down"
        assert gets(emu, "ft-down") == budget
        assert any("giving up" in line and "ft-down" in line for line in logs.lines("error"))

    async def test_an_exhausted_budget_keeps_the_last_job_seen(self, poll_emu):
        seed(poll_emu, "ft-then-down", running_seconds=100)
        trigger = make_trigger("ft-then-down", max_consecutive_failures=2)
        task = asyncio.ensure_future(drain(trigger))
        while gets(poll_emu, "ft-then-down") < 2:
            await asyncio.sleep(0.005)
        poll_emu.add_fault(route="GET " + GET_JOB, status=500, times=-1)
        events = await asyncio.wait_for(task, 10)

        assert events[0]["status"] == "error"
        assert events[0]["http_status"] == 500
        assert events[0]["job"]["status"] == "RUNNING"

    async def test_a_wrong_key_ends_the_wait_at_once(self, make_emulator):
        emu = make_emulator(conn_key="sk-wrong-key")
        seed(emu, "ft-auth")
        events = await drain(make_trigger("ft-auth", poll_interval=30, max_consecutive_failures=5))

        assert len(events) == 1
        assert events[0]["status"] == "error"
        assert events[0]["http_status"] == 401
        assert gets(emu, "ft-auth") == 1
        assert "sk-wrong-key" not in json.dumps(events)

    async def test_a_missing_connection_ends_the_wait_with_an_error_that_says_how_to_fix_it(self, emu, monkeypatch):
        monkeypatch.delenv("DASHSCOPE_API_KEY", raising=False)
        seed(emu, "ft-noconn")
        events = await drain(make_trigger("ft-noconn", dashscope_conn_id="dashscope_nowhere", poll_interval=30))

        assert [e["status"] for e in events] == ["error"]
        assert "dashscope_nowhere" in events[0]["message"]
        assert "DASHSCOPE_API_KEY" in events[0]["message"]
        assert emu.request_count() == 0

    async def test_retry_after_of_a_throttled_poll_is_honoured(self, make_emulator):
        emu = make_emulator(running_seconds=0)
        seed(emu, "ft-throttled")
        emu.add_fault(route="GET " + GET_JOB, status=429, retry_after="5", times=1)
        fake = FakeTime()
        trigger = fake.drive(make_trigger("ft-throttled", poll_interval=0.01))
        events = await drain(trigger)

        # The server asked for 5 s: the next poll came 5 s later, not after 10 ms.
        assert [e["status"] for e in events] == ["success"]
        assert gets(emu, "ft-throttled") == 2
        assert fake.sleeps == [5.0]


# ------------------------------------------------------------------------------------------------------------------
# Deadline and statuses the provider does not know
# ------------------------------------------------------------------------------------------------------------------
class TestDeadline:
    async def test_a_deadline_in_the_past_gives_a_timeout_event_without_sleeping(self, emu):
        seed(emu, "ft-late")
        fake = FakeTime()
        trigger = fake.drive(make_trigger("ft-late", poll_interval=60, deadline=fake.now - 1, last_status="RUNNING"))
        events = await drain(trigger)

        assert fake.sleeps == []
        assert gets(emu) == 0
        assert len(events) == 1
        assert set(events[0]) == EVENT_KEYS
        assert events[0]["status"] == "timeout"
        assert events[0]["job_id"] == "ft-late"
        assert "Timed out" in events[0]["message"]

    async def test_reaching_the_deadline_while_running_gives_a_timeout_event(self, emu):
        seed(emu, "ft-long")  # RUNNING for an hour
        fake = FakeTime()
        trigger = fake.drive(make_trigger("ft-long", poll_interval=60, deadline=fake.now + 0.5))
        events = await drain(trigger)

        assert fake.sleeps == [pytest.approx(0.5)], "the sleep is cut at the deadline, not a whole poll interval"
        assert gets(emu, "ft-long") == 1
        assert len(events) == 1
        assert events[0]["status"] == "timeout"
        assert events[0]["job_status"] == "RUNNING"
        assert events[0]["job"]["status"] == "RUNNING"
        assert "still RUNNING" in events[0]["message"]

    async def test_an_unknown_status_is_not_terminal(self, emu, logs):
        seed(emu, "ft-paused", status="PAUSED")
        events = await drain(make_trigger("ft-paused", poll_interval=0.05, deadline=time.time() + 0.5))

        assert [e["status"] for e in events] == ["timeout"]
        assert events[0]["job_status"] == "PAUSED"
        assert gets(emu, "ft-paused") >= 3
        lines = [line for line in logs.lines("info") if "ft-paused" in line and "PAUSED" in line]
        assert lines == ["Fine-tune job ft-paused is PAUSED"]  # logged once, not once per poll


# ------------------------------------------------------------------------------------------------------------------
# Logging and jitter
# ------------------------------------------------------------------------------------------------------------------
class TestLogsAndSchedule:
    async def test_one_info_line_per_status_change_not_per_poll(self, make_emulator, logs):
        emu = make_emulator(PollClock(step=5.0))
        seed(emu, "ft-logged", pending_seconds=10, running_seconds=30)
        events = await drain(make_trigger("ft-logged", poll_interval=0.05))

        assert events[0]["status"] == "success"
        assert gets(emu, "ft-logged") == 8  # PENDING, RUNNING x6, SUCCEEDED
        # Status lines only: the training-progress lines are tested in test_progress.py.
        info = [line for line in logs.lines("info") if "ft-logged" in line and "training" not in line]
        changes = [line for line in info if "->" in line]
        assert [c.split(": ", 1)[1].split(" after")[0] for c in changes] == [
            "PENDING -> RUNNING",
            "RUNNING -> SUCCEEDED",
        ]
        assert all(" after " in c and c.endswith(" s") for c in changes)
        assert [line for line in info if line.endswith(" is PENDING")] == ["Fine-tune job ft-logged is PENDING"]
        assert len(info) == len(changes) + 2  # the first status seen, and one line when the wait starts

    async def test_the_status_seen_before_deferring_is_not_announced_again(self, poll_emu, logs):
        seed(poll_emu, "ft-known", running_seconds=4)
        events = await drain(make_trigger("ft-known", last_status="RUNNING"))

        assert events[0]["status"] == "success"
        changes = [line for line in logs.lines("info") if "ft-known" in line and "->" in line]
        assert len(changes) == 1 and "RUNNING -> SUCCEEDED" in changes[0]


# ------------------------------------------------------------------------------------------------------------------
# Sharing one HTTP session
# ------------------------------------------------------------------------------------------------------------------
class TestSharedSession:
    async def test_twenty_triggers_on_one_loop_share_one_session(self, make_emulator, fake_clock, monkeypatch):
        emu = make_emulator(fake_clock, running_seconds=50)
        job_ids = [f"ft-shared-{i:02d}" for i in range(20)]
        for job_id in job_ids:
            seed(emu, job_id, usage=1000)

        created_sessions = []
        original_init = aiohttp.ClientSession.__init__

        def counting_init(self, *args, **kwargs):
            created_sessions.append(self)
            original_init(self, *args, **kwargs)

        monkeypatch.setattr(aiohttp.ClientSession, "__init__", counting_init)
        assert _aio.open_session_count() == 0
        seen_counts: set[int] = set()

        async def release_jobs_after_two_polls_each():
            while not all(gets(emu, job_id) >= 2 for job_id in job_ids):
                seen_counts.add(_aio.open_session_count())
                await asyncio.sleep(0.005)
            seen_counts.add(_aio.open_session_count())
            fake_clock.advance(50 * len(job_ids) + 1)  # every job has now run its slot and SUCCEEDED

        triggers = [make_trigger(job_id, poll_interval=0.02) for job_id in job_ids]
        results = await asyncio.wait_for(
            asyncio.gather(*(drain(t) for t in triggers), release_jobs_after_two_polls_each()), 30
        )

        events = [r[0] for r in results[:-1]]
        assert [e["status"] for e in events] == ["success"] * 20
        assert [e["job_id"] for e in events] == job_ids
        assert all(e["job"]["usage"] == 1000 for e in events)
        assert seen_counts == {1}
        assert len(created_sessions) == 1
        assert _aio.open_session_count() == 0
        assert created_sessions[0].closed
        assert all(gets(emu, job_id) >= 3 for job_id in job_ids)
        assert gets(emu) == sum(gets(emu, job_id) for job_id in job_ids)

    async def test_slow_answers_never_block_the_event_loop(self, emu):
        job_ids = [f"ft-slow-{i}" for i in range(5)]
        for job_id in job_ids:
            seed(emu, job_id, running_seconds=0)
        emu.add_fault(route="GET " + GET_JOB, kind="slow", delay=0.5, times=-1)
        seen_at_first_answer: list[int] = []

        async def wait_on(job_id: str) -> list[dict]:
            events = await drain(make_trigger(job_id))
            seen_at_first_answer.append(gets(emu))
            return events

        results = await asyncio.gather(*(wait_on(job_id) for job_id in job_ids))

        assert [r[0]["status"] for r in results] == ["success"] * 5
        # Every request was sent before the first slow answer came back: none waited for another on the loop.
        assert seen_at_first_answer[0] == 5

    async def test_a_wait_cancelled_by_the_triggerer_releases_the_session(self, emu):
        seed(emu, "ft-restart")
        task = asyncio.ensure_future(drain(make_trigger("ft-restart", poll_interval=0.02)))
        while gets(emu, "ft-restart") < 2:
            await asyncio.sleep(0.005)
        assert _aio.open_session_count() == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

        assert _aio.open_session_count() == 0
        assert cancels(emu) == 0  # a triggerer restart must never cancel the job
        assert emu.state.job_status("ft-restart") == "RUNNING"


# ------------------------------------------------------------------------------------------------------------------
# on_kill and cleanup
# ------------------------------------------------------------------------------------------------------------------
class TestKillAndCleanup:
    async def test_on_kill_cancels_the_job_when_cancel_on_kill(self, make_emulator):
        emu = make_emulator(canceling_seconds=600)
        seed(emu, "ft-kill")
        await make_trigger("ft-kill", cancel_on_kill=True).on_kill()

        assert cancels(emu, "ft-kill") == 1
        assert emu.state.job_status("ft-kill") == "CANCELING"
        assert _aio.open_session_count() == 0

    async def test_on_kill_does_nothing_without_cancel_on_kill(self, emu):
        seed(emu, "ft-keep")
        await make_trigger("ft-keep", cancel_on_kill=False).on_kill()

        assert cancels(emu) == 0
        assert emu.request_count() == 0
        assert emu.state.job_status("ft-keep") == "RUNNING"

    async def test_on_kill_of_a_job_that_already_ended_is_quiet(self, emu):
        seed(emu, "ft-done", status="SUCCEEDED")
        await make_trigger("ft-done", cancel_on_kill=True).on_kill()  # 400 UnsupportedOperation is swallowed

        assert cancels(emu, "ft-done") == 1
        assert emu.state.job_status("ft-done") == "SUCCEEDED"

    async def test_killing_a_running_wait_cancels_the_job_and_the_wait_ends_cancelled(self, emu):
        seed(emu, "ft-kill-live")
        trigger = make_trigger("ft-kill-live", poll_interval=0.02, cancel_on_kill=True)
        task = asyncio.ensure_future(drain(trigger))
        while gets(emu, "ft-kill-live") < 2:
            await asyncio.sleep(0.005)
        await trigger.on_kill()
        events = await asyncio.wait_for(task, 10)

        assert cancels(emu, "ft-kill-live") == 1
        assert [e["status"] for e in events] == ["cancelled"]
        assert events[0]["job_status"] == "CANCELED"

    async def test_a_user_kill_as_the_triggerer_does_it_cancels_the_job_and_leaves_no_session_open(self, make_emulator):
        # Airflow 3.3's trigger runner: the run() task is cancelled first, then on_kill() is awaited, then cleanup().
        emu = make_emulator(canceling_seconds=600)
        seed(emu, "ft-user-kill")
        trigger = make_trigger("ft-user-kill", cancel_on_kill=True)
        task = asyncio.ensure_future(drain(trigger))
        while gets(emu, "ft-user-kill") < 2:
            await asyncio.sleep(0.005)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await trigger.on_kill()
        await trigger.cleanup()

        assert cancels(emu, "ft-user-kill") == 1
        assert emu.state.job_status("ft-user-kill") == "CANCELING"
        assert _aio.open_session_count() == 0

    @pytest.mark.parametrize("cancel_on_kill", [True, False])
    async def test_cleanup_never_cancels(self, emu, cancel_on_kill):
        seed(emu, "ft-cleanup")
        trigger = make_trigger("ft-cleanup", cancel_on_kill=cancel_on_kill)
        await trigger.cleanup()

        assert cancels(emu) == 0
        assert emu.state.job_status("ft-cleanup") == "RUNNING"
