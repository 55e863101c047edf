"""What a task that waits on a deployment needs to know of it: :data:`DEPLOYMENT_WAIT` (until it serves) and
:data:`DEPLOYMENT_DELETION_WAIT` (until it is gone)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_dashscope._checks.resources import DEPLOYED_MODEL_HINT, validate_deployed_model
from airflow_provider_dashscope.links import XCOM_DEPLOYMENT_URL
from airflow_provider_dashscope.tasks.wait import WaitSpec

if TYPE_CHECKING:
    from airflow_provider_dashscope.models import Deployment
    from airflow_provider_dashscope.triggers.deployments import (
        DashScopeDeploymentDeletionTrigger,
        DashScopeDeploymentTrigger,
    )
    from airflow_provider_dashscope.wait.policy import WaitPolicy


def _running() -> WaitPolicy[Deployment]:
    from airflow_provider_dashscope.wait.deployments import DEPLOYMENT_RUNNING

    return DEPLOYMENT_RUNNING


def _deleted() -> WaitPolicy[Deployment]:
    from airflow_provider_dashscope.wait.deployments import DEPLOYMENT_DELETED

    return DEPLOYMENT_DELETED


def _trigger() -> type[DashScopeDeploymentTrigger]:
    from airflow_provider_dashscope.triggers.deployments import DashScopeDeploymentTrigger

    return DashScopeDeploymentTrigger


def _deletion_trigger() -> type[DashScopeDeploymentDeletionTrigger]:
    from airflow_provider_dashscope.triggers.deployments import DashScopeDeploymentDeletionTrigger

    return DashScopeDeploymentDeletionTrigger


#: A deployment, waited on until it is RUNNING (or in a status from which it does not become RUNNING).
DEPLOYMENT_WAIT: WaitSpec = WaitSpec(
    id_field="deployed_model",
    id_hint=DEPLOYED_MODEL_HINT,
    url_xcom_key=XCOM_DEPLOYMENT_URL,
    validate_id=validate_deployed_model,
    fetch=lambda hook, name: hook.get_deployment(name),
    console_url=lambda hook, name: hook.deployment_console_url(name),
    policy=_running,
    trigger=_trigger,
)

#: A deployment being deleted, waited on until a get answers 404.
DEPLOYMENT_DELETION_WAIT: WaitSpec = DEPLOYMENT_WAIT.replace(policy=_deleted, trigger=_deletion_trigger)
