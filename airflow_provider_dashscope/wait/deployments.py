"""Waiting on a deployment: until it serves (:data:`DEPLOYMENT_RUNNING`), or is gone (:data:`DEPLOYMENT_DELETED`).


**Until it serves.** ``RUNNING`` ends the wait with success. A status from which a deployment does not become
``RUNNING`` by itself ends it as failed, at once: ``FAILED``, ``UPDATING_FAILED`` (a scale that failed), ``STOPPED``,
``OFFLINING`` and ``DELETING`` (it is being taken down), ``ARREARS_DOWN`` (stopped for an unpaid bill; it comes
back only once the account is paid, which a task cannot wait for). ``PENDING``, ``DEPLOYING``, ``UPDATING``,
``ARREARS_RECOVERING`` and any status this provider does not know yet keep the wait going. A 404 is an error
(the deployment does not exist).

**Until it is gone.** After a delete the deployment is ``DELETING`` until a get answers 404: the 404 ends the wait
with success. Every status keeps the wait going (a deletion has no other end), bounded by the task's timeout.
"""

from __future__ import annotations

from airflow_provider_dashscope.exceptions import request_id_note
from airflow_provider_dashscope.models import Deployment, DeploymentStatus
from airflow_provider_dashscope.wait.outcomes import EventKeys, Outcome
from airflow_provider_dashscope.wait.policy import WaitPolicy

DEPLOYMENT_EVENT_KEYS = EventKeys("deployed_model", "deployment_status", "deployment")

#: Statuses from which a deployment does not become RUNNING by itself.
NEVER_RUNNING = frozenset(
    {
        DeploymentStatus.FAILED,
        DeploymentStatus.UPDATING_FAILED,
        DeploymentStatus.STOPPED,
        DeploymentStatus.OFFLINING,
        DeploymentStatus.DELETING,
        DeploymentStatus.ARREARS_DOWN,
    }
)

#: What a wait on a deployment returns (its ``return_value`` XCom) and which of those keys are XComs of their own.
RESULT_KEYS = (
    "deployed_model",
    "model_name",
    "base_model",
    "status",
    "capacity",
    "ready_capacity",
    "plan",
    "gmt_create",
    "gmt_modified",
)
XCOM_KEYS = ("deployed_model", "status")


def _running_outcome(status: str) -> Outcome | None:
    if status == DeploymentStatus.RUNNING:
        return Outcome.SUCCESS
    return Outcome.FAILED if status in NEVER_RUNNING else None


def _running_message(deployment: Deployment, outcome: Outcome) -> str:
    if outcome is Outcome.SUCCESS:
        return (
            f"Deployment {deployment.deployed_model} is RUNNING: model {deployment.model_name}, capacity "
            f"{deployment.capacity}"
        )
    return (
        f"Deployment {deployment.deployed_model} is {deployment.status_text}, from which it does not become RUNNING"
        + request_id_note(deployment.request_id)
    )


DEPLOYMENT_RUNNING: WaitPolicy[Deployment] = WaitPolicy(
    kind="Deployment",
    event_keys=DEPLOYMENT_EVENT_KEYS,
    status_of=lambda deployment: deployment.status_text,
    outcome_of=_running_outcome,
    summary_of=Deployment.summary,
    end_message=_running_message,
    request_id_of=lambda deployment: deployment.request_id,
    result_keys=RESULT_KEYS,
    xcom_keys=XCOM_KEYS,
)

DEPLOYMENT_DELETED: WaitPolicy[Deployment] = WaitPolicy(
    kind="Deployment",
    event_keys=DEPLOYMENT_EVENT_KEYS,
    status_of=lambda deployment: deployment.status_text,
    outcome_of=lambda status: None,
    summary_of=Deployment.summary,
    end_message=lambda deployment, outcome: f"Deployment {deployment.deployed_model} is {deployment.status_text}",
    request_id_of=lambda deployment: deployment.request_id,
    result_keys=("deployed_model", "model_name", "status"),
    xcom_keys=(),
    gone_outcome=Outcome.SUCCESS,
)
