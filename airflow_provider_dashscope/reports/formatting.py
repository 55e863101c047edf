"""How a report writes numbers for people (the summary lines and the Markdown; the CSV keeps raw numbers).

* counts and tokens with thousands separators: ``371,000``;
* durations in the largest units that matter, minutes zero-padded after hours: ``45 s``, ``7 min 05 s``,
  ``42 min``, ``1 h 02 min``, ``2 d 03 h``;
* money with two decimals and separators: ``1,234.50``;
* a change against another period: ``+3 (+50%)``, ``-1,000 (-10%)``, ``0``, ``+2 (none before)``;
* times as ISO 8601 to the second (in the CSV too).
"""

from __future__ import annotations

from datetime import datetime, tzinfo


def thousands(value: int | float | None) -> str:
    """``371,000``; a float keeps up to three decimals (``1,234.5``); ``""`` for None."""
    if value is None:
        return ""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.3f}".rstrip("0").rstrip(".")


def duration(seconds: float | None) -> str:
    """``45 s``, ``7 min 05 s`` (under 10 minutes), ``42 min``, ``1 h 02 min``, ``2 d 03 h``; ``""`` for None."""
    if seconds is None:
        return ""
    total = round(seconds)
    if total < 60:
        return f"{total} s"
    if total < 600:
        minutes, secs = divmod(total, 60)
        return f"{minutes} min {secs:02d} s"
    minutes = round(total / 60)
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 24 * 60:
        hours, mins = divmod(minutes, 60)
        return f"{hours} h {mins:02d} min"
    hours = round(minutes / 60)
    days, hrs = divmod(hours, 24)
    return f"{days} d {hrs:02d} h"


def money(value: float | None) -> str:
    """``1,234.50``; ``""`` for None."""
    return "" if value is None else f"{value:,.2f}"


def change(now: int, before: int) -> str:
    """``+3 (+50%)`` from ``before`` to ``now``; ``0`` when equal; ``+2 (none before)`` when ``before`` is 0."""
    delta = now - before
    if delta == 0:
        return "0"
    sign = "+" if delta > 0 else "-"
    text = f"{sign}{abs(delta):,}"
    if before == 0:
        return f"{text} (none before)"
    return f"{text} ({sign}{abs(delta) / before:.0%})"


def iso(value: datetime | None, tz: tzinfo | None = None) -> str:
    """ISO 8601 to the second, in ``tz`` when given; empty for no time."""
    if value is None:
        return ""
    if tz is not None:
        value = value.astimezone(tz)
    return datetime.isoformat(value, timespec="seconds")
