"""A fine-tune job's training log, read line by line (no I/O).

The training log is written in the style of the Hugging Face Trainer: dict lines such as
``{'loss': 1.23, 'learning_rate': 1e-05, 'epoch': 0.5}`` (often after a time stamp and a level), a last
``{'train_runtime': 216.4, ..., 'epoch': 3.0}``, ``Actual number of consumed tokens is 279808!`` and, as the very
last line, ``##FT_COMPLETE##``. :func:`parse_line` reads one line into a :class:`TrainingRecord`, or ``None`` for
anything it does not understand (never an error).
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

#: Longer lines are not parsed (a training log line is a few hundred characters).
MAX_LINE_CHARS = 4000

COMPLETE_MARK = "##FT_COMPLETE##"
_TOKENS = re.compile(r"(?:consumed tokens is|training usage)\s+(\d+)", re.IGNORECASE)
_NUMBER_FIELDS = ("epoch", "step", "loss", "learning_rate", "train_runtime")


@dataclass(frozen=True)
class TrainingRecord:
    """What one log line says; each field is ``None`` when the line does not say it."""

    epoch: float | None = None
    step: int | None = None
    loss: float | None = None
    learning_rate: float | None = None
    train_runtime: float | None = None
    tokens: int | None = None
    complete: bool = False


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def dict_of(text: str) -> Mapping[Any, Any] | None:
    """The dict a Trainer-style line carries, between its first ``{`` and its last ``}``; ``None`` if none."""
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end < start:
        return None
    try:
        value = ast.literal_eval(text[start : end + 1])
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    return value if isinstance(value, Mapping) else None


def parse_line(text: Any) -> TrainingRecord | None:
    """Read one training log line; ``None`` for a line that says nothing this module knows."""
    if not isinstance(text, str) or len(text) > MAX_LINE_CHARS:
        return None
    if COMPLETE_MARK in text:
        return TrainingRecord(complete=True)
    tokens = _TOKENS.search(text)
    if tokens:
        return TrainingRecord(tokens=int(tokens.group(1)))
    value = dict_of(text)
    if value is None:
        return None
    fields: dict[str, Any] = {}
    for name in _NUMBER_FIELDS:
        number = _number(value.get(name))
        if number is not None:
            fields[name] = int(number) if name == "step" else number
    return TrainingRecord(**fields) if fields else None


class LogSlice(NamedTuple):
    """What a read brought: ``lines`` start after ``offset`` skipped lines; ``total`` lines exist."""

    offset: int
    total: int
    lines: tuple[str, ...]


def n_epochs_of(hyper_parameters: Mapping[str, Any] | None) -> float | None:
    """``n_epochs`` of a job's hyperparameters as a positive number (the API may echo it as text)."""
    value = (hyper_parameters or {}).get("n_epochs")
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    number = _number(value)
    return number if number is not None and number > 0 else None
