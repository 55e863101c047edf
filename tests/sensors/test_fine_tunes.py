"""DashScopeFineTuneJobSensor: parse-time checks, deferral, poke mode and every way a wait can end."""

from __future__ import annotations

import os
import re
import time
from datetime import timedelta

import pytest
from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
    PokeReturnValue,
    TaskDeferred,
)

from airflow_provider_dashscope.exceptions import (
    DashScopeConfigError,
    DashScopeError,
    FineTuneJobCancelledError,
    FineTuneJobFailedError,
    FineTuneJobNotFoundError,
)
from airflow_provider_dashscope.sensors.fine_tunes import DashScopeFineTuneJobSensor
from airflow_provider_dashscope.triggers.fine_tunes import DashScopeFineTuneJobTrigger
from airflow_provider_dashscope.wait.fine_tunes import RESULT_KEYS
from tests._waiting import GET_JOB, FakeTime, cancels, event_from_trigger, gets, make_context, seed

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def sensor(job_id: str = "ft-202410291653-1c7f", **kwargs) -> DashScopeFineTuneJobSensor:
    kwargs.setdefault("task_id", "wait_for_finetune")
    kwargs.setdefault("poll_interval", 0.02)
    return DashScopeFineTuneJobSensor(job_id=job_id, **kwargs)


# ------------------------------------------------------------------------------------------------------------------
# Parse time
# ------------------------------------------------------------------------------------------------------------------
class TestParseTime:
    @pytest.mark.parametrize(
        ("kwargs", "expected"),
        [
            ({"job_id": ""}, r"job_id is empty"),
            ({"job_id": None}, r"job_id must be a string, got NoneType None"),
            ({"job_id": 123}, r"job_id must be a string, got int 123"),
            ({"job_id": "../deployments"}, r"job_id '\.\./deployments' is not a valid job id"),
            ({"job_id": "a b"}, r"job_id 'a b' is not a valid job id"),
            ({"job_id": "None"}, r"job_id is 'None', the text of a missing value, not an id; pass the id"),
            ({"job_id": "null"}, r"job_id is 'null', the text of a missing value"),
            ({"poll_interval": 0}, r"poll_interval must be > 0 seconds, got 0"),
            ({"poll_interval": -1}, r"poll_interval must be > 0 seconds, got -1"),
            ({"timeout": -5}, r"timeout must be >= 0 seconds, got -5"),
            ({"max_consecutive_failures": 0}, r"max_consecutive_failures must be an integer >= 1"),
        ],
        ids=[
            "empty",
            "none",
            "int",
            "path",
            "space",
            "none-text",
            "null-text",
            "poll-0",
            "poll-neg",
            "timeout-neg",
            "budget-0",
        ],
    )
    def test_bad_arguments_fail_at_parse_with_a_message_naming_the_field(self, kwargs, expected):
        kwargs = {"job_id": "ft-202410291653-1c7f", **kwargs}
        with pytest.raises(DashScopeConfigError, match=expected) as err:
            DashScopeFineTuneJobSensor(task_id="wait", **kwargs)
        assert isinstance(err.value, ValueError)

    def test_a_templated_job_id_is_accepted_at_parse(self):
        assert sensor("{{ params.job_id }}").job_id == "{{ params.job_id }}"
        assert sensor("{% if params.x %}ft-a{% endif %}").job_id.startswith("{%")

    def test_a_template_that_renders_to_a_bad_id_fails_in_execute_before_any_request(self, emu):
        task = sensor("{{ params.job_id }}", deferrable=True)
        task.render_template_fields(make_context(params={"job_id": ""}))
        with pytest.raises(DashScopeConfigError, match="job_id is empty"):
            task.execute(make_context())
        assert emu.request_count() == 0

    def test_template_fields_and_rendering_from_params(self):
        task = sensor("{{ params.job_id }}", dashscope_conn_id="{{ params.conn }}")
        assert tuple(task.template_fields) == ("job_id", "dashscope_conn_id")

        task.render_template_fields(make_context(params={"job_id": "ft-202411251000-abcd", "conn": "ds_eu"}))
        assert task.job_id == "ft-202411251000-abcd"
        assert task.dashscope_conn_id == "ds_eu"

    def test_poll_interval_is_the_poke_interval_and_timedeltas_are_seconds(self):
        task = sensor(poll_interval=timedelta(seconds=45), timeout=timedelta(hours=2))
        assert task.poll_interval == 45.0
        assert task.poke_interval == 45.0
        assert task.timeout == 7200.0


# ------------------------------------------------------------------------------------------------------------------
# Deferrable mode
# ------------------------------------------------------------------------------------------------------------------
class TestDeferrable:
    def test_execute_defers_with_a_trigger_that_carries_the_wait(self, emu, monkeypatch):
        monkeypatch.setenv("AIRFLOW_CONN_DS_SECOND", os.environ["AIRFLOW_CONN_DASHSCOPE_DEFAULT"])
        seed(emu, "ft-running")
        task = sensor(
            "ft-running",
            dashscope_conn_id="ds_second",
            deferrable=True,
            poll_interval=7,
            timeout=120,
            max_consecutive_failures=4,
        )
        before = time.time()
        with pytest.raises(TaskDeferred) as deferred:
            task.execute(make_context())

        trigger = deferred.value.trigger
        assert isinstance(trigger, DashScopeFineTuneJobTrigger)
        assert deferred.value.method_name == "execute_complete"
        assert deferred.value.timeout is None  # the deadline travels in the trigger, see reference §2.3
        assert trigger.job_id == "ft-running"
        assert trigger.dashscope_conn_id == "ds_second"
        assert trigger.poll_interval == 7.0
        assert trigger.max_consecutive_failures == 4
        assert before + 120 <= trigger.deadline <= time.time() + 120
        assert trigger.cancel_on_kill is False  # a sensor never cancels a job it does not own
        assert trigger.last_status == "RUNNING"
        assert gets(emu, "ft-running") == 1  # checked once before deferring

    def test_an_execution_timeout_shorter_than_timeout_bounds_the_deadline(self, emu):
        seed(emu, "ft-running")
        task = sensor("ft-running", deferrable=True, timeout=3600, execution_timeout=timedelta(seconds=30))
        with pytest.raises(TaskDeferred) as deferred:
            task.execute(make_context())
        assert deferred.value.trigger.deadline == pytest.approx(time.time() + 30, abs=5)

    def test_an_already_succeeded_job_finishes_at_once_without_deferring(self, emu):
        seed(emu, "ft-done", running_seconds=0, usage=512, finetuned_output="qwen3-14b-ft-done")
        result = sensor("ft-done", deferrable=True).execute(make_context())

        job = emu.state.get_job("ft-done")
        assert set(result) == set(RESULT_KEYS)
        assert result["status"] == "SUCCEEDED"
        assert result["finetuned_output"] == job["finetuned_output"] == "qwen3-14b-ft-done"
        assert result["usage"] == job["usage"] == 512
        assert result["model"] == "qwen3-14b"
        assert result["end_time"] is not None
        assert gets(emu) == 1

    @pytest.mark.parametrize("deferrable", [True, False], ids=["deferrable", "poke"])
    def test_a_failed_job_fails_the_task_without_retries_and_says_why(self, emu, deferrable):
        seed(emu, "ft-bad", running_seconds=0, outcome="FAILED", code="DataError", message="line 3 is not JSON")
        with pytest.raises(FineTuneJobFailedError) as err:
            sensor("ft-bad", deferrable=deferrable).execute(make_context())

        assert isinstance(err.value, AirflowFailException)
        text = str(err.value)
        assert "ft-bad" in text and "FAILED" in text
        assert "code=DataError" in text and "message=line 3 is not JSON" in text
        assert re.search(rf"request_id={UUID}", text), text
        assert err.value.job_status == "FAILED"

    @pytest.mark.parametrize("deferrable", [True, False], ids=["deferrable", "poke"])
    def test_a_failed_job_logs_the_end_of_its_training_log(self, emu, deferrable, logs):
        seed(emu, "ft-bad-log", running_seconds=0, outcome="FAILED", code="DataError", message="bad line")
        with pytest.raises(FineTuneJobFailedError):
            sensor("ft-bad-log", deferrable=deferrable).execute(make_context())

        errors = [
            line for line in logs.lines("error") if "Last lines of the training log of fine-tune job ft-bad-log" in line
        ]
        assert len(errors) == 1, logs.lines()
        assert emu.request_count("GET", "GET /fine-tunes/{job_id}/logs", job_id="ft-bad-log") == 2

    @pytest.mark.parametrize("deferrable", [True, False], ids=["deferrable", "poke"])
    def test_a_cancelled_job_fails_the_task_without_retries(self, emu, deferrable):
        seed(emu, "ft-cancelled", running_seconds=0, outcome="CANCELED")
        with pytest.raises(FineTuneJobCancelledError) as err:
            sensor("ft-cancelled", deferrable=deferrable).execute(make_context())

        assert isinstance(err.value, AirflowFailException)
        assert "CANCELED" in str(err.value)
        assert re.search(rf"request_id={UUID}", str(err.value))

    @pytest.mark.parametrize("deferrable", [True, False], ids=["deferrable", "poke"])
    @pytest.mark.parametrize("outcome", ["FAILED", "CANCELED"])
    def test_soft_fail_turns_a_failed_or_cancelled_job_into_a_skip(self, emu, deferrable, outcome):
        seed(emu, "ft-soft", running_seconds=0, outcome=outcome)
        with pytest.raises(AirflowSkipException, match=outcome):
            sensor("ft-soft", deferrable=deferrable, soft_fail=True).execute(make_context())

    @pytest.mark.parametrize("deferrable", [True, False], ids=["deferrable", "poke"])
    def test_an_unknown_job_fails_at_once(self, emu, deferrable):
        with pytest.raises(FineTuneJobNotFoundError) as err:
            sensor("ft-202401010000-dead", deferrable=deferrable, poll_interval=30).execute(make_context())

        assert isinstance(err.value, AirflowFailException)
        assert "ft-202401010000-dead" in str(err.value) and "HTTP 404" in str(err.value)
        assert re.search(rf"request_id={UUID}", str(err.value))
        assert gets(emu) == 1  # a 404 is never retried

    @pytest.mark.parametrize(
        ("retries", "try_number", "soft_fail", "expected"),
        [
            (3, 1, False, "without its 3 remaining retries"),
            (3, 3, False, "without its 1 remaining retry:"),
            (3, 4, False, None),  # the last try: nothing is skipped
            (0, 1, False, None),
            (3, 1, True, None),  # a skip, not a failure
        ],
    )
    def test_a_final_failure_names_the_retries_it_skips_once(self, emu, logs, retries, try_number, soft_fail, expected):
        from tests._waiting import FakeTI

        seed(emu, "ft-final", running_seconds=0, outcome="FAILED")
        with pytest.raises((FineTuneJobFailedError, AirflowSkipException)):
            sensor("ft-final", retries=retries, soft_fail=soft_fail).execute(
                make_context(FakeTI(try_number=try_number))
            )

        said = [line for line in logs.lines("warning") if "so the task fails without" in line]
        if expected is None:
            assert said == []
        else:
            assert len(said) == 1 and expected in said[0], said
            assert said[0].startswith("Fine-tune job ft-final ended FAILED, so the task fails without")
            assert said[0].endswith("retrying cannot change a fine-tune job that has ended")

    def test_the_quoted_training_log_names_the_zone_of_its_times(self, emu, logs, dashscope_conn):
        dashscope_conn("dashscope_utc", host=emu.base_url, password=emu.api_key, time_zone="UTC")
        seed(emu, "ft-zone", running_seconds=0, outcome="FAILED")
        with pytest.raises(FineTuneJobFailedError):
            sensor("ft-zone", dashscope_conn_id="dashscope_utc").execute(make_context())
        (header,) = [line for line in logs.lines("error") if "Last lines of the training log" in line]
        assert header.startswith(
            "Last lines of the training log of fine-tune job ft-zone (its times are the API's clock, UTC):"
        )


# ------------------------------------------------------------------------------------------------------------------
# execute_complete: every event the trigger can fire, plus bad events
# ------------------------------------------------------------------------------------------------------------------
class TestExecuteComplete:
    def test_success_event_returns_the_small_result(self, emu):
        event = event_from_trigger(emu, "success", "ft-ok")
        result = sensor("ft-ok").execute_complete(make_context(), event)

        assert result == {key: event["job"][key] for key in RESULT_KEYS}
        assert result["finetuned_output"] == "qwen3-14b-ft-ok"
        assert result["usage"] == 2048

    @pytest.mark.parametrize(
        ("kind", "error", "fragment"),
        [
            ("failed", FineTuneJobFailedError, "code=DataError"),
            ("cancelled", FineTuneJobCancelledError, "CANCELED"),
            ("not_found", FineTuneJobNotFoundError, "HTTP 404"),
            ("timeout", AirflowSensorTimeout, "still RUNNING"),
        ],
    )
    def test_events_that_end_the_wait_badly_fail_without_retries(self, emu, kind, error, fragment):
        event = event_from_trigger(emu, kind, "ft-end")
        with pytest.raises(error, match=fragment) as err:
            sensor("ft-end").execute_complete(make_context(), event)
        assert isinstance(err.value, (AirflowFailException, AirflowSensorTimeout))
        assert "ft-end" in str(err.value)

    def test_an_error_event_fails_the_task_so_that_it_may_be_retried(self, emu):
        event = event_from_trigger(emu, "error", "ft-flaky")
        assert event["http_status"] == 503
        with pytest.raises(DashScopeError, match="HTTP 503") as err:
            sensor("ft-flaky").execute_complete(make_context(), event)
        assert not isinstance(err.value, (AirflowFailException, AirflowSensorTimeout, AirflowSkipException))

    @pytest.mark.parametrize("kind", ["failed", "cancelled", "timeout"])
    def test_soft_fail_turns_bad_endings_into_a_skip(self, emu, kind):
        event = event_from_trigger(emu, kind, "ft-soft")
        with pytest.raises(AirflowSkipException, match="soft_fail"):
            sensor("ft-soft", soft_fail=True).execute_complete(make_context(), event)

    @pytest.mark.parametrize(
        ("event", "expected"),
        [
            (None, r"expected a trigger event dict, got None"),
            ("success", r"expected a trigger event dict, got 'success'"),
            ({"status": "paused", "job_id": "ft-x"}, r"unknown status 'paused' \(expected one of cancelled, error, "),
            ({"job_id": "ft-x"}, r"unknown status None"),
            ({"status": "success"}, r"without a job_id"),
        ],
        ids=["none", "not-a-dict", "unknown-status", "no-status", "no-job-id"],
    )
    def test_a_bad_event_is_a_clear_error(self, event, expected):
        with pytest.raises(DashScopeError, match=expected) as err:
            sensor().execute_complete(make_context(), event)
        assert isinstance(err.value, AirflowException)


# ------------------------------------------------------------------------------------------------------------------
# Poke and reschedule modes
# ------------------------------------------------------------------------------------------------------------------
class TestPokeMode:
    def test_poke_is_false_while_running_and_returns_the_result_when_done(self, poll_emu):
        seed(poll_emu, "ft-poke", running_seconds=3, usage=300)
        task = sensor("ft-poke")
        context = make_context()

        assert task.poke(context) is False
        assert task.poke(context) is False
        done = task.poke(context)
        assert isinstance(done, PokeReturnValue)
        assert done.is_done is True
        assert done.xcom_value["status"] == "SUCCEEDED"
        assert done.xcom_value["usage"] == 300
        assert done.xcom_value["finetuned_output"] == poll_emu.state.get_job("ft-poke")["finetuned_output"]

    def test_execute_in_poke_mode_waits_until_the_job_succeeds(self, poll_emu):
        seed(poll_emu, "ft-poke", running_seconds=4, usage=400)
        result = sensor("ft-poke", deferrable=False, mode="poke").execute(make_context())

        assert result["status"] == "SUCCEEDED" and result["usage"] == 400
        assert gets(poll_emu, "ft-poke") == 4

    def test_a_reschedule_check_that_still_fails_after_the_hook_retries_waits_for_the_next_check(self, emu):
        seed(emu, "ft-blip")
        emu.add_fault(route="GET " + GET_JOB, status=503, times=2)  # both attempts of one check fail
        task = sensor("ft-blip", mode="reschedule", max_consecutive_failures=2)

        assert task.poke(make_context()) is False  # each reschedule check is a new process: nothing adds up
        assert gets(emu, "ft-blip") == 2  # one check with the hook's retry
        assert task.poke(make_context()) is False  # answered RUNNING
        assert gets(emu, "ft-blip") == 3

    def test_a_reschedule_check_fails_the_task_when_no_failure_is_tolerated(self, emu):
        seed(emu, "ft-blip")
        emu.add_fault(route="GET " + GET_JOB, status=503, times=-1)
        task = sensor("ft-blip", mode="reschedule", max_consecutive_failures=1)

        with pytest.raises(DashScopeError, match="HTTP 503") as err:
            task.poke(make_context())
        assert not isinstance(err.value, AirflowFailException)  # a retry of the task may succeed
        assert gets(emu, "ft-blip") == 2

    def test_poke_mode_logs_one_info_line_per_status_change_not_per_poke(self, poll_emu, logs):
        seed(poll_emu, "ft-chatty", pending_seconds=3, running_seconds=5)
        result = sensor("ft-chatty", deferrable=False, mode="poke").execute(make_context())

        assert result["status"] == "SUCCEEDED"
        assert gets(poll_emu, "ft-chatty") == 8  # PENDING x2, RUNNING x5, SUCCEEDED
        # Status lines only (the training-progress lines are tested in test_progress.py):
        # ? -> PENDING -> RUNNING -> SUCCEEDED, the console URL at the start and the success line at the end
        info = [line for line in logs.lines("info") if "ft-chatty" in line and "training" not in line]
        assert len(info) <= 3 + 2

    @pytest.mark.parametrize(("soft_fail", "error"), [(False, AirflowSensorTimeout), (True, AirflowSkipException)])
    def test_a_timeout_in_poke_mode_fails_or_skips(self, emu, soft_fail, error):
        seed(emu, "ft-long")
        task = FakeTime().drive_task(
            sensor("ft-long", deferrable=False, mode="poke", timeout=30, poll_interval=5, soft_fail=soft_fail)
        )
        with pytest.raises(error, match="still RUNNING at the deadline"):
            task.execute(make_context())
        assert 6 <= gets(emu, "ft-long") <= 8  # the check, then a poll every 5 s (+/-10 %) for 30 s of fake time
        assert cancels(emu) == 0
