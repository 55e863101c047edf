"""A sensor that waits until a DashScope fine-tune job reaches a terminal status."""

from __future__ import annotations

import time
from functools import cached_property
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import (
    AirflowSensorTimeout,
    AirflowSkipException,
    BaseSensorOperator,
    PokeReturnValue,
    conf,
)

from airflow_provider_dashscope import _waiting
from airflow_provider_dashscope._wire import validate_job_id
from airflow_provider_dashscope.operators.dashscope import DashScopeFineTuneJobLink
from airflow_provider_dashscope.exceptions import (
    DashScopeError,
    FineTuneJobError,
    FineTuneJobTimeoutError,
    NotFoundError,
)

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_dashscope.hooks.dashscope import DashScopeHook
    from airflow_provider_dashscope.models import FineTuneJob


class DashScopeFineTuneJobSensor(BaseSensorOperator):
    """
    Wait until a fine-tune job is SUCCEEDED (success), FAILED or CANCELED (the task fails without retries).

    The job is checked once before deferring; a job that already ended finishes the task at once. In deferrable
    mode the wait runs in the triggerer and ``timeout`` travels inside the trigger as an absolute deadline.
    ``soft_fail=True`` turns a failed or cancelled job, and a timeout, into a skip. An unknown job id (404)
    fails at once. The return value (XCom ``return_value``) is a small dict of the job.

    :param job_id: The fine-tune job id (templated).
    :param dashscope_conn_id: The DashScope connection id (templated).
    :param poll_interval: Seconds between checks (also the ``poke_interval`` of poke/reschedule modes).
    :param deferrable: Wait in the triggerer. Defaults to ``[operators] default_deferrable``.
    :param max_consecutive_failures: Failed checks in a row (network, 429, 5xx) tolerated before failing.
    """

    template_fields: Sequence[str] = ("job_id", "dashscope_conn_id")
    ui_color = "#ff6a00"
    operator_extra_links = (DashScopeFineTuneJobLink(),)

    def __init__(
        self,
        *,
        job_id: str,
        dashscope_conn_id: str = "dashscope_default",
        poll_interval: float = _waiting.DEFAULT_POLL_INTERVAL,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        max_consecutive_failures: int = _waiting.DEFAULT_MAX_CONSECUTIVE_FAILURES,
        **kwargs: Any,
    ) -> None:
        poll_interval = _waiting.check_seconds("poll_interval", poll_interval, allow_zero=False)
        kwargs.setdefault("poke_interval", poll_interval)
        if "timeout" in kwargs:
            kwargs["timeout"] = _waiting.check_seconds("timeout", kwargs["timeout"], allow_zero=True)
        super().__init__(**kwargs)
        _waiting.check_job_id_arg(job_id)
        self.job_id = job_id
        self.dashscope_conn_id = dashscope_conn_id
        self.poll_interval = poll_interval
        self.deferrable = deferrable
        self.max_consecutive_failures = _waiting.check_max_failures(max_consecutive_failures)

    @cached_property
    def hook(self) -> DashScopeHook:
        from airflow_provider_dashscope.hooks.dashscope import DashScopeHook

        return DashScopeHook(self.dashscope_conn_id)

    def _get_job(self, hook: DashScopeHook) -> FineTuneJob:
        try:
            return hook.get_fine_tune_job(self.job_id)
        except NotFoundError as err:
            raise self._maybe_skip(_waiting.not_found_error(self.job_id, err.request_id)) from None

    def execute(self, context: Context) -> Any:
        self.job_id = validate_job_id(self.job_id)
        hook = self.hook
        url = hook.console_url(self.job_id)
        context["ti"].xcom_push(key=_waiting.XCOM_JOB_ID, value=self.job_id)
        context["ti"].xcom_push(key=_waiting.XCOM_JOB_URL, value=url)
        self.log.info("Fine-tune job %s: %s", self.job_id, url)
        if not self.deferrable:
            return super().execute(context)
        job = self._get_job(hook)
        event = _waiting.event_for_job(job)
        if event is not None:
            return self._complete(event)
        from airflow_provider_dashscope.triggers.dashscope import DashScopeFineTuneJobTrigger

        self.log.info("Fine-tune job %s is %s; deferring", job.job_id, job.status_text)
        self.defer(
            trigger=DashScopeFineTuneJobTrigger(
                job_id=self.job_id,
                dashscope_conn_id=self.dashscope_conn_id,
                poll_interval=self.poll_interval,
                deadline=_waiting.deadline_from(self.timeout, self.execution_timeout),
                max_consecutive_failures=self.max_consecutive_failures,
                started_at=time.time(),
                last_status=job.status_text,
            ),
            method_name="execute_complete",
            timeout=None,
        )

    @cached_property
    def _tracker(self) -> _waiting.PollTracker:
        """The trigger's rules for the poke loop: the failure budget and one INFO line per status change."""
        return _waiting.PollTracker(
            self.job_id,
            max_failures=self.max_consecutive_failures,
            started_at=time.time(),
            last_status=None,
            log=self.log,
        )

    def poke(self, context: Context) -> bool | PokeReturnValue:
        try:
            job = self._get_job(self.hook)
        except DashScopeError as err:
            if self._tracker.on_error(err) is not None:
                raise
            return False
        event = self._tracker.on_job(job)
        if event is None:
            return False
        return PokeReturnValue(is_done=True, xcom_value=self._complete(event))

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._complete(_waiting.validate_event(event))

    def _complete(self, event: dict[str, Any]) -> dict[str, Any]:
        if event["status"] == "success":
            self.log.info("%s", event["message"])
            return {key: (event.get("job") or {}).get(key) for key in _waiting.RESULT_KEYS}
        if event["status"] == "failed":
            _waiting.log_training_tail(self.hook, event["job_id"], self.log)
        try:
            _waiting.raise_for_event(event)
        except FineTuneJobTimeoutError as err:
            if self.soft_fail:
                raise AirflowSkipException(f"{err} (soft_fail)") from None
            raise AirflowSensorTimeout(str(err)) from None
        except FineTuneJobError as err:
            raise self._maybe_skip(err) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _maybe_skip(self, err: FineTuneJobError) -> Exception:
        if self.soft_fail:
            return AirflowSkipException(f"{err} (soft_fail)")
        return err
