"""What a task kept of its lineage as it ran (:class:`LineageRecord`), and the names of DashScope datasets.

DashScope datasets are named so that ``namespace + "/" + name`` is the asset URI the operators emit: namespace
``dashscope://<region>``, names ``files/<file_id>``, ``models/<model>``, ``deployments/<deployed_model>``. A local
file is namespace ``file`` with its absolute path; an object-storage file its scheme and bucket
(``s3://bucket``) with the key. The API key is never part of a record.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

__all__ = ["LineageRecord", "dataset_name", "lineage_enabled", "namespace", "source_dataset"]

SCHEME = "dashscope"


def namespace(region: str) -> str:
    """``dashscope://<region>``."""
    return f"{SCHEME}://{region.lower()}"


def dataset_name(collection: str, name: str) -> str:
    """``<collection>/<name>``, the name one escaped path segment (as in the asset URIs)."""
    return f"{collection}/{quote(name, safe='')}"


def source_dataset(path: Any) -> tuple[str, str]:
    """(namespace, name) of a file an upload read: ``("file", "/abs/path")`` for a local file (a path or a
    ``file://`` URI), ``("s3://bucket", "key")`` for object storage (an ObjectStoragePath or its URI)."""
    text = str(path) if hasattr(path, "protocol") else os.fspath(path) if isinstance(path, os.PathLike) else str(path)
    if "://" not in text:
        return "file", os.path.abspath(text)
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme in ("file", "local"):
        return "file", os.path.abspath(parts.path or "/")
    return f"{scheme}://{parts.netloc}", parts.path.lstrip("/")


def lineage_enabled() -> bool:
    """True when the OpenLineage provider is installed and configured to emit (else: nothing to do, no import)."""
    try:
        from airflow.providers.openlineage.conf import is_disabled
    except ImportError:
        return False
    try:
        return not is_disabled()
    except Exception:  # a broken [openlineage] section is the listener's business, not the task's
        return False


@dataclass
class LineageRecord:
    """What a task ran on and produced, kept as it ran: the region of its connection, the datasets it read
    (``inputs``) and wrote (``outputs``) as ``(collection or namespace, name)`` pairs, and facet values."""

    region: str | None = None
    #: ``("files", file_id)`` style DashScope datasets, or ``("file", "/abs/path")`` style external ones.
    inputs: list[tuple[str, str]] = field(default_factory=list)
    outputs: list[tuple[str, str]] = field(default_factory=list)
    #: Facet name -> a JSON-safe dict of its fields (see :mod:`.facets`).
    facets: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Facets of one output dataset: dataset (collection, name) -> facet name -> fields.
    output_facets: dict[tuple[str, str], dict[str, dict[str, Any]]] = field(default_factory=dict)
