"""Validation metrics read from a fine-tune job's training log, and the choice of a checkpoint by them (no I/O).

A job given validation files logs, at each evaluation, a Trainer-style line such as
``{'eval_loss': 0.81, 'eval_runtime': 1.2, 'epoch': 1.0}`` beside its training lines
(:mod:`.training_log`). :func:`read_evaluations` turns a log into :class:`Evaluation` values: the step (that of
the training line logged just before, the step the Trainer evaluated at) or the epoch, and the metrics.
:func:`evaluation_for` relates one to a checkpoint by step, and :func:`choose_checkpoint` picks the checkpoint a
task exports (``"last"``, ``"best"`` by a metric, or a name) and applies a quality gate.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_dashscope.wait.training_log import MAX_LINE_CHARS, dict_of, parse_line

#: The metric ``"best"`` ranks by when none is named.
DEFAULT_METRIC = "eval_loss"
MODES = ("min", "max")


@dataclass(frozen=True)
class Evaluation:
    """One evaluation: where in the run (``step``, ``epoch``; either may be unknown) and its metrics."""

    step: int | None
    epoch: float | None
    metrics: Mapping[str, float] = field(default_factory=dict)


def parse_eval_line(text: Any) -> dict[str, float] | None:
    """The metrics of an evaluation line (every number whose key starts with ``eval_``, and ``epoch``), or None."""
    if not isinstance(text, str) or len(text) > MAX_LINE_CHARS or "eval_" not in text:
        return None
    value = dict_of(text)
    if value is None:
        return None
    metrics = {
        str(key): float(number)
        for key, number in value.items()
        if isinstance(key, str)
        and (key.startswith("eval_") or key in ("epoch", "step"))
        and isinstance(number, (int, float))
        and not isinstance(number, bool)
        and math.isfinite(number)
    }
    return metrics if any(key.startswith("eval_") for key in metrics) else None


def read_evaluations(lines: Iterable[str]) -> tuple[Evaluation, ...]:
    """Every evaluation in a training log, in log order."""
    found: list[Evaluation] = []
    last_step: int | None = None
    for text in lines:
        metrics = parse_eval_line(text)
        if metrics is None:
            record = parse_line(text)
            if record is not None and record.step is not None:
                last_step = record.step
            continue
        epoch = metrics.pop("epoch", None)
        step = metrics.pop("step", None)
        found.append(Evaluation(int(step) if step is not None else last_step, epoch, metrics))
    return tuple(found)


def evaluation_for(step: int | None, evaluations: Sequence[Evaluation]) -> Evaluation | None:
    """The evaluation made at a checkpoint's step (the latest one logged at that step), if any."""
    if step is None:
        return None
    at = [evaluation for evaluation in evaluations if evaluation.step == step]
    return at[-1] if at else None


def final_metric(evaluations: Sequence[Evaluation], metric: str = DEFAULT_METRIC) -> float | None:
    """The last value of ``metric`` in the log (a job's final eval loss), or None."""
    for evaluation in reversed(evaluations):
        if metric in evaluation.metrics:
            return evaluation.metrics[metric]
    return None


# ---------------------------------------------------------------------------------------------- choosing one
@dataclass(frozen=True)
class CheckpointChoice:
    """The checkpoint a task exports, and what it was chosen by."""

    checkpoint: str
    step: int | None
    metric: str | None = None
    value: float | None = None


class NoEvaluationsError(ValueError):
    """``"best"`` was asked for, but the log has no evaluation of the metric at any checkpoint."""


class QualityGateError(ValueError):
    """The best checkpoint does not meet the threshold."""

    def __init__(self, message: str, *, choice: CheckpointChoice, threshold: float) -> None:
        super().__init__(message)
        self.choice = choice
        self.threshold = threshold


class UnknownCheckpointError(ValueError):
    """The named checkpoint is not among the job's checkpoints."""


def choose_checkpoint(
    wanted: str,
    checkpoints: Sequence[tuple[str, int | None]],
    evaluations: Sequence[Evaluation] = (),
    *,
    job_id: str = "the job",
    metric: str = DEFAULT_METRIC,
    mode: str = "min",
    max_value: float | None = None,
    min_value: float | None = None,
) -> CheckpointChoice:
    """Pick a checkpoint from ``(name, step)`` pairs (any order): ``"last"`` (the highest step), ``"best"`` (the
    best value of ``metric``, lowest for ``mode="min"``, highest for ``"max"``; ties go to the earlier step) or a
    name. The chosen checkpoint's value must then be ``<= max_value`` / ``>= min_value`` when given."""
    if not checkpoints:
        raise UnknownCheckpointError(f"fine-tune job {job_id} has no checkpoints (has it SUCCEEDED?)")
    ordered = sorted(checkpoints, key=lambda item: (item[1] is None, item[1] or 0))
    if wanted == "best":
        scored = []
        for name, step in ordered:
            evaluation = evaluation_for(step, evaluations)
            if evaluation is not None and metric in evaluation.metrics:
                scored.append((evaluation.metrics[metric], name, step))
        if not scored:
            raise NoEvaluationsError(
                f"checkpoint='best' needs the job's evaluation results, but the training log of fine-tune job "
                f"{job_id} has no {metric!r} at any checkpoint: train with validation files (validation_file_ids) "
                f"so that the job evaluates, or pass checkpoint='last' or a checkpoint name"
            )
        sign = 1 if mode == "min" else -1
        value, name, step = min(scored, key=lambda item: sign * item[0])  # min() keeps the first (earliest) tie
        choice = CheckpointChoice(name, step, metric, value)
    else:
        if wanted == "last":
            name, step = ordered[-1]
        else:
            named = [item for item in ordered if item[0] == wanted]
            if not named:
                names = ", ".join(name for name, _ in reversed(ordered))
                raise UnknownCheckpointError(
                    f"fine-tune job {job_id} has no checkpoint {wanted!r}; its checkpoints are: {names}"
                )
            name, step = named[0]
        evaluation = evaluation_for(step, evaluations)
        found = evaluation.metrics.get(metric) if evaluation is not None else None
        choice = CheckpointChoice(name, step, metric if found is not None else None, found)
    _gate(choice, metric, max_value, min_value, job_id, best=wanted == "best")
    return choice


def _gate(
    choice: CheckpointChoice, metric: str, max_value: float | None, min_value: float | None, job_id: str, *, best: bool
) -> None:
    for threshold, ok, words in (
        (max_value, lambda v, t: v <= t, "above max_value"),
        (min_value, lambda v, t: v >= t, "below min_value"),
    ):
        if threshold is None:
            continue
        if choice.value is None:
            raise NoEvaluationsError(
                f"a threshold on {metric!r} needs the job's evaluation results, but fine-tune job {job_id} logged "
                f"no {metric!r} at {choice.checkpoint}: train with validation files (validation_file_ids)"
            )
        if not ok(choice.value, threshold):
            which = "no checkpoint meets" if best else "the checkpoint does not meet"
            raise QualityGateError(
                f"quality gate: the {'best ' if best else ''}{metric} of fine-tune job {job_id} is "
                f"{choice.value:g} at {choice.checkpoint} (step {choice.step}), {words} {threshold:g}; {which} the "
                "threshold, so nothing is exported",
                choice=choice,
                threshold=threshold,
            )
