"""Extra links shown on a task's page in the Airflow UI."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_dashscope._sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import TaskInstanceKey

#: The XCom key of the console URL of the job a task works on.
XCOM_JOB_URL = "job_url"

#: The attribute a running task sets to tell its extra link whether it pushed the console URL (see ``get_link``).
CONSOLE_URL_ATTR = "pushed_console_url"


class DashScopeFineTuneJobLink(BaseOperatorLink):
    """Link to the job in the Model Studio console; available as soon as the task knows the job id."""

    name = "DashScope Console"

    def get_link(self, operator: Any, *, ti_key: TaskInstanceKey) -> str:
        # Airflow 3 asks every extra link when the task ends or defers, on the operator that just ran. That
        # operator knows whether it pushed the URL: when it did not (the task failed before it knew the job), the
        # link asks for nothing, since asking Airflow for an XCom that does not exist logs an error. The operator
        # that resumes after deferring, and the operator Airflow 2's webserver passes, know nothing: they read
        # the XCom (which exists, or is quietly None on Airflow 2).
        return console_url_of(operator, ti_key, XCOM_JOB_URL)


def console_url_of(operator: Any, ti_key: TaskInstanceKey, xcom_key: str) -> str:
    """The URL the operator pushed under ``xcom_key``: asked of the operator that ran first, else of XCom."""
    pushed = getattr(operator, CONSOLE_URL_ATTR, None)
    if pushed is False:
        return ""
    if isinstance(pushed, str):
        return pushed
    from airflow.providers.common.compat.sdk import XCom

    return XCom.get_value(key=xcom_key, ti_key=ti_key) or ""


#: The XCom key of the console URL of the deployment a task works on.
XCOM_DEPLOYMENT_URL = "deployment_url"


class DashScopeDeploymentLink(BaseOperatorLink):
    """Link to the deployment in the Model Studio console; available as soon as the task knows its name."""

    name = "DashScope Deployment"

    def get_link(self, operator: Any, *, ti_key: TaskInstanceKey) -> str:
        return console_url_of(operator, ti_key, XCOM_DEPLOYMENT_URL)  # as quiet as the job link (see there)
