"""Checks of the arguments a DAG author passes, at DAG parse (literal values) or at the start of ``execute``.

Each error is a :class:`~airflow_provider_dashscope.exceptions.DashScopeConfigError` (a ``ValueError``) that names
the argument and the fix.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from airflow_provider_dashscope.exceptions import DashScopeConfigError

DEFAULT_POLL_INTERVAL = 60.0
DEFAULT_TIMEOUT = 7 * 24 * 3600.0
DEFAULT_MAX_CONSECUTIVE_FAILURES = 5


def is_templated(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def check_id_arg(value: Any, validate: Callable[[Any], str]) -> None:
    """At DAG parse: a literal id must be valid now; a template or an XComArg is checked in ``execute``."""
    if value is None or isinstance(value, (int, float, bool, bytes, list, dict, tuple)):
        validate(value)
    if isinstance(value, str) and not is_templated(value):
        validate(value)


def check_seconds(name: str, value: Any, *, allow_zero: bool, allow_none: bool = False) -> float | None:
    """Return ``value`` as seconds, or raise an error naming the argument and the fix."""
    if value is None and allow_none:
        return None
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        raise DashScopeConfigError(f"{name} must be a number of seconds or a timedelta, got {value!r}")
    if not math.isfinite(seconds) or seconds < 0 or (seconds == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise DashScopeConfigError(f"{name} must be {bound} seconds, got {value!r}")
    return seconds


def check_interval(value: Any) -> float:
    seconds = check_seconds("poll_interval", value, allow_zero=False)
    assert seconds is not None
    return seconds


def check_max_failures(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise DashScopeConfigError(
            f"max_consecutive_failures must be an integer >= 1 (failed polls tolerated in a row), got {value!r}"
        )
    return value


def deadline_from(timeout: float | None, execution_timeout: timedelta | None, now: float | None = None) -> float | None:
    """Absolute epoch deadline of a wait: the earlier of ``timeout`` and the task's ``execution_timeout``."""
    now = time.time() if now is None else now
    candidates = []
    if timeout is not None:
        candidates.append(now + timeout)
    if execution_timeout is not None:
        candidates.append(now + execution_timeout.total_seconds())
    return min(candidates) if candidates else None
