"""Checks of the arguments a DAG author passes, at DAG parse (literal values) or at the start of ``execute``.

Each error is a :class:`~airflow_provider_dashscope.exceptions.DashScopeConfigError` (a ``ValueError``) that names
the argument and the fix. A DAG file loads this module when it builds a task, so it imports almost nothing: the
exceptions load only when an argument is refused (:func:`config_error`).
"""

from __future__ import annotations

import math
import string
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_dashscope.exceptions import DashScopeConfigError

MAX_ID_LENGTH = 256
#: The characters of an id that needs no closer look (URL-safe, unreserved). A check by ``str.strip`` rather than a
#: regular expression: a DAG file runs it, and compiling a pattern costs a parse more than the check.
_PLAIN_ID_CHARS = string.ascii_letters + string.digits + "._~-"

DEFAULT_POLL_INTERVAL = 60.0
DEFAULT_TIMEOUT = 7 * 24 * 3600.0
DEFAULT_MAX_CONSECUTIVE_FAILURES = 5


def config_error(message: str) -> DashScopeConfigError:
    """The error for a refused argument (the exceptions module loads here, not when a DAG file builds a task)."""
    from airflow_provider_dashscope.exceptions import DashScopeConfigError

    return DashScopeConfigError(message)


def validate_path_id(value: Any, *, field_name: str, noun: str, hint: str) -> str:
    """Return ``value`` if it can safely be one segment of a URL path, else raise an error that shows it.

    ``noun`` names what the value is (``job id``); ``hint`` says where a good one comes from.
    """
    if isinstance(value, str) and _is_plain_id(value):
        return value  # the common case, without the character-by-character check below
    if not isinstance(value, str):
        raise config_error(f"{field_name} must be a string, got {type(value).__name__} {value!r}; {hint}")
    if not value:
        raise config_error(f"{field_name} is empty; {hint}")
    if len(value) > MAX_ID_LENGTH:
        raise config_error(
            f"{field_name} is {len(value)} characters long (at most {MAX_ID_LENGTH}): {value[:40]!r}...; {hint}"
        )
    import unicodedata  # a C extension: loaded only for an id the quick check refused

    bad = [ch for ch in value if ch in "/?#\\" or ch.isspace() or unicodedata.category(ch)[0] == "C"]
    if bad or value in (".", ".."):
        what = "'/', '?', '#', '\\', whitespace, control or format characters" if bad else "only dots"
        raise config_error(f"{field_name} {value!r} is not a valid {noun} (it has {what}); {hint}")
    return value


def _is_plain_id(value: str) -> bool:
    """1 to :data:`MAX_ID_LENGTH` unreserved characters, and not ``.`` or ``..``."""
    return 0 < len(value) <= MAX_ID_LENGTH and not value.strip(_PLAIN_ID_CHARS) and value not in (".", "..")


def check_int(name: str, value: Any, minimum: int, maximum: int | None = None) -> int:
    too_big = maximum is not None and isinstance(value, int) and value > maximum
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum or too_big:
        bounds = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise config_error(f"{name} must be an integer {bounds}, got {value!r}")
    return value


def is_templated(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


#: What a template renders when the value it reads is missing: Python's None, JSON's null (compared in lower case).
MISSING_TEXTS = frozenset({"none", "null"})


def template_of(value: Any) -> str | None:
    """The text of a templated argument (kept to say what it rendered from), else ``None``."""
    return value if is_templated(value) else None


def refuse_missing(value: Any, *, field_name: str, template: str | None, hint: str) -> None:
    """Refuse the text of a missing value (``None``, ``null``) as an id, before any request.

    ``template`` is the argument's unrendered text, if it was a template: the error names it and how to give it
    the value. Every resource's id argument is checked this way, next to the URL-safety check of its own validator.
    """
    if not isinstance(value, str) or value.strip().lower() not in MISSING_TEXTS:
        return
    if template is not None:
        raise config_error(
            f"{field_name} is {value!r}, rendered from the template {template!r}: the value it reads is missing. "
            f"Give it when you trigger the run (in its conf or params) or give the template a default; {hint}"
        )
    raise config_error(f"{field_name} is {value!r}, the text of a missing value, not an id; {hint}")


def check_id_arg(value: Any, validate: Callable[[Any], str], *, field_name: str, hint: str) -> None:
    """At DAG parse: a literal id must be valid now; a template or an XComArg is checked in ``execute``."""
    if value is None or isinstance(value, (int, float, bool, bytes, list, dict, tuple)):
        validate(value)
    if isinstance(value, str) and not is_templated(value):
        refuse_missing(value, field_name=field_name, template=None, hint=hint)
        validate(value)


def check_rendered_id(
    value: Any, validate: Callable[[Any], str], *, field_name: str, template: str | None, hint: str
) -> str:
    """At the start of ``execute``: the rendered id, refused when it is missing or cannot go into a URL."""
    refuse_missing(value, field_name=field_name, template=template, hint=hint)
    return validate(value)


def check_seconds(name: str, value: Any, *, allow_zero: bool, allow_none: bool = False) -> float | None:
    """Return ``value`` as seconds, or raise an error naming the argument and the fix."""
    if value is None and allow_none:
        return None
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    else:
        raise config_error(f"{name} must be a number of seconds or a timedelta, got {value!r}")
    if not math.isfinite(seconds) or seconds < 0 or (seconds == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise config_error(f"{name} must be {bound} seconds, got {value!r}")
    return seconds


def check_interval(value: Any) -> float:
    seconds = check_seconds("poll_interval", value, allow_zero=False)
    assert seconds is not None
    return seconds


def check_max_failures(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise config_error(
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
