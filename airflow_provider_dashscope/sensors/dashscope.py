"""Kept so that DAGs importing this module keep working: the fine-tune sensor lives in
:mod:`airflow_provider_dashscope.sensors.fine_tunes`."""

from airflow_provider_dashscope.sensors.fine_tunes import DashScopeFineTuneJobSensor

__all__ = ["DashScopeFineTuneJobSensor"]
