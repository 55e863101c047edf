"""A job's checkpoints, their evaluation losses and their exports (pure functions of a :class:`~.jobs.Job`).

**Checkpoints.** A SUCCEEDED job has one checkpoint per epoch (``n_epochs`` of its hyper-parameters, default 1;
a fractional last epoch adds a checkpoint at the last step), named ``checkpoint-<step>``, at the step of its
training log where that epoch ended. Listed newest step first; a job that has not SUCCEEDED lists none.

**Evaluation losses.** A job with validation files logs an evaluation line after each checkpoint's step. The
losses are the seed's or plan's ``eval_losses`` (one per checkpoint, oldest first; missing ones follow the
default curve), else a curve that falls and then rises again (the model over-fits in its last epochs), so the
best checkpoint is often not the last.

**Exports.** ``GET /fine-tunes/{job_id}/export/{checkpoint}?model_name=`` starts an export: ``PENDING`` for the
first half of ``export_seconds`` (default :data:`DEFAULT_EXPORT_SECONDS`), ``PROCESSING`` for the second, then
the job's ``export_outcome`` (``SUCCEEDED`` by default, or ``FAILED`` / ``UNSUPPORTED``). The deployable
``model_name`` (``<finetuned_output>-c<step>``) is listed only once SUCCEEDED; ``model_display_name`` is the name
the export was given. A checkpoint nobody exported has no ``status`` field (the API does not document one).
Exporting again under the same name is a no-op; under another name it starts a new export; a name another
checkpoint's export already uses is a 409 ``Conflict``.
"""

from __future__ import annotations

import math
from typing import Any

from .config import EmulatorConfig
from .errors import ApiError, invalid, not_found, unsupported
from .jobs import SUCCEEDED, Job, finetuned_output_of, status_at
from .run import _epochs, loss_at, max_steps_of
from .times import plain

DEFAULT_EXPORT_SECONDS = 2.0
EXPORT_OUTCOMES = frozenset({"SUCCEEDED", "FAILED", "UNSUPPORTED"})
#: Days a checkpoint is kept after it was saved (``expire_time``).
KEEP_DAYS = 15


def default_eval_loss(fraction: float) -> float:
    """The evaluation loss at a point of the run: the training loss, a gap, and over-fitting late in the run."""
    return round(loss_at(fraction) + 0.15 + 0.6 * fraction * fraction, 4)


def has_validation(job: Job) -> bool:
    return bool(job.validation_file_ids or job.validation_datasets)


def checkpoint_steps(job: Job, config: EmulatorConfig) -> list[tuple[int, float]]:
    """``(step, epoch)`` of each checkpoint, oldest first, on the steps of the training log."""
    max_steps = max(1, max_steps_of(job, config))
    n_epochs = _epochs(job)
    points: list[tuple[int, float]] = []
    for epoch in range(1, math.floor(n_epochs + 1e-9) + 1):
        step = max(1, min(max_steps, round(max_steps * epoch / n_epochs)))
        if not points or step > points[-1][0]:
            points.append((step, float(epoch)))
    if not points or points[-1][0] < max_steps:
        points.append((max_steps, float(n_epochs)))
    return points


def eval_losses(job: Job, config: EmulatorConfig) -> list[float]:
    """The evaluation loss at each checkpoint, oldest first."""
    steps = checkpoint_steps(job, config)
    max_steps = steps[-1][0]
    given = list(job.eval_losses or [])
    return [
        float(given[i]) if i < len(given) else default_eval_loss(step / max_steps) for i, (step, _) in enumerate(steps)
    ]


def eval_line(loss: float, epoch: float) -> str:
    """An evaluation line in the Trainer's style."""
    return (
        f"{{'eval_loss': {loss}, 'eval_runtime': 1.234, 'eval_samples_per_second': 40.52, "
        f"'eval_steps_per_second': 5.06, 'epoch': {round(epoch, 4)}}}"
    )


def _export_phase(export: dict[str, Any], job: Job, now: float) -> str:
    elapsed = now - float(export["started"])
    seconds = DEFAULT_EXPORT_SECONDS if job.export_seconds is None else job.export_seconds
    if elapsed < seconds / 2:
        return "PENDING"
    if elapsed < seconds:
        return "PROCESSING"
    return job.export_outcome or SUCCEEDED


def list_checkpoints(job: Job, now: float, config: EmulatorConfig) -> list[dict[str, Any]]:
    """The ``output`` array of ``GET /fine-tunes/{job_id}/checkpoints``, newest step first."""
    if status_at(job, now) != SUCCEEDED:
        return []
    saved_at = job.created + job.pending_seconds
    items = []
    for step, _epoch in checkpoint_steps(job, config):
        name = f"checkpoint-{step}"
        created = saved_at + step * config.log_interval_seconds
        item: dict[str, Any] = {
            "create_time": plain(created, config.tz),
            "full_name": f"{job.job_id}:{name}",
            "job_id": job.job_id,
            "checkpoint_id": f"{job.job_id}:{name}",
            "checkpoint": name,
        }
        export = (job.exports or {}).get(name)
        if export is not None:
            phase = _export_phase(export, job, now)
            item["status"] = phase
            if phase == SUCCEEDED:
                item["model_name"] = f"{finetuned_output_of(job)}-c{step}"
                item["model_display_name"] = export["model_name"]
        item["expire_time"] = plain(created + KEEP_DAYS * 86400, config.tz)
        item["step"] = step
        items.append(item)
    return list(reversed(items))


def export(job: Job, checkpoint: str, model_name: Any, now: float, config: EmulatorConfig, others: list[Job]) -> bool:
    """Start exporting ``checkpoint`` of ``job`` as ``model_name`` (mutates ``job.exports``)."""
    if not isinstance(model_name, str) or not model_name.strip():
        raise invalid("Missing model_name")
    if status_at(job, now) != SUCCEEDED:
        raise unsupported("Only checkpoints of a succeeded fine-tuning job can be exported.")
    if checkpoint not in {f"checkpoint-{step}" for step, _ in checkpoint_steps(job, config)}:
        raise not_found()
    exports = job.exports if job.exports is not None else {}
    current = exports.get(checkpoint)
    if current is not None and current["model_name"] == model_name:
        return True
    for other in others:
        for name, record in (other.exports or {}).items():
            if record["model_name"] == model_name and (other is not job or name != checkpoint):
                raise ApiError(409, "Conflict", f"Model name {model_name} already exists, please use another name.")
    exports[checkpoint] = {"model_name": model_name, "started": now}
    job.exports = exports
    return True
