"""The shape of a job's run that its log and its checkpoints share: steps, epochs and the loss curve."""

from __future__ import annotations

import math

from .config import EmulatorConfig
from .jobs import Job

#: The most step lines a log has.
MAX_LOG_STEPS = 100_000


def loss_at(fraction: float) -> float:
    """A training loss that falls from about 2.55 to 0.35 + 2.2/e^3 over the run."""
    return 0.35 + 2.2 * math.exp(-3.0 * fraction)


def _epochs(job: Job) -> float:
    n_epochs = job.hyper_parameters.get("n_epochs", 1)
    if not isinstance(n_epochs, (int, float)) or isinstance(n_epochs, bool) or n_epochs <= 0:
        return 1
    return n_epochs


def max_steps_of(job: Job, config: EmulatorConfig) -> int:
    """The number of step lines a full run logs."""
    return min(MAX_LOG_STEPS, math.floor(job.running_seconds / config.log_interval_seconds + 1e-9))
