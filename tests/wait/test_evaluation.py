"""Validation metrics read from a training log, related to checkpoints by step, and the choice of a checkpoint."""

from __future__ import annotations

import pytest

from airflow_provider_dashscope.wait.evaluation import (
    Evaluation,
    NoEvaluationsError,
    QualityGateError,
    UnknownCheckpointError,
    choose_checkpoint,
    evaluation_for,
    final_metric,
    parse_eval_line,
    read_evaluations,
)

LOG = [
    "2026-01-01 10:00:00,000 - INFO - start training ft-1 on qwen3-14b",
    "2026-01-01 10:00:01,000 - INFO - {'loss': 1.9, 'learning_rate': 1e-05, 'epoch': 0.5, 'step': 5}",
    "2026-01-01 10:00:02,000 - INFO - {'loss': 1.2, 'learning_rate': 1e-05, 'epoch': 1.0, 'step': 10}",
    "2026-01-01 10:00:02,000 - INFO - {'eval_loss': 0.92, 'eval_runtime': 3.2, 'eval_accuracy': 0.61, 'epoch': 1.0}",
    "2026-01-01 10:00:03,000 - INFO - {'loss': 0.7, 'learning_rate': 1e-05, 'epoch': 2.0, 'step': 20}",
    "{'eval_loss': 0.81, 'eval_runtime': 3.1, 'eval_accuracy': 0.66, 'epoch': 2.0}",
    "2026-01-01 10:00:04,000 - INFO - {'loss': 0.4, 'learning_rate': 1e-05, 'epoch': 3.0, 'step': 30}",
    "{'eval_loss': 0.88, 'eval_runtime': 3.3, 'eval_accuracy': 0.70, 'epoch': 3.0}",
    "{'train_runtime': 216.4, 'epoch': 3.0}",
    "2026-01-01 10:00:05,000 - INFO - ##FT_COMPLETE##",
]
CHECKPOINTS = [("checkpoint-30", 30), ("checkpoint-20", 20), ("checkpoint-10", 10)]  # the API's order


def test_evaluation_lines_are_read_with_the_step_they_were_made_at():
    evaluations = read_evaluations(LOG)
    assert [(e.step, e.epoch, e.metrics["eval_loss"]) for e in evaluations] == [
        (10, 1.0, 0.92),
        (20, 2.0, 0.81),
        (30, 3.0, 0.88),
    ]
    assert evaluations[1].metrics == {"eval_loss": 0.81, "eval_runtime": 3.1, "eval_accuracy": 0.66}
    assert final_metric(evaluations) == 0.88
    assert evaluation_for(20, evaluations) is evaluations[1]
    assert evaluation_for(25, evaluations) is None


@pytest.mark.parametrize(
    "line",
    [
        "{'loss': 1.2, 'epoch': 1.0, 'step': 10}",
        "{'train_runtime': 216.4, 'epoch': 3.0}",
        "{'eval_loss': nan}",
        "{'eval_loss': 'high'}",
        "eval_loss went up",
        "{'eval_loss': 0.5" + " " * 5000 + "}",
        None,
    ],
)
def test_lines_that_are_not_evaluations_say_nothing(line):
    assert parse_eval_line(line) is None


def test_best_is_the_lowest_eval_loss_whatever_the_order_of_the_list():
    choice = choose_checkpoint("best", CHECKPOINTS, read_evaluations(LOG), job_id="ft-1")
    assert (choice.checkpoint, choice.step, choice.metric, choice.value) == ("checkpoint-20", 20, "eval_loss", 0.81)


def test_mode_max_ranks_metrics_where_higher_is_better():
    choice = choose_checkpoint("best", CHECKPOINTS, read_evaluations(LOG), metric="eval_accuracy", mode="max")
    assert (choice.checkpoint, choice.value) == ("checkpoint-30", 0.70)


def test_a_tie_goes_to_the_earlier_checkpoint():
    evaluations = [Evaluation(10, 1.0, {"eval_loss": 0.5}), Evaluation(20, 2.0, {"eval_loss": 0.5})]
    assert choose_checkpoint("best", CHECKPOINTS, evaluations).checkpoint == "checkpoint-10"


def test_last_and_a_name_carry_the_metric_when_the_log_has_it():
    evaluations = read_evaluations(LOG)
    last = choose_checkpoint("last", CHECKPOINTS, evaluations)
    assert (last.checkpoint, last.value) == ("checkpoint-30", 0.88)
    named = choose_checkpoint("checkpoint-10", CHECKPOINTS, [])
    assert (named.checkpoint, named.step, named.metric, named.value) == ("checkpoint-10", 10, None, None)


def test_the_gate_fails_naming_the_best_value_its_checkpoint_and_the_threshold():
    with pytest.raises(QualityGateError) as caught:
        choose_checkpoint("best", CHECKPOINTS, read_evaluations(LOG), job_id="ft-1", max_value=0.8)
    message = str(caught.value)
    assert "best eval_loss of fine-tune job ft-1 is 0.81 at checkpoint-20 (step 20)" in message
    assert "above max_value 0.8" in message and "no checkpoint meets the threshold" in message
    assert caught.value.threshold == 0.8 and caught.value.choice.value == 0.81
    passed = choose_checkpoint("best", CHECKPOINTS, read_evaluations(LOG), max_value=0.81)
    assert passed.checkpoint == "checkpoint-20"  # the threshold itself passes


def test_min_value_gates_a_metric_where_higher_is_better():
    evaluations = read_evaluations(LOG)
    with pytest.raises(
        QualityGateError, match=r"best eval_accuracy .* is 0\.7 at checkpoint-30.*below min_value 0\.75"
    ):
        choose_checkpoint("best", CHECKPOINTS, evaluations, metric="eval_accuracy", mode="max", min_value=0.75)


def test_best_without_evaluation_lines_says_the_job_needs_validation_files():
    with pytest.raises(NoEvaluationsError, match="validation files"):
        choose_checkpoint("best", CHECKPOINTS, read_evaluations(LOG[:3]), job_id="ft-1")
    with pytest.raises(NoEvaluationsError, match="validation files"):
        choose_checkpoint("last", CHECKPOINTS, [], max_value=1.0)


def test_an_unknown_name_lists_the_checkpoints_there_are():
    with pytest.raises(UnknownCheckpointError, match="checkpoint-30, checkpoint-20, checkpoint-10"):
        choose_checkpoint("checkpoint-99", CHECKPOINTS)
    with pytest.raises(UnknownCheckpointError, match="no checkpoints"):
        choose_checkpoint("last", [])
