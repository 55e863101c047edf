"""The optional state file: a JSON snapshot written atomically after every change.

The file is replaced in one step (write to a temporary file in the same directory, then
rename), so a reader or a crash never sees half a snapshot. Only what the API shows is kept
(jobs with their timelines, the schedule floor, files, deployments, id counters); faults,
plans and request counters live only as long as the process.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

#: Version of the snapshot layout; a file of another version is refused, not guessed at.
VERSION = 2


def write_atomic(path: str, data: dict[str, Any]) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".emulator-state-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def read(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    if not isinstance(data, dict) or data.get("version") != VERSION:
        found = data.get("version") if isinstance(data, dict) else None
        raise ValueError(
            f"state file {path} has layout version {found!r}, this emulator reads version {VERSION}; "
            "delete the file to start afresh"
        )
    return data
