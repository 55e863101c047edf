"""Triggers that wait, in the triggerer, until a deployment serves (RUNNING) or until it is gone."""

from __future__ import annotations

from typing import Any

from airflow_provider_dashscope.hooks.dashscope import DashScopeHook
from airflow_provider_dashscope.models import Deployment
from airflow_provider_dashscope.resources.deployments import validate_deployed_model
from airflow_provider_dashscope.triggers.base import DashScopeWaitTrigger
from airflow_provider_dashscope.wait.deployments import DEPLOYMENT_DELETED, DEPLOYMENT_RUNNING


class DashScopeDeploymentTrigger(DashScopeWaitTrigger[Deployment]):
    """
    Poll a deployment until it is RUNNING (or in a status from which it does not become RUNNING), then fire one
    event.

    Transient failures (network, 429, 5xx) are tolerated until ``max_consecutive_failures`` polls in a row have
    failed; a 404 ends the wait at once. The event's payload: ``status`` (``success``, ``failed``, ``error`` or
    ``timeout``), ``deployed_model``, ``deployment_status``, ``message``, ``deployment`` (the deployment's
    summary), ``http_status`` and ``request_id``. A deployment is never deleted by the trigger (``cancel_on_kill``
    is accepted for a uniform signature and ignored).

    :param deployed_model: The deployment (its ``deployed_model`` name).
    :param dashscope_conn_id: The connection id (resolved in the triggerer, the async-safe way).
    :param poll_interval: Seconds between polls (jittered by +/-10 %).
    :param deadline: Absolute epoch seconds after which a ``timeout`` event fires; ``None`` waits forever.
    :param max_consecutive_failures: Failed polls in a row tolerated before an ``error`` event.
    :param started_at: Epoch seconds when the wait began, for the elapsed time in log lines.
    :param last_status: The status the task saw before deferring (spreads the first poll).
    """

    policy = DEPLOYMENT_RUNNING
    id_kwarg = "deployed_model"

    def __init__(self, deployed_model: str, **kwargs: Any) -> None:
        super().__init__(validate_deployed_model(deployed_model), **kwargs)
        self.cancel_on_kill = False

    @property
    def deployed_model(self) -> str:
        return self.resource_id

    async def _fetch(self, hook: DashScopeHook) -> Deployment:
        return await hook.aget_deployment(self.resource_id)

    def _console_url(self, hook: DashScopeHook) -> str:
        return hook.deployment_console_url(self.resource_id)


class DashScopeDeploymentDeletionTrigger(DashScopeDeploymentTrigger):
    """
    Poll a deployment that is being deleted until a get answers 404 (``success``: it is gone); every status keeps
    the wait going, up to the ``deadline``. Same arguments and event as :class:`DashScopeDeploymentTrigger`.
    """

    policy = DEPLOYMENT_DELETED
