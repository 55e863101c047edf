"""Checks of a local file before it is uploaded: it exists, fits the size limit and, for fine-tuning, is valid JSONL.

Everything here runs before any byte is sent and reads the file as a stream (one line, or one chunk, at a time), so
a file of any size costs little memory. The same pass measures the file (size and MD5), which a retried upload uses
to recognise the file an earlier try uploaded.

**Size limits** (:data:`MAX_FILE_BYTES`). The documentation pages disagree (200 MB, 300 MB or 1 GB per file for
fine-tuning). The limit here is the one the newest page of the upload API gives per ``purpose``: 300 MiB for
``fine-tune``, 150 MiB for ``file-extract``, 500 MiB for ``batch``. It is the limit of the call this provider
makes; the tuning-data rules also cap a text SFT file at 200 MB, which the fine-tune service checks when the job
starts. The official SDK checks no size at all.

**Training data** (``purpose="fine-tune"``). The official SDK checks only that every line is JSON (any JSON value).
This check is stricter, so that a file the service would refuse fails before it is uploaded, naming the file, the
line and what is wrong:

* the file is UTF-8 text (without a byte order mark) and not empty;
* every line is one JSON **object** (a blank line is an error, as it is for the SDK);
* the first line's format (chat ``messages``, or another: see :mod:`._training_formats`) is the file's, and
  every line is of it; a chat sample has well-formed messages, a ``user`` turn and ends with an ``assistant``
  turn (``check_chat_turns=False`` turns the turn rule off);
* a line that is not JSON is reported with the column within the line and the text around it.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass
from typing import Any

from airflow_provider_dashscope._checks.resources import (  # the upload's purpose, checked at DAG parse
    MAX_FILE_BYTES as MAX_FILE_BYTES,
    MIB as MIB,
    PURPOSES as PURPOSES,
    check_purpose,
)
from airflow_provider_dashscope._checks.training_formats import (
    format_text,
    json_error_text,
    json_type,
    record_format,
    record_problem,
)
from airflow_provider_dashscope.exceptions import TrainingFileError

#: The largest file a fine-tune upload takes.
MAX_FINE_TUNE_FILE_BYTES = MAX_FILE_BYTES["fine-tune"]
#: The longest line of a training file read (one sample); a longer one is an error, never read whole.
MAX_LINE_BYTES = 32 * MIB

_CHUNK = MIB
_EXAMPLE = '{"messages": [{"role": "user", "content": "..."}, {"role": "assistant", "content": "..."}]}'
_FORMAT_HINT = f"a fine-tune file is JSON Lines: one JSON object per line, e.g. {_EXAMPLE}"


@dataclass(frozen=True)
class LocalFile:
    """A local file that passed the checks, with what was measured while reading it."""

    path: str
    #: The file name the upload sends (the base name of the path).
    name: str
    size: int
    md5: str
    purpose: str
    #: Lines (records) checked, for a fine-tune file; ``None`` for other purposes.
    records: int | None = None


def _size_text(size: int) -> str:
    return f"{size} bytes ({size / MIB:.1f} MiB)"


def inspect_file(
    path: str | os.PathLike[str],
    *,
    purpose: str = "fine-tune",
    shown_as: str | None = None,
    name: str | None = None,
    check_chat_turns: bool = True,
) -> LocalFile:
    """Check ``path`` for an upload with ``purpose``; return its size and MD5, or raise :class:`TrainingFileError`.

    ``shown_as`` is how messages name the file and ``name`` the file name the upload sends (both default to the
    path's; they differ for a local copy of a remote file, e.g. of an ``s3://`` URI). ``check_chat_turns=False``
    accepts chat samples without a ``user`` turn or not ending with an ``assistant`` one.
    """
    purpose = check_purpose(purpose)
    local = os.fspath(path)
    shown = shown_as or local
    try:
        info = os.stat(local)
    except FileNotFoundError:
        raise TrainingFileError(f"file {shown} does not exist; check the path", path=shown) from None
    except OSError as err:
        raise TrainingFileError(f"file {shown} cannot be read: {err.strerror or err}", path=shown) from None
    if not stat.S_ISREG(info.st_mode):
        raise TrainingFileError(f"{shown} is not a regular file; give the path of one file to upload", path=shown)
    limit = MAX_FILE_BYTES[purpose]
    if info.st_size > limit:
        raise TrainingFileError(
            f"file {shown} is {_size_text(info.st_size)}, over the {_size_text(limit)} limit of the upload API for "
            f"purpose {purpose!r}; split it into smaller files",
            path=shown,
        )
    if info.st_size == 0:
        raise TrainingFileError(f"file {shown} is empty; there is nothing to upload", path=shown)
    try:
        with open(local, "rb") as stream:
            if purpose == "fine-tune":
                size, md5, records = _check_jsonl(stream, shown, check_chat_turns)
            else:
                size, md5, records = *_digest(stream), None
    except OSError as err:
        raise TrainingFileError(f"file {shown} cannot be read: {err.strerror or err}", path=shown) from None
    if size > limit:  # it grew while it was read
        raise TrainingFileError(f"file {shown} grew past the {_size_text(limit)} limit while it was read", path=shown)
    return LocalFile(
        path=local, name=name or os.path.basename(local), size=size, md5=md5, purpose=purpose, records=records
    )


def _digest(stream: Any) -> tuple[int, str]:
    md5 = hashlib.md5(usedforsecurity=False)
    size = 0
    while chunk := stream.read(_CHUNK):
        md5.update(chunk)
        size += len(chunk)
    return size, md5.hexdigest()


def _check_jsonl(stream: Any, shown: str, check_chat_turns: bool = True) -> tuple[int, str, int]:
    md5 = hashlib.md5(usedforsecurity=False)
    size = 0
    number = 0
    first_format: str | None = None
    while True:
        line = stream.readline(MAX_LINE_BYTES + 1)
        if not line:
            break
        number += 1
        md5.update(line)
        size += len(line)
        problem: str | None
        if len(line) > MAX_LINE_BYTES:
            problem = f"is longer than {_size_text(MAX_LINE_BYTES)} (one sample per line)"
        else:
            problem, found = _line(line, first=number == 1, check_chat_turns=check_chat_turns)
            if problem is None and first_format is None:
                first_format = found
            elif problem is None and found != first_format:
                assert first_format is not None and found is not None
                problem = (
                    f"is of the {format_text(found)} format, but line 1 is of the {format_text(first_format)} "
                    "format; the first line decides the file's format and every line must be of it"
                )
        if problem is not None:
            raise TrainingFileError(
                f"training file {shown}, line {number}: {problem}; {_FORMAT_HINT}", path=shown, line_number=number
            )
    return size, md5.hexdigest(), number


def line_problem(line: bytes, *, first: bool = False, check_chat_turns: bool = True) -> str | None:
    """What is wrong with one line of a fine-tune file (without its number), or ``None`` if it is fine."""
    return _line(line, first=first, check_chat_turns=check_chat_turns)[0]


def _line(line: bytes, *, first: bool, check_chat_turns: bool) -> tuple[str | None, str | None]:
    """(what is wrong with the line, or ``None``; its format when it is a JSON object)."""
    if first and line.startswith(b"\xef\xbb\xbf"):
        return "starts with a UTF-8 byte order mark (BOM); save the file as UTF-8 without a BOM", None
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as err:
        return f"is not UTF-8 text (byte 0x{line[err.start]:02x} at position {err.start + 1} of the line)", None
    if not text.strip():
        return "is blank (JSONL has no empty lines, not even at the end)", None
    text = text.rstrip("\r\n")
    try:
        record = json.loads(text)
    except json.JSONDecodeError as err:
        return f"is not valid JSON ({json_error_text(text, err)})", None
    except RecursionError:
        return "is JSON nested too deeply to read", None
    if not isinstance(record, dict):
        return f"is a JSON {json_type(record)}, not an object", None
    found = record_format(record)
    return record_problem(record, found, check_chat_turns=check_chat_turns), found
