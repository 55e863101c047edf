"""Kept so that DAGs importing this module keep working: the fine-tune operators live in
:mod:`airflow_provider_dashscope.operators.fine_tunes`."""

from airflow_provider_dashscope.operators.fine_tunes import (
    DashScopeCreateFineTuneJobOperator,
    DashScopeFineTuneJobLink,
    DashScopeFineTuneJobOperator,
)

__all__ = ["DashScopeCreateFineTuneJobOperator", "DashScopeFineTuneJobLink", "DashScopeFineTuneJobOperator"]
