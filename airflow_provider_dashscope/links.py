"""Extra links shown on a task's page in the Airflow UI."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.providers.common.compat.sdk import BaseOperatorLink, XCom

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import TaskInstanceKey

#: The XCom key of the console URL of the job a task works on.
XCOM_JOB_URL = "job_url"


class DashScopeFineTuneJobLink(BaseOperatorLink):
    """Link to the job in the Model Studio console; available as soon as the task knows the job id."""

    name = "DashScope Console"

    def get_link(self, operator: Any, *, ti_key: TaskInstanceKey) -> str:
        return XCom.get_value(key=XCOM_JOB_URL, ti_key=ti_key) or ""


#: The XCom key of the console URL of the deployment a task works on.
XCOM_DEPLOYMENT_URL = "deployment_url"


class DashScopeDeploymentLink(BaseOperatorLink):
    """Link to the deployment in the Model Studio console; available as soon as the task knows its name."""

    name = "DashScope Deployment"

    def get_link(self, operator: Any, *, ti_key: TaskInstanceKey) -> str:
        return XCom.get_value(key=XCOM_DEPLOYMENT_URL, ti_key=ti_key) or ""
