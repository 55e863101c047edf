"""A sensor that waits until a DashScope deployment serves (RUNNING)."""

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
from airflow_provider_dashscope.links import DashScopeDeploymentLink
from airflow_provider_dashscope.wait.deployment_task import DeploymentWaitMixin
from airflow_provider_dashscope.wait.drivers import emit
from airflow_provider_dashscope.wait.machine import Done

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context


class DashScopeDeploymentSensor(DeploymentWaitMixin, BaseSensorOperator):
    """
    Wait until a deployment is RUNNING (success); a status from which it does not become RUNNING (``FAILED``,
    ``STOPPED``, ``DELETING``...) fails the task without retries.

    Like the fine-tune job sensor: the deployment is checked once (with the connection's retries), then the wait
    runs in the triggerer (``deferrable=True``), on the worker (``mode="poke"``), or as one check per run of the
    task (``mode="reschedule"``). ``soft_fail=True`` turns a failed deployment and a timeout into a skip. An
    unknown deployment (404) fails at once. XComs: ``deployed_model`` and ``deployment_url`` at once; ``status``
    and the return value (a small dict of the deployment) when it serves.

    :param deployed_model: The deployment's ``deployed_model`` name (templated).
    :param dashscope_conn_id: The DashScope connection id (templated).
    :param poll_interval: Seconds between checks (also the ``poke_interval`` of the reschedule mode).
    :param deferrable: Wait in the triggerer. Defaults to ``[operators] default_deferrable``.
    :param max_consecutive_failures: Failed polls in a row (network, 429, 5xx) tolerated before failing.
    """

    template_fields: Sequence[str] = ("deployed_model", "dashscope_conn_id")
    ui_color = "#ff6a00"
    operator_extra_links = (DashScopeDeploymentLink(),)

    def __init__(
        self,
        *,
        deployed_model: str,
        dashscope_conn_id: str = "dashscope_default",
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        max_consecutive_failures: int = DEFAULT_MAX_CONSECUTIVE_FAILURES,
        **kwargs: Any,
    ) -> None:
        poll_interval = check_interval(poll_interval)
        kwargs.setdefault("poke_interval", poll_interval)
        if "timeout" in kwargs:
            kwargs["timeout"] = check_seconds("timeout", kwargs["timeout"], allow_zero=True)
        super().__init__(**kwargs)
        self._take_deployed_model(deployed_model)
        self.dashscope_conn_id = dashscope_conn_id
        self.poll_interval = poll_interval
        self.deferrable = deferrable
        self.max_consecutive_failures = check_max_failures(max_consecutive_failures)

    def execute(self, context: Context) -> Any:
        self.deployed_model = self._rendered_deployed_model()
        self._announce(context, self.deployed_model)
        if self.mode == "reschedule" and not self.deferrable:
            return super().execute(context)  # Airflow reschedules the task between checks; see poke()
        return self._wait_on(context, self.deployed_model, self._check(context, self.deployed_model))

    def poke(self, context: Context) -> bool | PokeReturnValue:
        """One check, as the reschedule mode makes them (each in a new run of the task)."""
        now = time.time()
        machine = self._machine(self.deployed_model, deadline=None, started_at=now)
        machine.next_action(now)  # a machine that has seen nothing polls at once
        try:
            result: Any = self._fetch(self.hook, self.deployed_model)
        except Exception as err:
            result = err
        emit(self.log, machine.on_result(result, time.time()))
        action = machine.next_action(time.time())
        if not isinstance(action, Done):
            return False
        return PokeReturnValue(is_done=True, xcom_value=self._complete(context, action.event))

    def _timeout_exception(self, error: Exception) -> Exception:
        return AirflowSensorTimeout(str(error))
