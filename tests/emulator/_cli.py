"""What the tests of the emulator's commands share."""

from __future__ import annotations


def field(output: str, name: str) -> str:
    """The value of ``name`` in a one-resource summary (``name  value`` lines)."""
    for line in output.splitlines():
        key, _, value = line.partition(" ")
        if key == name:
            return value.strip()
    raise AssertionError(f"no {name} in {output!r}")
