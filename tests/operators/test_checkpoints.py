"""DashScopeExportCheckpointOperator against the emulator, the way a DAG runs it: the choice of a checkpoint, the
quality gate, the export and its wait (on the worker, or deferred with the real trigger), a retry re-attaching."""

from __future__ import annotations

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException, TaskDeferred

from airflow_provider_dashscope.exceptions import (
    CheckpointExportFailedError,
    CheckpointNotFoundError,
    DashScopeConfigError,
    QualityGateError,
)
from airflow_provider_dashscope.operators.checkpoints import DashScopeExportCheckpointOperator
from airflow_provider_dashscope.triggers.checkpoints import DashScopeCheckpointExportTrigger
from tests._waiting import FakeTI, FakeTime, PollClock, first_event, make_context, seed

JOB = "ft-202411251000-be57"
LIST = "/fine-tunes/{job_id}/checkpoints"
EXPORT = "/fine-tunes/{job_id}/export/{checkpoint}"


class ListPollClock(PollClock):
    """One second per checkpoint list: an export of ``export_seconds=2`` is PENDING, PROCESSING, then SUCCEEDED."""

    def __call__(self) -> float:
        return self.start + (self.state.request_count("GET", LIST) if self.state is not None else 0)


@pytest.fixture
def ckpt_emu(make_emulator):
    emu = make_emulator(ListPollClock())
    seed(
        emu,
        JOB,
        status="SUCCEEDED",
        running_seconds=9,
        hyper_parameters={"n_epochs": 3},
        validation_file_ids=["file-val"],
        eval_losses=[0.92, 0.61, 0.74],
        export_seconds=2,
    )
    return emu


def export_op(**kwargs) -> DashScopeExportCheckpointOperator:
    kwargs.setdefault("task_id", "export_best")
    kwargs.setdefault("job_id", JOB)
    kwargs.setdefault("poll_interval", 1)
    return FakeTime().drive_task(DashScopeExportCheckpointOperator(**kwargs))


def run_trigger(trigger) -> dict:
    trigger.poll_interval = 0.01
    return first_event(trigger)


def test_best_exports_the_checkpoint_with_the_lowest_eval_loss_and_hands_its_model_on(ckpt_emu):
    ti = FakeTI(task_id="export_best")
    result = export_op(max_value=0.7).execute(make_context(ti))

    assert result == {
        "job_id": JOB,
        "checkpoint": "checkpoint-6",
        "step": 6,
        "status": "SUCCEEDED",
        "model_name": f"qwen3-14b-{JOB}-c6",
        "model_display_name": f"{JOB}-checkpoint-6",
        "metric": "eval_loss",
        "metric_value": 0.61,
    }
    assert {k: ti.xcoms[k] for k in ("checkpoint", "step", "metric", "metric_value", "model_name")} == {
        "checkpoint": "checkpoint-6",
        "step": 6,
        "metric": "eval_loss",
        "metric_value": 0.61,
        "model_name": f"qwen3-14b-{JOB}-c6",
    }
    assert ti.xcoms["job_url"].endswith(f"/fine-tunes/{JOB}")
    assert ckpt_emu.request_count("GET", EXPORT) == 1
    assert ckpt_emu.request_count("GET", LIST) >= 3  # it waited through PENDING and PROCESSING


def test_last_and_a_named_checkpoint_are_exported_under_the_given_name(ckpt_emu):
    last = export_op(checkpoint="last", model_name="faq-last").execute(make_context(FakeTI(task_id="export_best")))
    assert (last["checkpoint"], last["metric_value"], last["model_display_name"]) == ("checkpoint-9", 0.74, "faq-last")
    named = export_op(checkpoint="checkpoint-3").execute(make_context(FakeTI(task_id="export_best")))
    assert (named["checkpoint"], named["step"], named["metric_value"]) == ("checkpoint-3", 3, 0.92)


def test_the_gate_fails_without_retrying_naming_the_best_value_its_checkpoint_and_the_threshold(ckpt_emu):
    op = export_op(max_value=0.5)
    with pytest.raises(QualityGateError) as caught:
        op.execute(make_context(FakeTI(task_id="export_best", try_number=1)))
    assert isinstance(caught.value, AirflowFailException)  # no retry can change the job's metrics
    message = str(caught.value)
    assert "best eval_loss" in message and "0.61 at checkpoint-6" in message and "max_value 0.5" in message
    assert (caught.value.value, caught.value.checkpoint, caught.value.threshold) == (0.61, "checkpoint-6", 0.5)
    assert ckpt_emu.request_count("GET", EXPORT) == 0  # nothing exported


def test_best_on_a_job_without_validation_files_fails_saying_it_needs_them(make_emulator):
    emu = make_emulator()
    seed(emu, JOB, status="SUCCEEDED", running_seconds=4, hyper_parameters={"n_epochs": 2})
    with pytest.raises(QualityGateError, match="validation files"):
        export_op().execute(make_context(FakeTI(task_id="export_best")))
    assert emu.request_count("GET", EXPORT) == 0


def test_an_unknown_checkpoint_name_fails_listing_the_ones_there_are(ckpt_emu):
    with pytest.raises(CheckpointNotFoundError, match="checkpoint-9, checkpoint-6, checkpoint-3"):
        export_op(checkpoint="checkpoint-99").execute(make_context(FakeTI(task_id="export_best")))


@pytest.mark.parametrize("outcome", ["FAILED", "UNSUPPORTED"])
def test_an_export_that_ends_badly_fails_the_task_without_retries(make_emulator, outcome):
    emu = make_emulator(ListPollClock())
    seed(emu, JOB, status="SUCCEEDED", running_seconds=4, export_outcome=outcome, export_seconds=2)
    with pytest.raises(CheckpointExportFailedError, match=f"ended {outcome}") as caught:
        export_op(checkpoint="last").execute(make_context(FakeTI(task_id="export_best")))
    assert isinstance(caught.value, AirflowFailException)


def test_deferred_the_trigger_waits_and_execute_complete_hands_on_the_same_result(ckpt_emu):
    ti = FakeTI(task_id="export_best")
    op = export_op(deferrable=True)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(make_context(ti))
    trigger = deferred.value.trigger
    assert isinstance(trigger, DashScopeCheckpointExportTrigger)
    kind, kwargs = trigger.serialize()
    assert kind == "airflow_provider_dashscope.triggers.checkpoints.DashScopeCheckpointExportTrigger"
    assert kwargs["export_id"] == f"{JOB}:checkpoint-6"
    assert kwargs["chosen"]["metric_value"] == 0.61
    assert ckpt_emu.api_key not in repr(kwargs)

    event = run_trigger(DashScopeCheckpointExportTrigger(**kwargs))
    assert (event["status"], event["export_status"]) == ("success", "SUCCEEDED")

    resumed = DashScopeExportCheckpointOperator(task_id="export_best", job_id=JOB, deferrable=True)
    result = resumed.execute_complete(make_context(ti), event)
    assert (result["model_name"], result["metric"], result["metric_value"]) == (
        f"qwen3-14b-{JOB}-c6",
        "eval_loss",
        0.61,
    )
    assert resumed.chosen["model_name"] == result["model_name"]  # kept for lineage


def test_a_retry_re_attaches_to_the_export_the_first_try_started(ckpt_emu):
    ti = FakeTI(task_id="export_best")
    with pytest.raises(TaskDeferred):
        export_op(deferrable=True).execute(make_context(ti))  # the first try exported, then its worker died
    assert ckpt_emu.request_count("GET", EXPORT) == 1
    for _ in range(2):  # the emulator's clock counts list calls: two seconds later the export has SUCCEEDED
        ckpt_emu.state.record_request("GET", LIST, JOB)

    result = export_op().execute(make_context(ti.retry()))
    assert result["model_display_name"] == f"{JOB}-checkpoint-6"
    assert ckpt_emu.request_count("GET", EXPORT) == 1  # not exported again


def test_a_retry_whose_export_name_is_taken_while_exporting_re_attaches(ckpt_emu):
    ti = FakeTI(task_id="export_best")
    with pytest.raises(TaskDeferred):
        export_op(deferrable=True).execute(make_context(ti))
    ckpt_emu.add_fault(route="GET " + EXPORT, status=409, message="Model name already exists")
    result = export_op().execute(make_context(ti.retry()))
    assert (result["status"], result["checkpoint"]) == ("SUCCEEDED", "checkpoint-6")


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"checkpoint": "../checkpoint-3"}, "not a checkpoint name"),
        ({"checkpoint": "checkpoints/3"}, "not a checkpoint name"),
        ({"checkpoint": "latest"}, "neither 'best', 'last' nor a checkpoint name"),
        ({"checkpoint": "Best"}, "write it as 'best'"),
        ({"max_value": "low"}, "max_value must be a number"),
        ({"min_value": float("nan")}, "min_value must be a finite number"),
        ({"max_value": True}, "max_value must be a finite number"),
        ({"max_value": 1.0, "min_value": 0.5}, "give max_value or min_value, not both"),
        ({"mode": "lowest"}, "mode must be 'min'"),
        ({"metric": "eval loss"}, "metric must be a metric name"),
        ({"model_name": "my model"}, "model_name"),
        ({"job_id": "ft-1/../x"}, "job_id"),
    ],
)
def test_bad_input_is_refused_at_dag_parse(kwargs, words):
    with pytest.raises(DashScopeConfigError, match=words):
        DashScopeExportCheckpointOperator(task_id="export_best", **{"job_id": JOB, **kwargs})


def test_a_templated_threshold_that_renders_to_a_word_is_refused_before_any_request(ckpt_emu):
    op = export_op(max_value="{{ params.max_loss }}")
    op.max_value = "not-a-number"  # what the template rendered
    with pytest.raises(DashScopeConfigError, match="max_value must be a number"):
        op.execute(make_context(FakeTI(task_id="export_best")))
    assert ckpt_emu.request_count() == 0
