"""The sensor every DashScope resource sensor is: check once, then wait in the triggerer, on the worker, or as one
check per run of the task (``mode="reschedule"``)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from airflow_provider_dashscope._checks.arguments import (
    DEFAULT_MAX_CONSECUTIVE_FAILURES,
    DEFAULT_POLL_INTERVAL,
    check_interval,
    check_max_failures,
    check_seconds,
)
from airflow_provider_dashscope._regions import DEFAULT_CONN_ID
from airflow_provider_dashscope._sdk import BaseSensorOperator, conf
from airflow_provider_dashscope.tasks.wait import ResourceWaitMixin

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context, PokeReturnValue


class ResourceWaitSensor(ResourceWaitMixin, BaseSensorOperator):
    """A sensor on one resource; a subclass names its :attr:`resource` and passes its id argument on.

    ``poll_interval`` is also the ``poke_interval`` of the reschedule mode; ``timeout`` travels inside the trigger
    as an absolute deadline, so a deferred wait that times out still completes the task the sensor's way.
    """

    ui_color = "#ff6a00"

    def __init__(
        self,
        *,
        resource_id: Any,
        dashscope_conn_id: str = DEFAULT_CONN_ID,
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
        self._take_id(resource_id)
        self.dashscope_conn_id = dashscope_conn_id
        self.poll_interval = poll_interval
        self.deferrable = deferrable
        self.max_consecutive_failures = check_max_failures(max_consecutive_failures)

    @property
    def resource_id(self) -> str:
        """The id this sensor waits on (rendered once ``execute`` has started)."""
        return str(getattr(self, self.resource.id_field))

    def execute(self, context: Context) -> Any:
        resource_id = self._rendered_id()
        self._announce(context, resource_id)
        if self.mode == "reschedule" and not self.deferrable:
            return super().execute(context)  # Airflow reschedules the task between checks; see poke()
        return self._wait_on(context, resource_id, self._check(context, resource_id))

    def poke(self, context: Context) -> bool | PokeReturnValue:
        """One check, as the reschedule mode makes them (each in a new run of the task)."""
        from airflow.providers.common.compat.sdk import PokeReturnValue

        from airflow_provider_dashscope.wait.drivers import emit
        from airflow_provider_dashscope.wait.machine import Done

        now = time.time()
        machine = self._machine(self.resource_id, deadline=None, started_at=now)
        machine.next_action(now)  # a machine that has seen nothing polls at once
        try:
            result: Any = self.resource.fetch(self.hook, self.resource_id)
        except Exception as err:
            result = err
        emit(self.log, machine.on_result(result, time.time()))
        action = machine.next_action(time.time())
        if not isinstance(action, Done):
            return False
        return PokeReturnValue(is_done=True, xcom_value=self._complete(context, action.event))

    def _timeout_exception(self, error: Exception) -> Exception:
        from airflow.providers.common.compat.sdk import AirflowSensorTimeout

        return AirflowSensorTimeout(str(error))
