"""OpenLineage lineage of the upload, fine-tune, checkpoint export and deploy operators.

With ``apache-airflow-providers-openlineage`` installed (the ``openlineage`` extra), its listener asks each of
these operators for ``get_openlineage_facets_on_start`` / ``..._on_complete``; without it nothing here imports it.
The facets are built from a :class:`LineageRecord`, plain JSON-safe values the operator kept while it ran
(``execute`` / ``execute_complete``): the listener extracts lineage in a forked child where a connection lookup
or an XCom read may hang, so extraction itself looks nothing up.

DashScope datasets are named so that ``namespace + "/" + name`` is the asset URI the operators emit: namespace
``dashscope://<region>``, names ``files/<file_id>``, ``models/<model>``, ``deployments/<deployed_model>``. A local
file is namespace ``file`` with its absolute path; an object-storage file its scheme and bucket
(``s3://bucket``) with the key. The API key is never part of a record.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage

__all__ = ["LineageMixin", "LineageRecord", "dataset_name", "lineage_enabled", "namespace", "source_dataset"]

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


class LineageMixin:
    """``get_openlineage_facets_on_start`` / ``_on_complete`` of an operator that keeps a :class:`LineageRecord`
    in ``self.lineage`` while it runs (``None`` until then)."""

    lineage: LineageRecord | None = None

    def _lineage_on_start(self) -> LineageRecord | None:
        """What is known before ``execute`` runs, without any lookup (default: nothing)."""
        return None

    def get_openlineage_facets_on_start(self) -> OperatorLineage:
        from airflow_provider_dashscope.lineage.facets import operator_lineage

        return operator_lineage(self._lineage_on_start())

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:
        from airflow_provider_dashscope.lineage.facets import operator_lineage

        return operator_lineage(self.lineage if self.lineage is not None else self._lineage_on_start())
