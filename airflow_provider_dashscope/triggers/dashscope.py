"""Kept so that DAGs and serialized triggers naming this module keep working: the fine-tune trigger lives in
:mod:`airflow_provider_dashscope.triggers.fine_tunes`, the generic one in
:mod:`airflow_provider_dashscope.triggers.base`.
"""

from airflow_provider_dashscope.triggers.base import DashScopeWaitTrigger
from airflow_provider_dashscope.triggers.fine_tunes import DashScopeFineTuneJobTrigger

__all__ = ["DashScopeFineTuneJobTrigger", "DashScopeWaitTrigger"]
