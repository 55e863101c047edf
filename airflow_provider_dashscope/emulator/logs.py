"""The training log of a job, synthesized from its timeline (no storage, no I/O).

The log grows with the clock: a submit line; once training starts, a start line and one step
line (loss, learning rate, epoch, step) per ``log_interval_seconds`` trained, at most
``MAX_LOG_STEPS``; and a closing block once the job is terminal. A SUCCEEDED job ends with its
token count and ``##FT_COMPLETE##``, a FAILED one with its code and message, a CANCELED one with
the tokens it consumed. Lines are generated on demand, so paging a long log costs only the page.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from .checkpoints import checkpoint_steps, eval_line, eval_losses, has_validation
from .config import EmulatorConfig
from .jobs import (
    CANCELED,
    FAILED,
    RUNNING,
    SUCCEEDED,
    TERMINAL,
    Job,
    end_epoch,
    run_window,
    status_at,
    total_usage,
    trained_seconds,
    usage_at,
)
from .run import MAX_LOG_STEPS, _epochs, loss_at, max_steps_of
from .times import plain

__all__ = ["MAX_LOG_STEPS", "TrainingLog", "loss_at", "training_log"]

#: Seeded or pinned statuses whose log shows that training started (they have no run in the timeline).
_STARTED_STATUSES = frozenset({RUNNING, SUCCEEDED, FAILED, "CANCELING", CANCELED})


@dataclass(frozen=True)
class TrainingLog:
    total: int
    line: Callable[[int], str]

    def page(self, offset: int, count: int) -> list[str]:
        """Lines ``offset`` .. ``offset + count - 1`` (fewer at the end, none past it)."""
        return [self.line(i) for i in range(offset, min(self.total, offset + count))]


def training_log(job: Job, now: float, config: EmulatorConfig) -> TrainingLog:
    status = status_at(job, now)

    def ts(epoch: float) -> str:
        return plain(epoch, config.tz) + ",000"

    submitted = f"fine-tune job {job.job_id} submitted: model={job.model}, training_type={job.training_type}"
    head = [f"{ts(job.created)} - INFO - {submitted}"]
    step = config.log_interval_seconds
    max_steps = max_steps_of(job, config)
    window = run_window(job)
    steps = 0
    if window is not None and window[0] <= now:
        run_start = window[0]
        head.append(f"{ts(run_start)} - INFO - start training {job.job_id} on {job.base_model}")
        steps = min(max_steps, math.floor(trained_seconds(job, now) / step + 1e-9))
    else:  # seeded as running or over: it trained before the emulator knew it
        run_start = job.created + job.pending_seconds
        if window is None and job.seeded_status in _STARTED_STATUSES:
            head.append(f"{ts(run_start)} - INFO - start training {job.job_id} on {job.base_model}")
            if status == SUCCEEDED:
                steps = max_steps
    n_epochs = _epochs(job)
    learning_rate = job.hyper_parameters.get("learning_rate", 1e-5)
    denominator = max(1, max_steps)

    def step_line(k: int) -> str:
        fraction = k / denominator
        return (
            f"{ts(run_start + k * step)} - INFO - {{'loss': {loss_at(fraction):.4f}, "
            f"'learning_rate': {learning_rate!r}, 'epoch': {round(n_epochs * fraction, 4)}, 'step': {k}}}"
        )

    # An evaluation line after each checkpoint's step line, for a job with validation files.
    evals: list[tuple[int, str]] = []  # (position in the body, line)
    if has_validation(job) and max_steps > 0:
        points = checkpoint_steps(job, config)
        for m, ((at, epoch), loss) in enumerate(zip(points, eval_losses(job, config), strict=True)):
            if at <= steps:
                evals.append((at + m, f"{ts(run_start + at * step)} - INFO - {eval_line(loss, epoch)}"))
    eval_at = dict(evals)

    tail: list[str] = []
    if status in TERMINAL:
        end = ts(end_epoch(job))
        if status == SUCCEEDED:
            tokens = total_usage(job, config.tokens_per_second)
            tail = [
                f"{{'train_runtime': {job.running_seconds:.4f}, 'train_steps': {max_steps}, "
                f"'epoch': {float(n_epochs)}}}",
                f" Actual number of consumed tokens is {tokens}!",
                f"{end} - INFO - training usage {tokens}",
                f"{end} - INFO - ##FT_COMPLETE##",
            ]
        elif status == FAILED:
            tail = [f"{end} - ERROR - training failed: {job.failure_code}: {job.failure_message}"]
        else:
            consumed = usage_at(job, status, now, config.tokens_per_second)
            tail = [f"{end} - INFO - training canceled, consumed tokens {consumed}"]
    n_head = len(head)
    n_body = steps + len(evals)

    def line(i: int) -> str:
        if i < n_head:
            return head[i]
        j = i - n_head
        if j < n_body:
            if j in eval_at:
                return eval_at[j]
            return step_line(j + 1 - sum(1 for position, _ in evals if position < j))
        return tail[j - n_body]

    return TrainingLog(n_head + n_body + len(tail), line)
