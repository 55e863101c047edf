"""What every API model shares: deep immutability and typed fields read from the API's JSON (no I/O).

A model is a frozen dataclass whose field list is written once: :func:`fields_from_api` reads each field from the
API object by its name and converts it by its declared type, so adding a field is one line in the class.
"""

from __future__ import annotations

import functools
import logging
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from airflow_provider_dashscope._config import DEFAULT_API_TIME_ZONE

if TYPE_CHECKING:
    import pendulum

log = logging.getLogger(__name__)

_API_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
#: Texts this short are interned when frozen: keys and values such as statuses, model names and workspace ids
#: repeat in every answer, and a triggerer keeps the last answer of each of thousands of waits.
_INTERN_CHARS = 64
_MISSING = object()


class FrozenDict(Mapping[str, Any]):
    """A read-only dict (values frozen too) that pickles, copies and compares like a dict."""

    __slots__ = ("_data",)
    _data: dict[str, Any]

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        object.__setattr__(self, "_data", {_key(k): freeze(v) for k, v in (data or {}).items()})

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def get(self, key: str, default: Any = None) -> Any:  # the dict's own, not Mapping's try/except
        return self._data.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("FrozenDict is read-only")

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenDict, (self._data,))

    def __repr__(self) -> str:
        return f"FrozenDict({self._data!r})"

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._data.items(), key=lambda item: item[0])))


def _key(key: Any) -> str:
    return sys.intern(key) if type(key) is str else str(key)


def freeze(value: Any) -> Any:
    """A read-only copy of a JSON value: objects become :class:`FrozenDict`, arrays tuples (short texts interned)."""
    kind = type(value)
    if kind is str:
        return sys.intern(value) if len(value) <= _INTERN_CHARS else value
    if kind is int or kind is float or kind is bool or value is None:  # the common case, first
        return value
    if kind is FrozenDict:
        return value
    if kind is dict or isinstance(value, Mapping):
        return FrozenDict(value)
    if kind is list or kind is tuple or isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    return value


def is_frozen_copy(frozen: Any, plain: Any) -> bool:
    """True when ``frozen`` is what :func:`freeze` makes of ``plain`` (JSON as decoded): the same answer again.

    Types must match too (``1`` is not ``True`` nor ``1.0``); a NaN never matches (it is not equal to itself)."""
    kind = type(plain)
    if kind is dict:
        if type(frozen) is not FrozenDict:
            return False
        data = frozen._data
        if len(data) != len(plain):
            return False
        for key, value in plain.items():
            held = data.get(key, _MISSING)
            item = type(value)
            if item is str or item is int or item is float or item is bool or value is None:  # inline: most values
                if type(held) is not item or held != value:
                    return False
            elif not is_frozen_copy(held, value):
                return False
        return True
    if kind is list:
        return type(frozen) is tuple and len(frozen) == len(plain) and all(map(is_frozen_copy, frozen, plain))
    return type(frozen) is kind and frozen == plain


def thaw(value: Any) -> Any:
    """Plain ``dict``/``list`` JSON again, for XCom and events."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value


@functools.lru_cache(maxsize=64)
def _zone(name: str) -> pendulum.Timezone | pendulum.FixedTimezone:
    """The zone named ``name``, loaded once: pendulum reads the zone file again each time it is given a name, which
    was most of the cost of reading a job (every poll of every wait reads one)."""
    import pendulum  # here, not at the top: a DAG file that only builds tasks never loads it

    return pendulum.timezone(name)


def parse_api_time(value: Any, time_zone: str = DEFAULT_API_TIME_ZONE) -> pendulum.DateTime | None:
    """Parse an API timestamp (``2024-10-29 16:53:53``, ``2025-06-17T11:00:38.68`` or ISO-8601 with an offset).

    A value with its own offset keeps it; a naive value is read in ``time_zone``. Anything unparseable gives
    ``None`` rather than an error, so a cosmetic field never fails a DAG.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    import pendulum

    match = _API_TIME.fullmatch(value)
    if match:  # the documented form, parsed without the general parser
        year, month, day, hour, minute, second = (int(part) for part in match.groups())
        try:
            return pendulum.datetime(year, month, day, hour, minute, second, tz=_zone(time_zone))
        except (ValueError, OverflowError):
            return None
    try:
        parsed = pendulum.parse(value.strip(), tz=_zone(time_zone), strict=False)
    except (ValueError, TypeError, OverflowError):
        return None
    return parsed if isinstance(parsed, pendulum.DateTime) else None


def _opt_str(value: Any, time_zone: str) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(thaw(value))


def opt_int(value: Any) -> int | None:
    """An integer from a JSON value (``12``, ``12.0``, ``"12"``, ``{"total_tokens": 12}``), else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.lstrip("-").isdigit() and text.count("-") <= 1 and not text.endswith("-"):
            return int(text)
        return None
    if isinstance(value, Mapping):  # some clients report usage as {"total_tokens": n}
        return opt_int(value.get("total_tokens"))
    return None


def _opt_bool(value: Any, time_zone: str) -> bool | None:
    """A JSON boolean (or ``"true"``/``"false"``), else ``None``."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def _str_tuple(value: Any, time_zone: str) -> tuple[str, ...]:
    if isinstance(value, (list, tuple)):
        return tuple(v if isinstance(v, str) else str(thaw(v)) for v in value if v is not None)
    if isinstance(value, str) and value:
        return (value,)
    return ()


def _mapping(value: Any, time_zone: str) -> FrozenDict:
    if type(value) is FrozenDict:  # read from a frozen answer: already frozen, share it
        return value
    return FrozenDict(value) if isinstance(value, Mapping) else FrozenDict()


#: How a field is read from the API object, by its declared type.
CONVERTERS: dict[str, Callable[[Any, str], Any]] = {
    "str | None": _opt_str,
    "int | None": lambda value, _tz: opt_int(value),
    "bool | None": _opt_bool,
    "tuple[str, ...]": _str_tuple,
    "pendulum.DateTime | None": parse_api_time,
    "Mapping[str, Any]": _mapping,
}


@functools.cache
def _reading_plan(cls: type) -> tuple[tuple[str, Callable[[Any, str], Any]], ...]:
    """Each field of ``cls`` with the converter of its declared type, worked out once per class."""
    return tuple((spec.name, CONVERTERS.get(str(spec.type), _as_is)) for spec in fields(cls))


def _as_is(value: Any, time_zone: str) -> Any:
    return value


def fields_from_api(cls: type, output: Mapping[str, Any], *, time_zone: str, **given: Any) -> dict[str, Any]:
    """Constructor arguments of the dataclass ``cls`` from an API object: each field not in ``given`` is read
    from ``output`` by its name and converted by its declared type. ``output`` may be the frozen answer the model
    keeps as ``raw`` (a :class:`FrozenDict`): a nested object is then frozen once and shared by its field and
    ``raw``, and every field reads as it would from the plain answer."""
    values = dict(given)
    get = output.get
    for name, convert in _reading_plan(cls):
        if name not in values:
            values[name] = convert(get(name), time_zone)
    return values


_unknown_statuses_seen: set[tuple[str, str]] = set()


def warn_unknown_status_once(kind: str, status: str) -> None:
    """Log (once per process) that the API returned a status this provider does not know yet."""
    if (kind, status) not in _unknown_statuses_seen:
        _unknown_statuses_seen.add((kind, status))
        log.warning("DashScope returned an unknown %s status %r; treating it as not terminal.", kind, status)
