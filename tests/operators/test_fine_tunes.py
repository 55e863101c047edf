"""DashScopeFineTuneJobOperator, DashScopeCreateFineTuneJobOperator and the console link."""

from __future__ import annotations

import re
import threading
import time
from datetime import timedelta

import pytest
from airflow.providers.common.compat.sdk import (
    AirflowException,
    AirflowFailException,
    AirflowSkipException,
    TaskDeferred,
)

from airflow_provider_dashscope.exceptions import (
    DashScopeConfigError,
    DashScopeError,
    FineTuneJobCancelledError,
    FineTuneJobFailedError,
    FineTuneJobNotFoundError,
    FineTuneJobTimeoutError,
)
from airflow_provider_dashscope.operators.fine_tunes import (
    DashScopeCreateFineTuneJobOperator,
    DashScopeFineTuneJobLink,
    DashScopeFineTuneJobOperator,
)
from airflow_provider_dashscope.triggers.fine_tunes import DashScopeFineTuneJobTrigger
from airflow_provider_dashscope.wait.fine_tunes import RESULT_KEYS
from tests._waiting import (
    GET_JOB,
    FakeTI,
    PollClock,
    cancels,
    creates,
    event_from_trigger,
    gets,
    make_context,
    seed,
)

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
PUSHED_KEYS = {"job_id", "job_url", "status", "finetuned_output", "usage"}


def wait_op(job_id: str = "ft-202410291653-1c7f", **kwargs) -> DashScopeFineTuneJobOperator:
    kwargs.setdefault("task_id", "finetune_result")
    kwargs.setdefault("poll_interval", 0.02)
    return DashScopeFineTuneJobOperator(job_id=job_id, **kwargs)


def create_op(**kwargs) -> DashScopeCreateFineTuneJobOperator:
    kwargs.setdefault("task_id", "train")
    kwargs.setdefault("model", "qwen3-14b")
    kwargs.setdefault("training_file_ids", ["file-ft-train-1"])
    kwargs.setdefault("poll_interval", 0.02)
    return DashScopeCreateFineTuneJobOperator(**kwargs)


def when(predicate, action, timeout: float = 10.0) -> threading.Thread:
    """In a helper thread, run ``action`` once ``predicate`` holds (the operator under test blocks the main thread:
    Airflow 2 only lets ``execute`` run on the thread that built the operator)."""

    def target():
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                return
            time.sleep(0.005)
        action()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


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
        ],
        ids=["empty", "none", "int", "path", "space"],
    )
    def test_a_bad_job_id_fails_at_parse_with_a_message_naming_it(self, kwargs, expected):
        with pytest.raises(DashScopeConfigError, match=expected):
            DashScopeFineTuneJobOperator(task_id="result", **kwargs)

    @pytest.mark.parametrize("factory", [wait_op, create_op], ids=["operator", "create"])
    @pytest.mark.parametrize(
        ("kwargs", "expected"),
        [
            ({"poll_interval": 0}, r"poll_interval must be > 0 seconds, got 0"),
            ({"poll_interval": -1}, r"poll_interval must be > 0 seconds, got -1"),
            ({"timeout": -5}, r"timeout must be >= 0 seconds, got -5"),
            ({"max_consecutive_failures": 0}, r"max_consecutive_failures must be an integer >= 1"),
        ],
        ids=["poll-0", "poll-neg", "timeout-neg", "budget-0"],
    )
    def test_bad_wait_arguments_fail_at_parse(self, factory, kwargs, expected):
        with pytest.raises(DashScopeConfigError, match=expected):
            factory(**kwargs)

    @pytest.mark.parametrize(
        ("kwargs", "expected"),
        [
            ({"model": ""}, r"model must be a model id"),
            ({"model": None}, r"model must be a model id"),
            ({"training_file_ids": []}, r"training_file_ids must list at least one"),
            ({"training_file_ids": None}, r"training_file_ids must list at least one"),
            ({"hyper_parameters": [("n_epochs", 3)]}, r"hyper_parameters must be a dict"),
        ],
        ids=["model-empty", "model-none", "files-empty", "files-none", "hyper-list"],
    )
    def test_bad_create_arguments_fail_at_parse(self, kwargs, expected):
        with pytest.raises(DashScopeConfigError, match=expected):
            create_op(**kwargs)

    def test_templated_values_are_accepted_at_parse(self):
        assert wait_op("{{ params.job_id }}").job_id == "{{ params.job_id }}"
        op = create_op(model="{{ params.model }}", training_file_ids="{{ params.files }}", hyper_parameters="{{ x }}")
        assert op.model == "{{ params.model }}"

    def test_template_fields_cover_every_argument_a_dag_may_template(self):
        assert tuple(DashScopeFineTuneJobOperator.template_fields) == ("job_id", "dashscope_conn_id")
        assert set(DashScopeCreateFineTuneJobOperator.template_fields) == {
            "model",
            "training_file_ids",
            "validation_file_ids",
            "hyper_parameters",
            "training_type",
            "job_name",
            "dashscope_conn_id",
        }

    def test_job_id_renders_from_params(self):
        op = wait_op("{{ params.job_id }}")
        op.render_template_fields(make_context(params={"job_id": "ft-202411251000-abcd"}))
        assert op.job_id == "ft-202411251000-abcd"


# ------------------------------------------------------------------------------------------------------------------
# DashScopeFineTuneJobOperator
# ------------------------------------------------------------------------------------------------------------------
class TestWaitOperator:
    def test_deferrable_execute_pushes_the_job_at_once_then_defers(self, emu):
        seed(emu, "ft-running")
        ti = FakeTI(task_id="finetune_result")
        op = wait_op("ft-running", deferrable=True, poll_interval=9, timeout=600, max_consecutive_failures=2)
        with pytest.raises(TaskDeferred) as deferred:
            op.execute(make_context(ti))

        trigger = deferred.value.trigger
        assert isinstance(trigger, DashScopeFineTuneJobTrigger)
        assert deferred.value.method_name == "execute_complete"
        assert deferred.value.timeout is None
        assert (trigger.job_id, trigger.dashscope_conn_id, trigger.poll_interval) == (
            "ft-running",
            "dashscope_default",
            9.0,
        )
        assert trigger.deadline == pytest.approx(time.time() + 600, abs=5)
        assert trigger.max_consecutive_failures == 2
        assert trigger.cancel_on_kill is False  # this operator waits on a job it did not submit
        assert [key for key, _ in ti.pushes] == ["job_id", "job_url"]
        assert ti.xcoms["job_id"] == "ft-running"
        assert "ft-running" in ti.xcoms["job_url"]
        assert gets(emu) == 1

    def test_timeout_none_waits_without_a_deadline_unless_execution_timeout(self, emu):
        seed(emu, "ft-running")
        with pytest.raises(TaskDeferred) as unbounded:
            wait_op("ft-running", deferrable=True, timeout=None).execute(make_context())
        with pytest.raises(TaskDeferred) as bounded:
            wait_op("ft-running", deferrable=True, timeout=None, execution_timeout=timedelta(minutes=5)).execute(
                make_context()
            )

        assert unbounded.value.trigger.deadline is None
        assert bounded.value.trigger.deadline == pytest.approx(time.time() + 300, abs=5)

    @pytest.mark.parametrize("deferrable", [True, False], ids=["deferrable", "worker"])
    def test_a_finished_job_pushes_its_result_and_returns_the_small_dict(self, emu, deferrable):
        seed(emu, "ft-done", running_seconds=0, usage=777, finetuned_output="qwen3-14b-ft-done")
        ti = FakeTI()
        result = wait_op("ft-done", deferrable=deferrable).execute(make_context(ti))

        job = emu.state.get_job("ft-done")
        assert tuple(result) == RESULT_KEYS
        assert result["job_id"] == "ft-done"
        assert result["status"] == "SUCCEEDED"
        assert result["finetuned_output"] == job["finetuned_output"]
        assert result["usage"] == job["usage"] == 777
        assert result["model"] == result["base_model"] == "qwen3-14b"
        assert result["create_time"] and result["end_time"]
        assert set(ti.xcoms) == PUSHED_KEYS
        assert ti.xcoms["finetuned_output"] == "qwen3-14b-ft-done"
        assert ti.xcoms["usage"] == 777
        assert ti.xcoms["status"] == "SUCCEEDED"
        assert ti.xcoms["job_id"] == "ft-done"
        assert gets(emu) == 1

    def test_wait_for_completion_false_reports_the_job_as_it_is_now(self, emu):
        seed(emu, "ft-running")
        ti = FakeTI()
        result = wait_op("ft-running", wait_for_completion=False, deferrable=True).execute(make_context(ti))

        assert result["status"] == "RUNNING"
        assert result["finetuned_output"] is None and result["usage"] is None
        assert ti.xcoms["status"] == "RUNNING"
        assert gets(emu) == 1

    def test_the_worker_side_wait_polls_until_done_and_logs_status_changes(self, poll_emu, logs):
        seed(poll_emu, "ft-poll", running_seconds=4, usage=4000)
        ti = FakeTI()
        result = wait_op("ft-poll", deferrable=False).execute(make_context(ti))

        assert result["status"] == "SUCCEEDED" and result["usage"] == 4000
        assert ti.xcoms["finetuned_output"] == poll_emu.state.get_job("ft-poll")["finetuned_output"]
        assert gets(poll_emu, "ft-poll") == 4  # the check before waiting, then RUNNING, RUNNING, SUCCEEDED
        changes = [line for line in logs.lines("info") if "ft-poll" in line and "->" in line]
        assert len(changes) == 1 and "RUNNING -> SUCCEEDED" in changes[0]

    @pytest.mark.parametrize("budget", [1, 3])
    def test_the_worker_side_wait_makes_exactly_as_many_requests_as_its_failure_budget(self, emu, budget):
        seed(emu, "ft-down")
        # The check before waiting is answered (RUNNING); from then on the API answers 503 forever.
        emu.add_fault(route="GET " + GET_JOB, kind="unknown_status", job_status="RUNNING", times=1)
        emu.add_fault(route="GET " + GET_JOB, status=503, times=-1)
        op = wait_op("ft-down", deferrable=False, max_consecutive_failures=budget, poll_interval=0.05)
        with pytest.raises(DashScopeError, match="HTTP 503") as err:
            op.execute(make_context())

        assert not isinstance(err.value, AirflowFailException)  # a retry of the task may succeed
        # The check, then one attempt per poll (the connection allows a retry, but the wait owns the retrying).
        assert gets(emu, "ft-down") == 1 + budget

    @pytest.mark.parametrize("soft_fail", [False, True])
    def test_the_worker_side_wait_times_out_and_leaves_the_job_alone(self, emu, soft_fail):
        seed(emu, "ft-long")
        op = wait_op("ft-long", deferrable=False, timeout=0.3, poll_interval=0.05, soft_fail=soft_fail)
        with pytest.raises(AirflowSkipException if soft_fail else FineTuneJobTimeoutError, match="Timed out"):
            op.execute(make_context())
        assert cancels(emu) == 0
        assert emu.state.job_status("ft-long") == "RUNNING"

    def test_a_failed_job_fails_without_retries_with_the_facts_and_the_training_log(self, emu, logs):
        seed(emu, "ft-bad", running_seconds=0, outcome="FAILED", code="DataError", message="line 3 is not JSON")
        ti = FakeTI()
        with pytest.raises(FineTuneJobFailedError) as err:
            wait_op("ft-bad", deferrable=True).execute(make_context(ti))

        assert isinstance(err.value, AirflowFailException)
        text = str(err.value)
        assert "FAILED" in text and "code=DataError" in text and "message=line 3 is not JSON" in text
        assert re.search(rf"request_id={UUID}", text)
        assert ti.xcoms["status"] == "FAILED"
        assert any("training failed: DataError" in line for line in logs.lines("error"))

    @pytest.mark.parametrize("soft_fail", [False, True])
    def test_a_cancelled_job_fails_or_skips(self, emu, soft_fail):
        seed(emu, "ft-cancelled", running_seconds=0, outcome="CANCELED")
        with pytest.raises(AirflowSkipException if soft_fail else FineTuneJobCancelledError, match="CANCELED"):
            wait_op("ft-cancelled", soft_fail=soft_fail).execute(make_context())

    def test_an_unknown_job_fails_at_once(self, emu):
        with pytest.raises(FineTuneJobNotFoundError, match=r"ft-202401010000-dead was not found \(HTTP 404"):
            wait_op("ft-202401010000-dead", deferrable=True).execute(make_context())
        assert gets(emu) == 1


class TestWaitOperatorExecuteComplete:
    def test_success_event_pushes_xcoms_and_returns_exactly_the_documented_keys(self, emu):
        event = event_from_trigger(emu, "success", "ft-ok")
        ti = FakeTI()
        result = wait_op("ft-ok").execute_complete(make_context(ti), event)

        assert tuple(result) == RESULT_KEYS
        assert result["finetuned_output"] == "qwen3-14b-ft-ok"
        assert result["usage"] == 2048
        assert {"job_id", "status", "finetuned_output", "usage"} <= set(ti.xcoms)
        assert ti.xcoms["finetuned_output"] == "qwen3-14b-ft-ok"
        assert ti.xcoms["usage"] == 2048
        assert ti.xcoms["status"] == "SUCCEEDED"

    @pytest.mark.parametrize(
        ("kind", "error", "fragment"),
        [
            ("failed", FineTuneJobFailedError, "code=DataError"),
            ("cancelled", FineTuneJobCancelledError, "CANCELED"),
            ("not_found", FineTuneJobNotFoundError, "HTTP 404"),
        ],
    )
    def test_job_endings_fail_without_retries(self, emu, kind, error, fragment):
        event = event_from_trigger(emu, kind, "ft-end")
        with pytest.raises(error, match=fragment) as err:
            wait_op("ft-end").execute_complete(make_context(), event)
        assert isinstance(err.value, AirflowFailException)

    @pytest.mark.parametrize("kind", ["error", "timeout"])
    def test_errors_and_timeouts_fail_so_that_a_retry_may_succeed(self, emu, kind):
        event = event_from_trigger(emu, kind, "ft-slow")
        with pytest.raises(DashScopeError) as err:
            wait_op("ft-slow").execute_complete(make_context(), event)
        assert not isinstance(err.value, (AirflowFailException, AirflowSkipException))
        assert ("HTTP 503" if kind == "error" else "Timed out") in str(err.value)

    @pytest.mark.parametrize("kind", ["failed", "cancelled", "timeout"])
    def test_soft_fail_skips_failed_cancelled_and_timed_out_waits(self, emu, kind):
        event = event_from_trigger(emu, kind, "ft-soft")
        with pytest.raises(AirflowSkipException, match="soft_fail"):
            wait_op("ft-soft", soft_fail=True).execute_complete(make_context(), event)

    def test_a_timeout_of_a_job_we_did_not_submit_does_not_cancel_it(self, emu):
        event = event_from_trigger(emu, "timeout", "ft-theirs")
        with pytest.raises(FineTuneJobTimeoutError):
            wait_op("ft-theirs").execute_complete(make_context(), event)
        assert cancels(emu) == 0

    @pytest.mark.parametrize(
        ("event", "expected"),
        [
            (None, r"expected a trigger event dict, got None"),
            ({"status": "paused", "job_id": "ft-x"}, r"unknown status 'paused'"),
        ],
        ids=["none", "unknown-status"],
    )
    def test_a_bad_event_is_a_clear_error(self, event, expected):
        ti = FakeTI()
        with pytest.raises(AirflowException, match=expected):
            wait_op().execute_complete(make_context(ti), event)
        assert ti.pushes == []


# ------------------------------------------------------------------------------------------------------------------
# DashScopeCreateFineTuneJobOperator
# ------------------------------------------------------------------------------------------------------------------
class TestCreateOperator:
    def test_submits_the_rendered_arguments_pushes_the_job_id_at_once_and_waits(self, make_emulator):
        emu = make_emulator(PollClock(), running_seconds=3)
        op = create_op(
            model="{{ params.model }}",
            training_file_ids=["{{ params.train_file }}"],
            validation_file_ids="{{ params.validation_file }}",
            hyper_parameters={"n_epochs": 3, "learning_rate": "{{ params.lr }}"},
            training_type="{{ params.training_type }}",
            deferrable=False,
        )
        ti = FakeTI(task_id="train")
        context = make_context(
            ti,
            params={
                "model": "qwen3-8b",
                "train_file": "file-ft-abc",
                "validation_file": "file-ft-val",
                "lr": "2e-5",
                "training_type": "efficient_sft",
            },
        )
        op.render_template_fields(context)
        result = op.execute(context)

        assert creates(emu) == 1
        (job_id,) = emu.state.job_ids()
        job = emu.state.get_job(job_id)
        assert job["model"] == "qwen3-8b"
        assert job["training_file_ids"] == ["file-ft-abc"]
        assert job["validation_file_ids"] == ["file-ft-val"]
        assert job["hyper_parameters"] == {"n_epochs": 3, "learning_rate": "2e-5"}
        assert job["training_type"] == "efficient_sft"
        assert re.fullmatch(r"train-[0-9a-f]{12}", job["job_name"])
        assert ti.pushes[0] == ("job_id", job_id)  # pushed before any waiting
        assert tuple(result) == RESULT_KEYS
        assert result["job_id"] == job_id and result["status"] == "SUCCEEDED"
        assert result["finetuned_output"] == job["finetuned_output"] == ti.xcoms["finetuned_output"]
        assert result["usage"] == job["usage"] == ti.xcoms["usage"]

    def test_deferrable_pushes_the_job_id_and_defers_with_cancel_on_kill(self, emu):
        ti = FakeTI()
        with pytest.raises(TaskDeferred) as deferred:
            create_op(deferrable=True, job_name="nightly-ft").execute(make_context(ti))

        (job_id,) = emu.state.job_ids()
        assert emu.state.get_job(job_id)["job_name"] == "nightly-ft"
        assert deferred.value.trigger.job_id == job_id
        assert deferred.value.trigger.cancel_on_kill is True
        assert deferred.value.timeout is None
        assert [key for key, _ in ti.pushes] == ["job_id", "job_url"]
        assert ti.xcoms["job_id"] == job_id

    def test_cancel_on_kill_false_is_carried_into_the_trigger(self, emu):
        with pytest.raises(TaskDeferred) as deferred:
            create_op(deferrable=True, cancel_on_kill=False).execute(make_context())
        assert deferred.value.trigger.cancel_on_kill is False

    def test_a_retry_reattaches_to_the_running_job_of_the_earlier_try(self, emu):
        ti = FakeTI()
        with pytest.raises(TaskDeferred) as first:
            create_op(deferrable=True).execute(make_context(ti))
        with pytest.raises(TaskDeferred) as second:
            create_op(deferrable=True).execute(make_context(ti.retry()))

        assert creates(emu) == 1
        assert second.value.trigger.job_id == first.value.trigger.job_id

    def test_a_retry_reattaches_to_the_succeeded_job_and_returns_its_result(self, make_emulator, fake_clock):
        emu = make_emulator(fake_clock, running_seconds=60)
        ti = FakeTI()
        with pytest.raises(TaskDeferred) as first:
            create_op(deferrable=True).execute(make_context(ti))
        fake_clock.advance(61)
        retry = ti.retry()
        result = create_op(deferrable=True).execute(make_context(retry))

        assert creates(emu) == 1
        assert result["job_id"] == first.value.trigger.job_id
        assert result["status"] == "SUCCEEDED"
        assert retry.xcoms["finetuned_output"] == emu.state.get_job(result["job_id"])["finetuned_output"]

    def test_a_retry_submits_anew_when_the_earlier_job_failed(self, make_emulator, fake_clock):
        emu = make_emulator(fake_clock, running_seconds=60)
        emu.plan_next({"outcome": "FAILED"})
        ti = FakeTI()
        with pytest.raises(TaskDeferred) as first:
            create_op(deferrable=True).execute(make_context(ti))
        fake_clock.advance(61)
        assert emu.state.job_status(first.value.trigger.job_id) == "FAILED"
        with pytest.raises(TaskDeferred) as second:
            create_op(deferrable=True).execute(make_context(ti.retry()))

        assert creates(emu) == 2
        assert second.value.trigger.job_id != first.value.trigger.job_id

    def test_a_retry_never_reattaches_to_a_job_of_another_run(self, emu):
        with pytest.raises(TaskDeferred):
            create_op(deferrable=True).execute(make_context(FakeTI(run_id="manual__a")))
        with pytest.raises(TaskDeferred):
            create_op(deferrable=True).execute(make_context(FakeTI(run_id="manual__b", try_number=2)))
        assert creates(emu) == 2

    def test_a_retry_reattaches_by_an_explicit_job_name_within_the_same_run(self, emu):
        ti = FakeTI()
        with pytest.raises(TaskDeferred) as first:
            create_op(deferrable=True, job_name="nightly-ft").execute(make_context(ti))
        with pytest.raises(TaskDeferred) as second:
            create_op(deferrable=True, job_name="nightly-ft").execute(make_context(ti.retry()))

        assert creates(emu) == 1
        assert second.value.trigger.job_id == first.value.trigger.job_id

    def test_a_retry_never_reattaches_to_yesterdays_job_of_the_same_explicit_name(self, emu):
        # Yesterday's run of a daily DAG submitted "nightly-ft" 20 hours ago; it SUCCEEDED long since.
        seed(emu, "ft-yesterday", job_name="nightly-ft", create_time=time.time() - 20 * 3600, usage=1)
        assert emu.state.job_status("ft-yesterday") == "SUCCEEDED"
        # Today's try 1 failed before it could submit (say a 429 on create); try 2 must submit today's job.
        ti = FakeTI(try_number=2)
        with pytest.raises(TaskDeferred) as deferred:
            create_op(deferrable=True, job_name="nightly-ft").execute(make_context(ti))

        assert creates(emu) == 1
        assert deferred.value.trigger.job_id != "ft-yesterday"

    def test_wait_for_completion_false_submits_and_returns_at_once(self, emu):
        ti = FakeTI()
        result = create_op(wait_for_completion=False).execute(make_context(ti))

        (job_id,) = emu.state.job_ids()
        assert creates(emu) == 1 and gets(emu) == 0
        assert result["job_id"] == job_id == ti.xcoms["job_id"]
        assert result["status"] in ("PENDING", "QUEUING", "RUNNING")
        assert result["finetuned_output"] is None

    def test_arguments_that_render_invalid_fail_before_any_request(self, emu):
        op = create_op(model="{{ params.model }}")
        context = make_context(params={"model": " "})
        op.render_template_fields(context)
        with pytest.raises(DashScopeConfigError, match="model must be a non-empty model id"):
            op.execute(context)
        assert emu.request_count() == 0

    def test_reattach_on_retry_false_always_submits(self, emu):
        ti = FakeTI()
        with pytest.raises(TaskDeferred):
            create_op(deferrable=True, reattach_on_retry=False).execute(make_context(ti))
        with pytest.raises(TaskDeferred):
            create_op(deferrable=True, reattach_on_retry=False).execute(make_context(ti.retry()))
        assert creates(emu) == 2

    @pytest.mark.parametrize("cancel_on_kill", [True, False])
    def test_on_kill_cancels_the_submitted_job_only_with_cancel_on_kill(self, make_emulator, cancel_on_kill):
        emu = make_emulator(canceling_seconds=600)
        op = create_op(deferrable=True, cancel_on_kill=cancel_on_kill)
        with pytest.raises(TaskDeferred) as deferred:
            op.execute(make_context())
        op.on_kill()

        job_id = deferred.value.trigger.job_id
        assert cancels(emu, job_id) == (1 if cancel_on_kill else 0)
        assert emu.state.job_status(job_id) == ("CANCELING" if cancel_on_kill else "RUNNING")

    def test_killing_the_worker_side_wait_cancels_the_job_and_the_task_fails_cancelled(self, emu):
        op = create_op(deferrable=False, poll_interval=0.05)
        helper = when(lambda: creates(emu) == 1 and gets(emu) >= 1, op.on_kill)
        with pytest.raises(FineTuneJobCancelledError, match="CANCELED"):
            op.execute(make_context())
        helper.join(1)

        (job_id,) = emu.state.job_ids()
        assert cancels(emu, job_id) == 1
        assert emu.state.job_status(job_id) == "CANCELED"

    def test_a_timed_out_wait_cancels_the_submitted_job(self, emu):
        event = event_from_trigger(emu, "timeout", "ft-ours")
        with pytest.raises(FineTuneJobTimeoutError):
            create_op().execute_complete(make_context(), event)

        assert cancels(emu, "ft-ours") == 1
        assert emu.state.job_status("ft-ours") == "CANCELED"

    def test_execute_complete_success_pushes_and_returns_the_result(self, emu):
        event = event_from_trigger(emu, "success", "ft-created")
        ti = FakeTI()
        result = create_op().execute_complete(make_context(ti), event)

        assert tuple(result) == RESULT_KEYS
        assert ti.xcoms["finetuned_output"] == result["finetuned_output"] == "qwen3-14b-ft-created"
        assert ti.xcoms["usage"] == 2048


# ------------------------------------------------------------------------------------------------------------------
# Console link
# ------------------------------------------------------------------------------------------------------------------
class TestLink:
    def test_both_operators_carry_the_console_link(self):
        link = DashScopeFineTuneJobLink()
        assert link.name == "DashScope Console"
        for op in (wait_op(), create_op()):
            assert [type(x) for x in op.operator_extra_links] == [DashScopeFineTuneJobLink]

    def test_the_link_is_registered_in_the_provider_metadata(self):
        from airflow_provider_dashscope.get_provider_info import get_provider_info

        assert "airflow_provider_dashscope.links.DashScopeFineTuneJobLink" in get_provider_info()["extra-links"]

    @pytest.fixture
    def asked(self, monkeypatch):
        """A stand-in for Airflow's XCom backend (the DAG tests read the real one): records what the link asks."""
        from airflow.providers.common.compat.sdk import XCom  # what the link reads, when it runs

        asked = []

        def get_value(*, key, ti_key):
            asked.append((key, ti_key))
            return "https://console.example/job?jobId=ft-x" if key == "job_url" else None

        monkeypatch.setattr(XCom, "get_value", staticmethod(get_value))
        return asked

    def test_the_link_of_an_operator_that_did_not_run_here_reads_the_job_url_xcom(self, asked):
        # Airflow 2's webserver passes the serialized operator; a run that resumed after deferring knows nothing.
        ti_key = object()
        resumed = wait_op()
        resumed.pushed_console_url = None
        for operator in (object(), resumed):
            assert (
                DashScopeFineTuneJobLink().get_link(operator, ti_key=ti_key) == "https://console.example/job?jobId=ft-x"
            )
        assert asked == [("job_url", ti_key), ("job_url", ti_key)]

    def test_the_link_of_the_run_that_pushed_the_url_or_none_asks_for_nothing(self, asked, emu):
        # Airflow 3 asks the link on the operator that just ran: asking for a missing XCom would log an error.
        assert DashScopeFineTuneJobLink().get_link(wait_op(), ti_key=object()) == ""
        seed(emu, "ft-running")
        operator = wait_op("ft-running", deferrable=True)
        with pytest.raises(TaskDeferred):
            operator.execute(make_context())
        assert DashScopeFineTuneJobLink().get_link(operator, ti_key=object()) == f"{emu.base_url}/fine-tunes/ft-running"
        assert asked == []

    def test_the_job_url_pushed_by_the_operator_points_at_the_job(self, emu):
        seed(emu, "ft-running")
        ti = FakeTI()
        with pytest.raises(TaskDeferred):
            wait_op("ft-running", deferrable=True).execute(make_context(ti))
        # against the emulator (a loopback base URL) the link is the job's own URL there
        assert ti.xcoms["job_url"] == f"{emu.base_url}/fine-tunes/ft-running"
