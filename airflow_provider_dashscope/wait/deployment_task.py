"""What every task that waits on a deployment shares: the deploy operator, the sensor and the delete operator."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_dashscope._arguments import check_id_arg, check_rendered_id, template_of
from airflow_provider_dashscope.links import XCOM_DEPLOYMENT_URL
from airflow_provider_dashscope.resources.deployments import DEPLOYED_MODEL_HINT, validate_deployed_model
from airflow_provider_dashscope.wait.deployments import DEPLOYMENT_RUNNING
from airflow_provider_dashscope.wait.task import ResourceWaitMixin

if TYPE_CHECKING:
    from airflow.triggers.base import BaseTrigger

    from airflow_provider_dashscope.hooks.dashscope import DashScopeHook
    from airflow_provider_dashscope.models import Deployment


class DeploymentWaitMixin(ResourceWaitMixin["Deployment"]):
    """Waits until the deployment is RUNNING (:data:`~.deployments.DEPLOYMENT_RUNNING`); the delete operator
    overrides the policy and the trigger to wait until it is gone."""

    wait_policy = DEPLOYMENT_RUNNING
    id_xcom_key = "deployed_model"
    url_xcom_key = XCOM_DEPLOYMENT_URL
    #: The trigger's class path, imported only when the task defers.
    trigger_class = "airflow_provider_dashscope.triggers.deployments.DashScopeDeploymentTrigger"
    deployed_model: Any
    #: The ``deployed_model`` argument's template, if it was one (to name it when it renders to a missing value).
    _deployed_model_template: str | None = None

    def _take_deployed_model(self, deployed_model: Any) -> None:
        """At DAG parse: keep the ``deployed_model`` argument (and its template); a literal one must be valid now."""
        check_id_arg(deployed_model, validate_deployed_model, field_name="deployed_model", hint=DEPLOYED_MODEL_HINT)
        self.deployed_model = deployed_model
        self._deployed_model_template = template_of(deployed_model)

    def _rendered_deployed_model(self) -> str:
        """At the start of ``execute``: the rendered ``deployed_model``, refused before any request if unusable."""
        return check_rendered_id(
            self.deployed_model,
            validate_deployed_model,
            field_name="deployed_model",
            template=self._deployed_model_template,
            hint=DEPLOYED_MODEL_HINT,
        )

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
