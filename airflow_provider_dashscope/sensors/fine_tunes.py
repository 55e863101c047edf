"""A sensor that waits until a DashScope fine-tune job reaches a terminal status."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_dashscope.links import DashScopeFineTuneJobLink
from airflow_provider_dashscope.sensors._wait import ResourceWaitSensor
from airflow_provider_dashscope.tasks.fine_tunes import FINE_TUNE_JOB_WAIT


class DashScopeFineTuneJobSensor(ResourceWaitSensor):
    """
    Wait until a fine-tune job is SUCCEEDED (success), FAILED or CANCELED (the task fails without retries).

    The job is checked once (with the connection's retries); a job that already ended finishes the task at once.
    Then it waits: in the triggerer (``deferrable=True``, ``timeout`` travels inside the trigger as an absolute
    deadline), or on the worker (``mode="poke"``) with the same rules. In ``mode="reschedule"`` each check is a new
    run of the task, so failures cannot add up across checks: a check that still fails after the connection's
    retries is logged and the next check tries again (unless ``max_consecutive_failures`` is 1).
    ``soft_fail=True`` turns a failed or cancelled job, and a timeout, into a skip. An unknown job id (404) fails
    at once. XComs: ``job_id`` and ``job_url`` at once; ``status``, ``finetuned_output``, ``usage`` and the return
    value (a small dict of the job) when it succeeds, as the operators push them.

    :param job_id: The fine-tune job id (templated).
    :param dashscope_conn_id: The DashScope connection id (templated).
    :param poll_interval: Seconds between checks (also the ``poke_interval`` of the reschedule mode).
    :param deferrable: Wait in the triggerer. Defaults to ``[operators] default_deferrable``.
    :param max_consecutive_failures: Failed polls in a row (network, 429, 5xx) tolerated before failing.
    :param log_training_progress: While the job is RUNNING, log its training progress (epoch, step, loss, time
        left) read from its log every few polls, and a summary on success; in deferrable and poke mode (default
        ``True``). Best effort: a failed read never fails the task.
    """

    resource = FINE_TUNE_JOB_WAIT
    template_fields: Sequence[str] = ("job_id", "dashscope_conn_id")
    operator_extra_links = (DashScopeFineTuneJobLink(),)

    def __init__(self, *, job_id: str, log_training_progress: bool = True, **kwargs: Any) -> None:
        super().__init__(resource_id=job_id, **kwargs)
        self.log_training_progress = bool(log_training_progress)
