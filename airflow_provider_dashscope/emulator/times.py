"""Time formats of the API, all rendered in the emulator's one fixed zone.

* Jobs and files: ``YYYY-MM-DD HH:MM:SS`` without a zone suffix (``create_time``, ``end_time``,
  ``gmt_create`` of a file, log lines); the ``job_id`` carries ``yyyyMMddHHmm`` of the same clock.
* Deployments: ISO 8601 without a zone, with milliseconds (``2025-06-17T11:00:38.680``).

The zone is ``EmulatorConfig.tz_offset_hours`` (default +8, Beijing time).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any


def zone(offset_hours: float) -> timezone:
    return timezone(timedelta(hours=offset_hours))


def plain(epoch: float, tz: timezone) -> str:
    """``YYYY-MM-DD HH:MM:SS`` (jobs, files, log lines)."""
    return datetime.fromtimestamp(epoch, tz).strftime("%Y-%m-%d %H:%M:%S")


def minute_stamp(epoch: float, tz: timezone) -> str:
    """``yyyyMMddHHmm``, the date part of a job id."""
    return datetime.fromtimestamp(epoch, tz).strftime("%Y%m%d%H%M")


def iso_millis(epoch: float, tz: timezone) -> str:
    """``YYYY-MM-DDTHH:MM:SS.mmm`` without a zone (deployments)."""
    moment = datetime.fromtimestamp(epoch, tz)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def parse_plain(value: Any, tz: timezone, name: str = "create_time") -> float:
    """Epoch seconds from ``YYYY-MM-DD HH:MM:SS`` (or the ISO form with ``T`` and a fraction) in ``tz``,
    or from a number of epoch seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise ValueError(f"{name} must be 'YYYY-MM-DD HH:MM:SS' or epoch seconds: {value!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.timestamp()
