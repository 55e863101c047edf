"""The Airflow classes and configuration a DAG file's tasks are built on: from ``airflow.sdk`` on Airflow 3, from
their Airflow 2 modules otherwise.

Only what building a task needs is here (a DAG file loads this module); what a running task needs is imported where
it runs, through ``airflow.providers.common.compat``. Importing these four names directly costs a DAG parse less
than the compat provider's lazy module (``benchmarks/dag_parse.py``).
"""

from __future__ import annotations

try:
    from airflow.sdk import BaseOperator, BaseOperatorLink, BaseSensorOperator
    from airflow.sdk.configuration import conf
except ImportError:  # Airflow 2
    from airflow.configuration import conf  # type: ignore[no-redef,unused-ignore]
    from airflow.models.baseoperator import BaseOperator  # type: ignore[no-redef,import-not-found,unused-ignore]
    from airflow.models.baseoperatorlink import BaseOperatorLink  # type: ignore[no-redef,import-not-found,unused-ignore]
    from airflow.sensors.base import BaseSensorOperator  # type: ignore[no-redef,import-not-found,unused-ignore]

__all__ = ["BaseOperator", "BaseOperatorLink", "BaseSensorOperator", "conf"]
