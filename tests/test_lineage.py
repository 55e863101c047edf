"""OpenLineage naming and facets: namespace + name is the asset URI; sources named by the OpenLineage naming rules;
facets built from what a task kept, with no lookup; nothing of OpenLineage imported unless it asks."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from airflow_provider_dashscope.assets import deployment_uri, model_uri
from airflow_provider_dashscope.lineage.records import LineageRecord, dataset_name, namespace, source_dataset


@pytest.mark.parametrize("name", ["qwen3-14b-ft-202410291653-1c7f", "odd name/with:chars", "ÄÖ-model"])
def test_namespace_and_name_make_the_asset_uri(name):
    assert f"{namespace('cn-Beijing')}/{dataset_name('models', name)}" == model_uri("cn-Beijing", name)
    assert f"{namespace('local')}/{dataset_name('deployments', name)}" == deployment_uri("local", name)


@pytest.mark.parametrize(
    "path, expected",
    [
        ("/data/train.jsonl", ("file", "/data/train.jsonl")),
        ("file:///data/train.jsonl", ("file", "/data/train.jsonl")),
        ("s3://my-bucket/sft/train.jsonl", ("s3://my-bucket", "sft/train.jsonl")),
        ("gs://b/x.jsonl", ("gs://b", "x.jsonl")),
    ],
)
def test_sources_are_named_by_the_openlineage_naming_rules(path, expected):
    assert source_dataset(path) == expected


def test_a_relative_path_becomes_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert source_dataset("train.jsonl") == ("file", str(tmp_path / "train.jsonl"))


def test_facets_come_from_the_record_alone():
    pytest.importorskip("airflow.providers.openlineage")
    from openlineage.client.serde import Serde

    from airflow_provider_dashscope.lineage.facets import operator_lineage

    record = LineageRecord(
        region="cn-beijing",
        inputs=[("files", "file-1"), ("s3://bucket", "train.jsonl")],
        outputs=[("models", "m-1")],
        facets={"dashscope_fineTune": {"jobId": "ft-1", "usageTokens": 12}, "externalQuery": {"id": "ft-1", "source": "dashscope"}},
        output_facets={("models", "m-1"): {"dashscope_model": {"baseModel": "qwen3-14b", "jobId": "ft-1"}}},
    )  # fmt: skip
    lineage = operator_lineage(record)
    assert [(d.namespace, d.name) for d in lineage.inputs] == [
        ("dashscope://cn-beijing", "files/file-1"),
        ("s3://bucket", "train.jsonl"),
    ]
    assert json.loads(Serde.to_json(lineage.outputs[0].facets["dashscope_model"]))["baseModel"] == "qwen3-14b"
    facet = json.loads(Serde.to_json(lineage.run_facets["dashscope_fineTune"]))
    assert (facet["jobId"], facet["usageTokens"]) == ("ft-1", 12)
    assert lineage.run_facets["externalQuery"].externalQueryId == "ft-1"
    assert operator_lineage(None).inputs == []


def test_the_upload_reports_its_source_before_it_runs():
    pytest.importorskip("airflow.providers.openlineage")
    from airflow_provider_dashscope.operators.files import DashScopeUploadFileOperator

    upload = DashScopeUploadFileOperator(task_id="up", path="s3://bucket/sft/train.jsonl")
    started = upload.get_openlineage_facets_on_start()
    assert [(d.namespace, d.name) for d in started.inputs] == [("s3://bucket", "sft/train.jsonl")]
    assert started.outputs == []
    templated = DashScopeUploadFileOperator(task_id="up", path="{{ params.training_file }}")
    assert templated.get_openlineage_facets_on_start().inputs == []


def test_nothing_of_openlineage_is_imported_by_the_operators_or_a_dag_that_uses_them():
    code = """
import sys
from airflow_provider_dashscope.operators.checkpoints import DashScopeExportCheckpointOperator
from airflow_provider_dashscope.operators.deployments import DashScopeDeployModelOperator
from airflow_provider_dashscope.operators.files import DashScopeUploadFileOperator
from airflow_provider_dashscope.operators.fine_tunes import DashScopeCreateFineTuneJobOperator
import runpy
runpy.run_path("example_dags/example_dashscope_finetune_pipeline.py")
# Airflow's provider discovery reads every installed provider's metadata; that is Airflow's, not ours.
discovery = {"airflow.providers.openlineage", "airflow.providers.openlineage.get_provider_info"}
loaded = sorted(m for m in sys.modules if m.startswith(("openlineage", "airflow.providers.openlineage")))
print("LOADED", [m for m in loaded if m not in discovery], "airflow_provider_dashscope.lineage.facets" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "LOADED [] False" in done.stdout, done.stdout
