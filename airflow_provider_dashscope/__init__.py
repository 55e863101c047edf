"""Apache Airflow provider for Alibaba Cloud Model Studio (DashScope) fine-tuning jobs."""

from __future__ import annotations

import re

__version__ = "0.1.0"

MIN_AIRFLOW_VERSION = "2.11.0"


def _check_airflow_version() -> None:
    try:
        from importlib.metadata import PackageNotFoundError, version
    except ImportError:  # pragma: no cover
        return
    try:
        installed = version("apache-airflow-core")
    except PackageNotFoundError:
        try:
            installed = version("apache-airflow")
        except PackageNotFoundError:
            return  # not installed as a distribution (e.g. the emulator used on its own)
    if _version_tuple(installed) < _version_tuple(MIN_AIRFLOW_VERSION):
        raise RuntimeError(
            f"airflow-provider-dashscope {__version__} needs Apache Airflow >= {MIN_AIRFLOW_VERSION}, "
            f"but {installed} is installed; upgrade Airflow (pip install 'apache-airflow>={MIN_AIRFLOW_VERSION}')"
        )


def _version_tuple(text: str) -> tuple[int, ...]:
    """``"3.3.2"`` -> ``(3, 3, 2)``; pre-release suffixes (``3.4.0rc1``) keep their leading number."""
    numbers = []
    for part in text.split(".")[:3]:
        match = re.match(r"\d+", part)
        digits = match.group() if match else ""
        if not digits:
            break
        numbers.append(int(digits))
    return tuple(numbers)


_check_airflow_version()
