"""OpenLineage datasets and facets from a :class:`~airflow_provider_dashscope.lineage.LineageRecord`.

Imported only by ``get_openlineage_facets_*`` (so only with the OpenLineage provider installed). Custom facets:

* run facet ``dashscope_fineTune``: ``jobId``, ``consoleUrl``, ``model``, ``baseModel``, ``trainingType``,
  ``hyperParameters``, ``usageTokens``, ``status``, ``trainingFileIds``, ``validationFileIds``;
* run facet ``dashscope_checkpointExport``: ``jobId``, ``checkpoint``, ``step``, ``metric``, ``metricValue``,
  ``exportName``, ``modelName``;
* dataset facet ``dashscope_model`` on a model: ``baseModel``, ``jobId``, ``checkpoint``;
* dataset facet ``dashscope_deployment`` on a deployment: ``modelName``, ``baseModel``, ``capacity``, ``status``;

and the standard ``externalQuery`` run facet with the job id (``source`` ``dashscope``).
"""

from __future__ import annotations

from typing import Any

from airflow.providers.common.compat.openlineage.facet import Dataset, ExternalQueryRunFacet
from airflow.providers.openlineage.extractors import OperatorLineage
from attrs import define, field
from openlineage.client.facet_v2 import DatasetFacet, RunFacet

from airflow_provider_dashscope.lineage.records import LineageRecord, dataset_name, namespace

_SCHEMA = "https://github.com/airflow-provider-dashscope/spec/facets/1-0-0/{}.json#/$defs/{}"


@define
class DashScopeFineTuneRunFacet(RunFacet):
    """The fine-tune job a task ran or waited on."""

    jobId: str
    consoleUrl: str | None = None
    model: str | None = None
    baseModel: str | None = None
    trainingType: str | None = None
    hyperParameters: dict[str, Any] = field(factory=dict)
    usageTokens: int | None = None
    status: str | None = None
    trainingFileIds: list[str] = field(factory=list)
    validationFileIds: list[str] = field(factory=list)

    @staticmethod
    def _get_schema() -> str:
        return _SCHEMA.format("DashScopeFineTuneRunFacet", "DashScopeFineTuneRunFacet")


@define
class DashScopeCheckpointExportRunFacet(RunFacet):
    """The checkpoint a task chose and exported, and the metric it chose it by."""

    jobId: str
    checkpoint: str
    step: int | None = None
    metric: str | None = None
    metricValue: float | None = None
    exportName: str | None = None
    modelName: str | None = None

    @staticmethod
    def _get_schema() -> str:
        return _SCHEMA.format("DashScopeCheckpointExportRunFacet", "DashScopeCheckpointExportRunFacet")


@define
class DashScopeModelDatasetFacet(DatasetFacet):
    """Where a model came from."""

    baseModel: str | None = None
    jobId: str | None = None
    checkpoint: str | None = None

    @staticmethod
    def _get_schema() -> str:
        return _SCHEMA.format("DashScopeModelDatasetFacet", "DashScopeModelDatasetFacet")


@define
class DashScopeDeploymentDatasetFacet(DatasetFacet):
    """What a deployment serves, and with what capacity."""

    modelName: str | None = None
    baseModel: str | None = None
    capacity: int | None = None
    status: str | None = None

    @staticmethod
    def _get_schema() -> str:
        return _SCHEMA.format("DashScopeDeploymentDatasetFacet", "DashScopeDeploymentDatasetFacet")


_RUN_FACETS: dict[str, type[RunFacet]] = {
    "dashscope_fineTune": DashScopeFineTuneRunFacet,
    "dashscope_checkpointExport": DashScopeCheckpointExportRunFacet,
}
_DATASET_FACETS: dict[str, type[DatasetFacet]] = {
    "dashscope_model": DashScopeModelDatasetFacet,
    "dashscope_deployment": DashScopeDeploymentDatasetFacet,
}
#: Collections of DashScope datasets; any other first element of a pair is an external namespace.
COLLECTIONS = ("files", "models", "deployments", "fine-tunes")


def _dataset(record: LineageRecord, pair: tuple[str, str], facets: dict[str, Any] | None = None) -> Dataset:
    collection, name = pair
    if collection in COLLECTIONS:
        return Dataset(
            namespace=namespace(record.region or "unknown"), name=dataset_name(collection, name), facets=facets or {}
        )
    return Dataset(namespace=collection, name=name, facets=facets or {})


def operator_lineage(record: LineageRecord | None) -> OperatorLineage:
    """The ``OperatorLineage`` of a record (empty for ``None``)."""
    if record is None:
        return OperatorLineage()
    run_facets: dict[str, Any] = {}
    for name, fields in record.facets.items():
        if name in _RUN_FACETS:
            run_facets[name] = _RUN_FACETS[name](**fields)
        elif name == "externalQuery":
            run_facets[name] = ExternalQueryRunFacet(externalQueryId=fields["id"], source=fields["source"])
    outputs = []
    for pair in record.outputs:
        facets = {
            name: _DATASET_FACETS[name](**fields)
            for name, fields in record.output_facets.get(pair, {}).items()
            if name in _DATASET_FACETS
        }
        outputs.append(_dataset(record, pair, facets))
    return OperatorLineage(
        inputs=[_dataset(record, pair) for pair in record.inputs], outputs=outputs, run_facets=run_facets
    )
