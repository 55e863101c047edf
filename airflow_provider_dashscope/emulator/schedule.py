"""The account's one training slot: which job trains when.

Only one fine-tune job of an account trains at a time. Jobs get the slot in creation order
(first in, first out): each starts training at the later of "ready" (its PENDING time is over)
and "the slot is free", and holds the slot for its run. Jobs that already started keep the
times they were given; only jobs that have not started are (re)assigned, whenever the set of
jobs changes (create, cancel, seed, delete), so a status never goes backwards.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class SlotRequest:
    """A job waiting to train: ready at ``ready`` (epoch seconds), holds the slot ``hold`` seconds."""

    ready: float
    hold: float


def assign_slots(waiting: Sequence[SlotRequest], free_from: float) -> list[float]:
    """Start times for ``waiting`` (already in FIFO order), given the slot is busy until ``free_from``."""
    starts: list[float] = []
    free = free_from
    for request in waiting:
        start = max(request.ready, free)
        starts.append(start)
        free = start + request.hold
    return starts
