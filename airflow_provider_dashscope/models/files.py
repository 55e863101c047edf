"""Typed, deeply immutable models of uploaded files and pages of files (no I/O).

The files API answers under ``data`` (not ``output``). :meth:`DashScopeFile.from_api` reads one file object of a
get or list answer, or one entry of an upload's ``uploaded_files`` (which holds only ``file_id`` and ``name``). The
whole object is kept, read-only, in :attr:`DashScopeFile.raw`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_dashscope._config import DEFAULT_API_TIME_ZONE
from airflow_provider_dashscope.exceptions import InvalidResponseError
from airflow_provider_dashscope.models._fields import FrozenDict, fields_from_api, opt_int

if TYPE_CHECKING:
    import pendulum

__all__ = ["DashScopeFile", "DashScopeFilePage"]


def _bad(what: str, request_id: str | None, file_id: str | None = None) -> InvalidResponseError:
    return InvalidResponseError(
        what,
        status_code=200,
        code="InvalidResponse",
        request_id=request_id,
        resource_id=file_id,
        resource_key="file_id",
    )


@dataclass(frozen=True)
class DashScopeFile:
    """One uploaded file, as ``GET /files/{file_id}`` and the list describe it.

    ``id`` is the API's internal id (documented as a string, shown as a number in its examples: kept as text).
    ``api_key_id`` names the key that uploaded the file; it is left out of ``repr`` and of :meth:`summary`.
    """

    file_id: str
    name: str | None = None
    description: str | None = None
    size: int | None = None
    md5: str | None = None
    purpose: str | None = None
    gmt_create: pendulum.DateTime | None = None
    url: str | None = field(default=None, repr=False)
    id: str | None = None
    region: str | None = None
    user_id: str | None = None
    api_key_id: str | None = field(default=None, repr=False)
    request_id: str | None = None
    raw: Mapping[str, Any] = field(default_factory=FrozenDict, repr=False, compare=False, hash=False)

    @classmethod
    def from_api(
        cls, data: Any, request_id: str | None = None, *, time_zone: str = DEFAULT_API_TIME_ZONE
    ) -> DashScopeFile:
        """Build a file from a get answer's ``data`` (or an item of a list); an error if it is not a file."""
        if not isinstance(data, Mapping):
            raise _bad(f"expected a file object in 'data', got {type(data).__name__}", request_id)
        file_id = data.get("file_id")
        if not isinstance(file_id, str) or not file_id:
            raise _bad("the file object has no 'file_id'", request_id)
        raw = FrozenDict(data)  # frozen once; the fields read from it
        return cls(**fields_from_api(cls, raw, time_zone=time_zone, file_id=file_id, request_id=request_id, raw=raw))

    def summary(self) -> dict[str, Any]:
        """A small JSON-safe dict for XCom and logs; never the raw answer, the signed URL or the key's id."""
        return {
            "file_id": self.file_id,
            "name": self.name,
            "description": self.description,
            "size": self.size,
            "md5": self.md5,
            "purpose": self.purpose,
            "gmt_create": self.gmt_create.isoformat() if self.gmt_create else None,
            "request_id": self.request_id,
        }


@dataclass(frozen=True)
class DashScopeFilePage:
    """One page of ``GET /files``."""

    page_no: int
    page_size: int
    #: Files across all pages, or ``None`` when the API did not say.
    total: int | None
    files: tuple[DashScopeFile, ...]
    request_id: str | None = None

    @classmethod
    def from_api(
        cls, data: Any, request_id: str | None = None, *, time_zone: str = DEFAULT_API_TIME_ZONE
    ) -> DashScopeFilePage:
        if not isinstance(data, Mapping) or not isinstance(data.get("files", []), list):
            raise _bad("expected a page of files in 'data'", request_id)
        files = tuple(DashScopeFile.from_api(item, request_id, time_zone=time_zone) for item in data.get("files") or [])
        return cls(
            page_no=opt_int(data.get("page_no")) or 1,
            page_size=opt_int(data.get("page_size")) or len(files),
            total=opt_int(data.get("total")),
            files=files,
            request_id=request_id,
        )
