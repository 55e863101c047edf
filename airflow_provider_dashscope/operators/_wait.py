"""The operator every DashScope operator that waits on a resource is: its wait arguments, and handing on."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow_provider_dashscope._checks.arguments import (
    DEFAULT_MAX_CONSECUTIVE_FAILURES,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_TIMEOUT,
    check_interval,
    check_max_failures,
    check_seconds,
)
from airflow_provider_dashscope._regions import DEFAULT_CONN_ID
from airflow_provider_dashscope._sdk import BaseOperator, conf
from airflow_provider_dashscope.tasks.wait import ResourceWaitMixin

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context


class ResourceWaitOperator(ResourceWaitMixin, BaseOperator):
    """An operator that acts on a resource, then waits for it (by default) and hands its result on."""

    ui_color = "#ff6a00"

    def __init__(
        self,
        *,
        dashscope_conn_id: str = DEFAULT_CONN_ID,
        wait_for_completion: bool = True,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        timeout: float | timedelta | None = DEFAULT_TIMEOUT,
        max_consecutive_failures: int = DEFAULT_MAX_CONSECUTIVE_FAILURES,
        soft_fail: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.dashscope_conn_id = dashscope_conn_id
        self.wait_for_completion = wait_for_completion
        self.deferrable = deferrable
        self.poll_interval = check_interval(poll_interval)
        self.timeout = check_seconds("timeout", timeout, allow_zero=True, allow_none=True)
        self.max_consecutive_failures = check_max_failures(max_consecutive_failures)
        self.soft_fail = soft_fail
        if deferrable and not wait_for_completion:
            self.log.warning("deferrable=True has no effect with wait_for_completion=False")

    def _hand_on(self, context: Context, resource_id: str, resource: Any) -> dict[str, Any]:
        """Wait (``wait_for_completion``), or hand on the resource as it is now, without failing on its status."""
        if self.wait_for_completion:
            return self._wait_on(context, resource_id, resource)
        from airflow_provider_dashscope.wait.outcomes import Outcome

        policy = self.wait_policy
        status = policy.status_of(resource)
        self.log.info("%s %s is %s (not waiting)", policy.kind, resource_id, status)
        result = policy.result_of(policy.summary_of(resource))
        for key in policy.xcom_keys:
            self._push(context, key, result[key])
        if policy.outcome_of(status) is Outcome.SUCCESS:
            self._on_success(context, result)
        return result
