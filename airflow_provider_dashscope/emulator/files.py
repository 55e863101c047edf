"""Uploaded files (``/files``): their records, the account's limits, and list/get/delete.

Rules chosen by the emulator where the public reference is silent:

* **Envelope.** File routes answer under ``data`` (not ``output``); a delete answers with the
  ``request_id`` alone. An unknown id on get or delete is a 400 ``InvalidParameter``
  "File not found." (not a 404).
* **Upload.** Every ``files`` part is one file, checked on its own: an upload may succeed for
  some files and fail for others (``failed_uploads``), and answers 200 even when every file
  failed. A file fails with ``BadRequest.TooMany`` when the account already has ``max_files``
  files, with ``BadRequest.TooLarge`` when it is larger than ``max_file_bytes`` (300 MiB, the
  fine-tune limit, applied to every purpose) or does not fit in ``max_storage_bytes``.
  Descriptions and purposes pair with files by position; one ``purpose`` for several files
  applies to all of them; without one a file's purpose is ``fine-tune`` (neither official SDK
  sends it). Content is not kept: only its size and MD5.
* **Ids.** ``file_id`` is 32 letters and digits then 32 upper-case hex digits (the shape of the
  documented examples); ``id`` is an integer counting from 1; ``url`` is a placeholder on the
  reserved ``.invalid`` domain (there is no download route). Nothing derived from the API key
  is stored or shown.
* **List** is newest first, ``page_size`` 1..100 (outside: 400). Files belong to the account,
  not to a workspace. Deleting a file used by a job is allowed and does not affect the job.
"""

from __future__ import annotations

import hashlib
import random
import string
import threading
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from .config import EmulatorConfig
from .errors import invalid
from .times import parse_plain, plain

DEFAULT_PURPOSE = "fine-tune"
REGION = "cn-beijing"
_ALNUM = string.ascii_letters + string.digits
SEED_KEYS = frozenset({"file_id", "name", "description", "purpose", "size", "md5", "content", "gmt_create"})


def file_not_found() -> Exception:
    return invalid("File not found.")


@dataclass
class FileRecord:
    file_id: str
    id: int
    name: str
    description: str
    purpose: str
    size: int
    md5: str
    created: float

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FileRecord:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class UploadedFile:
    """One file of an upload request, as received: its name, size and MD5 (the content is not kept)."""

    name: str
    size: int
    md5: str
    description: str = ""
    purpose: str = DEFAULT_PURPOSE


def new_file_id(rng: random.Random) -> str:
    return "".join(rng.choice(_ALNUM) for _ in range(32)) + f"{rng.getrandbits(128):032X}"


def limit_failure(config: EmulatorConfig, count: int, used: int, size: int) -> tuple[str, str] | None:
    """(code, message) when a file of ``size`` bytes cannot be added to ``count`` files of ``used`` bytes."""
    if count >= config.max_files:
        return "BadRequest.TooMany", f"Out of number, <{count}> of <{config.max_files}> files has been uploaded."
    if size > config.max_file_bytes:
        return "BadRequest.TooLarge", f"File too large, <{size}> B is over the <{config.max_file_bytes}> B limit."
    if used + size > config.max_storage_bytes:
        return (
            "BadRequest.TooLarge",
            f"Out of space, <{used}> B of <{config.max_storage_bytes}> B storage space has been used.",
        )
    return None


def render(record: FileRecord, config: EmulatorConfig) -> dict[str, Any]:
    quoted = urllib.parse.quote(record.name)
    return {
        "id": record.id,
        "file_id": record.file_id,
        "name": record.name,
        "description": record.description,
        "size": record.size,
        "md5": record.md5,
        "gmt_create": plain(record.created, config.tz),
        "url": f"https://dashscope-emulator.invalid/api-fs/{config.user_id}/{record.id}/{quoted}",
        "region": REGION,
        "user_id": config.user_id,
        "purpose": record.purpose,
    }


class FileStore:
    """The account's files; thread-safe under the lock it shares with the rest of the state."""

    def __init__(
        self, config: EmulatorConfig, lock: threading.RLock, rng: random.Random, on_change: Callable[[], None]
    ) -> None:
        self.config = config
        self._lock = lock
        self._rng = rng
        self._on_change = on_change
        self._files: dict[str, FileRecord] = {}
        self._next_id = 1

    def exists(self, file_id: str) -> bool:
        with self._lock:
            return file_id in self._files

    def _add(self, item: UploadedFile, created: float, file_id: str | None = None) -> FileRecord:
        file_id = file_id or new_file_id(self._rng)
        record = FileRecord(
            file_id, self._next_id, item.name, item.description, item.purpose, item.size, item.md5, created
        )
        self._next_id += 1
        self._files[file_id] = record
        return record

    def upload(self, items: Iterable[UploadedFile]) -> dict[str, Any]:
        """Add each file that fits the limits: ``{"uploaded_files": [...], "failed_uploads": [...]}``."""
        uploaded: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        with self._lock:
            now = float(self.config.clock())
            for item in items:
                used = sum(f.size for f in self._files.values())
                failure = limit_failure(self.config, len(self._files), used, item.size)
                if failure is not None:
                    failed.append({"name": item.name, "code": failure[0], "message": failure[1]})
                    continue
                record = self._add(item, now)
                uploaded.append({"file_id": record.file_id, "name": record.name})
            if uploaded:
                self._on_change()
        return {"uploaded_files": uploaded, "failed_uploads": failed}

    def page(self, page_no: int = 1, page_size: int = 10) -> dict[str, Any]:
        if page_no < 1:
            raise invalid("Invalid page_no: must be >= 1")
        if not 1 <= page_size <= 100:
            raise invalid("Invalid page_size: must be between 1 and 100")
        with self._lock:
            found = sorted(self._files.values(), key=lambda f: f.id, reverse=True)
            start = (page_no - 1) * page_size
            return {
                "total": len(found),
                "page_size": page_size,
                "page_no": page_no,
                "files": [render(f, self.config) for f in found[start : start + page_size]],
            }

    def get(self, file_id: str) -> dict[str, Any]:
        with self._lock:
            record = self._files.get(file_id)
            if record is None:
                raise file_not_found()
            return render(record, self.config)

    def delete(self, file_id: str) -> None:
        with self._lock:
            if self._files.pop(file_id, None) is None:
                raise file_not_found()
            self._on_change()

    def names(self) -> dict[str, str]:
        """``{file_id: name}`` of every file."""
        with self._lock:
            return {file_id: record.name for file_id, record in self._files.items()}

    def seed(self, entries: Iterable[Any]) -> list[str]:
        """Add files from scenario entries (``name`` required; ``content`` gives size and MD5); returns ids."""
        ids = []
        with self._lock:
            now = float(self.config.clock())
            for entry in entries:
                if not isinstance(entry, dict):
                    raise TypeError("each seeded file must be an object")
                unknown = set(entry) - SEED_KEYS
                if unknown:
                    raise ValueError(f"unknown file seed keys: {sorted(unknown)}")
                if not entry.get("name"):
                    raise ValueError("a seeded file needs a name")
                if entry.get("file_id") in self._files:
                    raise ValueError(f"file {entry['file_id']} already exists")
                content = str(entry.get("content", "")).encode("utf-8")
                item = UploadedFile(
                    name=str(entry["name"]),
                    size=int(entry.get("size", len(content))),
                    md5=str(entry.get("md5") or hashlib.md5(content, usedforsecurity=False).hexdigest()),
                    description=str(entry.get("description", "")),
                    purpose=str(entry.get("purpose", DEFAULT_PURPOSE)),
                )
                created = (
                    parse_plain(entry["gmt_create"], self.config.tz, "gmt_create") if "gmt_create" in entry else now
                )
                ids.append(self._add(item, created, entry.get("file_id")).file_id)
            self._on_change()
        return ids

    def clear(self) -> None:
        with self._lock:
            self._files.clear()
            self._next_id = 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"next_id": self._next_id, "files": [asdict(f) for f in self._files.values()]}

    def restore(self, data: dict[str, Any]) -> None:
        with self._lock:
            self._files = {raw["file_id"]: FileRecord.from_dict(raw) for raw in data.get("files", [])}
            self._next_id = int(data.get("next_id") or len(self._files) + 1)
