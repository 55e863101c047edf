"""What a real-stack test does when a system dependency (PostgreSQL, Chromium) is missing."""

from __future__ import annotations

import os

import pytest

#: Set by .ci/run after scripts/system-deps.sh: a missing dependency then fails the test instead of skipping it.
REQUIRED_ENV = "DASHSCOPE_STACK_REQUIRED"


def skip_unless_required(reason: str) -> None:
    """Skip with ``reason``; fail instead when the run requires the real-stack tests, so CI cannot pass by skipping."""
    if os.environ.get(REQUIRED_ENV) == "1":
        pytest.fail(f"{REQUIRED_ENV}=1, but {reason}", pytrace=False)
    pytest.skip(reason)
