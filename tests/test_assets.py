"""Asset events for produced models: URIs, the region, the scheme's handler, and the events the fine-tune and deploy
operators add to their asset-alias outlets (with Airflow's own outlet-event accessors, on Airflow 3 and 2)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from airflow.providers.common.compat.assets import Asset, AssetAlias

from airflow_provider_dashscope import assets
from airflow_provider_dashscope._config import build_config
from airflow_provider_dashscope.operators.deployments import DashScopeDeployModelOperator
from airflow_provider_dashscope.operators.fine_tunes import DashScopeFineTuneJobOperator
from tests._servers import ok
from tests._waiting import FakeTI, make_context

FT_OUTPUT = "qwen3-14b-ft-202410291653-1c7f"


def outlet_events():
    """Airflow's own accessor of a task's outlet events, as the task runner puts it into the context."""
    try:
        from airflow.sdk.execution_time.context import OutletEventAccessors  # Airflow 3
    except ImportError:
        from airflow.utils.context import OutletEventAccessors  # Airflow 2
    return OutletEventAccessors()


def recorded(events, alias: AssetAlias) -> list[tuple[str, str, dict]]:
    """(alias name, asset URI, extra) of every alias event recorded for ``alias``."""
    accessor = events[alias]
    if hasattr(accessor, "asset_alias_events"):
        return [(e.source_alias_name, e.dest_asset_key.uri, e.extra) for e in accessor.asset_alias_events]
    return [(e["source_alias_name"], e["dest_dataset_uri"], e["extra"]) for e in accessor.dataset_alias_events]


def config(**kwargs):
    return build_config(api_key="sk-x", source="test", key_field="k", **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "region"),
    [
        ({"extra": {"region": "cn-beijing"}}, "cn-beijing"),
        ({"host": "https://dashscope-intl.aliyuncs.com/api/v1"}, "ap-southeast-1"),
        ({"host": "dashscope.aliyuncs.com"}, "cn-beijing"),
        ({"host": "https://llm-abc.cn-hongkong.maas.aliyuncs.com/api/v1"}, "cn-hongkong"),
        ({"host": "http://127.0.0.1:8089"}, "local"),
        ({"host": "https://gateway.example.com/api/v1"}, "gateway.example.com"),
        ({}, "ap-southeast-1"),
    ],
)
def test_the_region_of_a_connection(kwargs, region):
    assert assets.region_of(config(**kwargs)) == region


def test_uris_are_built_normalised_so_name_and_uri_agree():
    assert assets.model_uri("cn-beijing", FT_OUTPUT) == f"dashscope://cn-beijing/models/{FT_OUTPUT}"
    assert assets.deployment_uri("CN-Beijing", "m-v2") == "dashscope://cn-beijing/deployments/m-v2"
    assert assets.model_uri("local", "a/b c") == "dashscope://local/models/a%2Fb%20c"
    asset = Asset(uri=assets.model_uri("cn-beijing", FT_OUTPUT))
    assert asset.uri == assets.model_uri("cn-beijing", FT_OUTPUT)
    assert getattr(asset, "name", asset.uri) == asset.uri
    with pytest.raises(ValueError, match="non-empty model name"):
        assets.model_uri("cn-beijing", "")


def test_the_scheme_handler_lowercases_the_region_and_never_raises():
    parts = urlsplit("dashscope://CN-Beijing/models/Qwen-FT")
    assert assets.normalize_uri(parts).geturl() == "dashscope://cn-beijing/models/Qwen-FT"
    assert assets.normalize_uri(urlsplit("dashscope://Local/")).geturl() == "dashscope://local/"


def test_no_alias_among_the_outlets_means_no_event():
    class Task:
        outlets = [Asset(uri="dashscope://local/models/x")]

    assert assets.add_asset_events(Task(), {"outlet_events": outlet_events()}, "dashscope://local/models/y", {}) == 0


@pytest.fixture
def api(scripted_server, dashscope_conn):
    dashscope_conn("dashscope_default", host=scripted_server.url, max_retries=1, region="cn-beijing")
    return scripted_server


def test_a_fine_tune_operator_adds_an_event_for_the_model_its_job_produced(api):
    alias = AssetAlias(assets.FINETUNED_MODELS_ALIAS)
    job = {"job_id": "ft-202410291653-1c7f", "status": "SUCCEEDED", "finetuned_output": FT_OUTPUT,
           "model": "qwen3-14b", "base_model": "qwen3-14b", "usage": 4321}  # fmt: skip
    api.script("GET", "/fine-tunes/ft-202410291653-1c7f", ok(job))
    events = outlet_events()
    context = {**make_context(FakeTI()), "outlet_events": events}
    op = DashScopeFineTuneJobOperator(task_id="result", job_id=job["job_id"], outlets=[alias])
    op.execute(context)
    assert recorded(events, alias) == [
        (
            assets.FINETUNED_MODELS_ALIAS,
            f"dashscope://cn-beijing/models/{FT_OUTPUT}",
            {"job_id": job["job_id"], "model": "qwen3-14b", "base_model": "qwen3-14b", "finetuned_output": FT_OUTPUT,
             "usage": 4321, "status": "SUCCEEDED", "region": "cn-beijing"},
        )
    ]  # fmt: skip


def test_a_job_that_is_not_finished_adds_no_event(api):
    alias = AssetAlias("models")
    api.script("GET", "/fine-tunes/ft-1", ok({"job_id": "ft-1", "status": "RUNNING"}))
    events = outlet_events()
    op = DashScopeFineTuneJobOperator(task_id="r", job_id="ft-1", outlets=[alias], wait_for_completion=False)
    op.execute({**make_context(), "outlet_events": events})
    assert recorded(events, alias) == []


def test_the_deploy_operator_adds_an_event_once_the_deployment_serves_and_only_then(api):
    alias, other = AssetAlias(assets.DEPLOYED_MODELS_ALIAS), AssetAlias("more-models")
    body = {"deployed_model": FT_OUTPUT, "status": "RUNNING", "model_name": FT_OUTPUT, "base_model": "qwen3-14b",
            "capacity": 2}  # fmt: skip
    api.script("POST", "/deployments", ok({**body, "status": "PENDING"}), ok(body))
    events = outlet_events()
    op = DashScopeDeployModelOperator(task_id="deploy", model_name=FT_OUTPUT, outlets=[alias, other],
                                      wait_for_completion=False)  # fmt: skip
    op.execute({**make_context(), "outlet_events": events})
    assert recorded(events, alias) == []  # PENDING: not serving yet
    op.execute({**make_context(), "outlet_events": events})
    extra = {"deployed_model": FT_OUTPUT, "model_name": FT_OUTPUT, "base_model": "qwen3-14b", "status": "RUNNING",
             "capacity": 2, "region": "cn-beijing"}  # fmt: skip
    uri = f"dashscope://cn-beijing/deployments/{FT_OUTPUT}"
    assert recorded(events, alias) == [(assets.DEPLOYED_MODELS_ALIAS, uri, extra)]
    assert recorded(events, other) == [("more-models", uri, extra)]


def test_the_deferred_path_adds_the_event_in_execute_complete(api):
    alias = AssetAlias(assets.DEPLOYED_MODELS_ALIAS)
    events = outlet_events()
    event = {"status": "success", "deployed_model": "m", "deployment_status": "RUNNING", "message": "ok",
             "deployment": {"deployed_model": "m", "status": "RUNNING", "model_name": "m"}, "http_status": None,
             "request_id": "r"}  # fmt: skip
    op = DashScopeDeployModelOperator(task_id="deploy", model_name="m", outlets=[alias])
    op.execute_complete({**make_context(), "outlet_events": events}, event)
    assert [uri for _, uri, _ in recorded(events, alias)] == ["dashscope://cn-beijing/deployments/m"]
