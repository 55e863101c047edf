"""A sensor that waits until a DashScope deployment serves (RUNNING)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_dashscope.links import DashScopeDeploymentLink
from airflow_provider_dashscope.sensors._wait import ResourceWaitSensor
from airflow_provider_dashscope.tasks.deployments import DEPLOYMENT_WAIT


class DashScopeDeploymentSensor(ResourceWaitSensor):
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

    resource = DEPLOYMENT_WAIT
    template_fields: Sequence[str] = ("deployed_model", "dashscope_conn_id")
    operator_extra_links = (DashScopeDeploymentLink(),)

    def __init__(self, *, deployed_model: str, **kwargs: Any) -> None:
        super().__init__(resource_id=deployed_model, **kwargs)
