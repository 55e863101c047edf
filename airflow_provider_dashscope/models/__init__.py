"""Typed, deeply immutable models of DashScope answers. See :mod:`.fine_tunes`, :mod:`.files`, :mod:`.deployments`."""

from airflow_provider_dashscope.models._fields import FrozenDict, parse_api_time
from airflow_provider_dashscope.models.deployments import Deployment, DeploymentPage, DeploymentStatus
from airflow_provider_dashscope.models.files import DashScopeFile, DashScopeFilePage
from airflow_provider_dashscope.models.fine_tunes import (
    DEFAULT_API_TIME_ZONE,
    TERMINAL_STATUSES,
    FineTuneJob,
    FineTuneJobLogs,
    FineTuneJobPage,
    JobStatus,
    is_terminal,
)

__all__ = [
    "DEFAULT_API_TIME_ZONE",
    "TERMINAL_STATUSES",
    "DashScopeFile",
    "DashScopeFilePage",
    "Deployment",
    "DeploymentPage",
    "DeploymentStatus",
    "FineTuneJob",
    "FineTuneJobLogs",
    "FineTuneJobPage",
    "FrozenDict",
    "JobStatus",
    "is_terminal",
    "parse_api_time",
]
