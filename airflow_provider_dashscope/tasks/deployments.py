"""What every task that waits on a deployment shares: the deploy operator, the sensor and the delete operator."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_dashscope.links import XCOM_DEPLOYMENT_URL
from airflow_provider_dashscope.resources.deployments import DEPLOYED_MODEL_HINT, validate_deployed_model
from airflow_provider_dashscope.tasks.wait import ResourceWaitMixin

if TYPE_CHECKING:
    from airflow.triggers.base import BaseTrigger

    from airflow_provider_dashscope.hooks.dashscope import DashScopeHook
    from airflow_provider_dashscope.models import Deployment
    from airflow_provider_dashscope.wait.policy import WaitPolicy


class DeploymentWaitMixin(ResourceWaitMixin["Deployment"]):
    """Waits until the deployment is RUNNING (:data:`~.deployments.DEPLOYMENT_RUNNING`); the delete operator
    overrides the policy and the trigger to wait until it is gone."""

    id_field = "deployed_model"
    id_hint = DEPLOYED_MODEL_HINT
    url_xcom_key = XCOM_DEPLOYMENT_URL
    #: The trigger's class path, imported only when the task defers.
    trigger_class = "airflow_provider_dashscope.triggers.deployments.DashScopeDeploymentTrigger"
    deployed_model: Any

    @property
    def wait_policy(self) -> WaitPolicy[Deployment]:
        from airflow_provider_dashscope.wait.deployments import DEPLOYMENT_RUNNING

        return DEPLOYMENT_RUNNING

    def _validate_id(self, value: Any) -> str:
        return validate_deployed_model(value)

    def _fetch(self, hook: DashScopeHook, resource_id: str) -> Deployment:
        return hook.get_deployment(resource_id)

    def _console_url(self, resource_id: str) -> str:
        return self.hook.deployment_console_url(resource_id)

    def _make_trigger(
        self, resource_id: str, *, deadline: float | None, started_at: float, last_status: str | None
    ) -> BaseTrigger:
        import importlib

        module, _, name = self.trigger_class.rpartition(".")
        trigger: BaseTrigger = getattr(importlib.import_module(module), name)(
            deployed_model=resource_id,
            dashscope_conn_id=self.dashscope_conn_id,
            poll_interval=self.poll_interval,
            deadline=deadline,
            max_consecutive_failures=self.max_consecutive_failures,
            started_at=started_at,
            last_status=last_status,
        )
        return trigger
