"""OpenLineage lineage of the upload, fine-tune, checkpoint export and deploy operators.

With ``apache-airflow-providers-openlineage`` installed (the ``openlineage`` extra), its listener asks each of
these operators for ``get_openlineage_facets_on_start`` / ``..._on_complete``; without it nothing here imports it.
The facets are built from a :class:`LineageRecord`, plain JSON-safe values the operator kept while it ran
(``execute`` / ``execute_complete``): the listener extracts lineage in a forked child where a connection lookup
or an XCom read may hang, so extraction itself looks nothing up.

The record and the dataset names are in :mod:`.records`, the OpenLineage objects in :mod:`.facets`; a DAG file loads
only this module (the mixin its operators are built on).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage

    from airflow_provider_dashscope.lineage.records import LineageRecord

__all__ = ["LineageMixin"]


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
