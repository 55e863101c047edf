"""A sensor that waits until a DashScope fine-tune job reaches a terminal status."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import (
    AirflowSensorTimeout,
    BaseSensorOperator,
    PokeReturnValue,
    conf,
)

from airflow_provider_dashscope._arguments import (
    DEFAULT_MAX_CONSECUTIVE_FAILURES,
    DEFAULT_POLL_INTERVAL,
    check_interval,
    check_max_failures,
    check_seconds,
)
from airflow_provider_dashscope.links import DashScopeFineTuneJobLink
from airflow_provider_dashscope.wait.drivers import emit
from airflow_provider_dashscope.wait.fine_tune_task import FineTuneJobWaitMixin
from airflow_provider_dashscope.wait.machine import Done

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context


class DashScopeFineTuneJobSensor(FineTuneJobWaitMixin, BaseSensorOperator):
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

    template_fields: Sequence[str] = ("job_id", "dashscope_conn_id")
    ui_color = "#ff6a00"
    operator_extra_links = (DashScopeFineTuneJobLink(),)

    def __init__(
        self,
        *,
        job_id: str,
        dashscope_conn_id: str = "dashscope_default",
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        max_consecutive_failures: int = DEFAULT_MAX_CONSECUTIVE_FAILURES,
        log_training_progress: bool = True,
        **kwargs: Any,
    ) -> None:
        poll_interval = check_interval(poll_interval)
        kwargs.setdefault("poke_interval", poll_interval)
        if "timeout" in kwargs:
            kwargs["timeout"] = check_seconds("timeout", kwargs["timeout"], allow_zero=True)
        super().__init__(**kwargs)
        self._take_job_id(job_id)
        self.dashscope_conn_id = dashscope_conn_id
        self.poll_interval = poll_interval
        self.deferrable = deferrable
        self.max_consecutive_failures = check_max_failures(max_consecutive_failures)
        self.log_training_progress = bool(log_training_progress)

    def execute(self, context: Context) -> Any:
        self.job_id = self._rendered_job_id()
        self._announce(context, self.job_id)
        if self.mode == "reschedule" and not self.deferrable:
            return super().execute(context)  # Airflow reschedules the task between checks; see poke()
        return self._wait_on(context, self.job_id, self._check(context, self.job_id))

    def poke(self, context: Context) -> bool | PokeReturnValue:
        """One check, as the reschedule mode makes them (each in a new run of the task)."""
        now = time.time()
        machine = self._machine(self.job_id, deadline=None, started_at=now)
        machine.next_action(now)  # a machine that has seen nothing polls at once
        try:
            result: Any = self._fetch(self.hook, self.job_id)
        except Exception as err:
            result = err
        emit(self.log, machine.on_result(result, time.time()))
        action = machine.next_action(time.time())
        if not isinstance(action, Done):
            return False
        return PokeReturnValue(is_done=True, xcom_value=self._complete(context, action.event))

    def _timeout_exception(self, error: Exception) -> Exception:
        return AirflowSensorTimeout(str(error))
