"""The deployments resource: argument checks and the bodies the official SDK sends (no I/O)."""

from __future__ import annotations

import pytest

from airflow_provider_dashscope import _config
from airflow_provider_dashscope.exceptions import DashScopeConfigError, InvalidResponseError
from airflow_provider_dashscope.resources import deployments

CONFIG = _config.build_config(api_key="sk-x", source="connection 'ds'", key_field="its password field")
MODEL = "qwen3-14b-ft-202410291653-1c7f"


def test_create_sends_model_name_and_capacity_first_then_the_optional_fields():
    request = deployments.create_deployment_request(
        MODEL, capacity=2, plan="lora", suffix="v2", api_fields={"rpm_limit": 60}
    )
    assert (request.method, request.path, request.idempotent) == ("POST", "/deployments", False)
    assert list(request.body.items()) == [
        ("model_name", MODEL), ("capacity", 2), ("suffix", "v2"), ("plan", "lora"), ("rpm_limit", 60),
    ]  # fmt: skip
    minimal = deployments.create_deployment_request(MODEL)
    assert dict(minimal.body) == {"model_name": MODEL, "capacity": 1}


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"capacity": 0}, r"capacity must be a positive integer below 1000 .* got 0"),
        ({"capacity": -1}, r"capacity must be a positive integer below 1000"),
        ({"capacity": 1000}, r"got 1000"),
        ({"capacity": 1.5}, r"got 1\.5"),
        ({"capacity": "2"}, r"got '2'"),
        ({"capacity": True}, r"got True"),
        ({"suffix": "TooLong99"}, r"suffix must be 1 to 8 lower-case letters or digits .* got 'TooLong99'"),
        ({"suffix": "ab-c"}, r"suffix must be 1 to 8 lower-case letters or digits"),
        ({"suffix": ""}, r"suffix must be"),
        ({"plan": " lora"}, r"plan must be a plan name"),
        ({"api_fields": {"capacity": 3}}, r"api_fields repeats capacity; pass them as arguments of their own"),
        ({"api_fields": ["x"]}, r"api_fields must be a dict of body fields, got list"),
    ],
)
def test_bad_arguments_are_refused_naming_the_field(kwargs, expected):
    with pytest.raises(DashScopeConfigError, match=expected):
        deployments.create_deployment_request(MODEL, **kwargs)


@pytest.mark.parametrize("bad", ["", None, "../fine-tunes", "a b", "a/b", "m" * 300])
def test_an_empty_or_path_like_model_name_or_deployed_model_is_refused(bad):
    with pytest.raises(DashScopeConfigError, match=r"model_name") as info:
        deployments.create_deployment_request(bad)
    assert "pass a base model id or a fine-tune job's finetuned_output" in str(info.value)
    with pytest.raises(DashScopeConfigError, match=r"deployed_model") as info:
        deployments.get_deployment_request(bad)
    assert "pass the deployed_model the deploy call returned" in str(info.value)


def test_get_scale_delete_and_list_requests():
    get = deployments.get_deployment_request(MODEL)
    assert (get.method, get.path, get.about) == ("GET", f"/deployments/{MODEL}", f" (deployed_model={MODEL})")
    scale = deployments.scale_deployment_request(MODEL, 3)
    assert (scale.method, scale.path, scale.idempotent) == ("PUT", f"/deployments/{MODEL}/scale", False)
    assert dict(scale.body) == {"deployed_model": MODEL, "capacity": 3}
    delete = deployments.delete_deployment_request(MODEL)
    assert (delete.method, delete.path, delete.idempotent) == ("DELETE", f"/deployments/{MODEL}", True)
    listing = deployments.list_deployments_request(1, 200)
    assert dict(listing.params) == {"page_no": 1, "page_size": 200}
    with pytest.raises(DashScopeConfigError):
        deployments.list_deployments_request(1, 201)
    assert deployments.get_deployment_request("a;b=c").path == "/deployments/a%3Bb%3Dc"


def test_the_usual_deployed_model_name():
    assert deployments.deployed_model_name(MODEL, None) == MODEL
    assert deployments.deployed_model_name(MODEL, "v2") == f"{MODEL}-v2"


def test_a_delete_answer_without_name_or_status_is_completed_from_the_request():
    parse = deployments.deletion_parser(MODEL)
    deleted = parse({}, "r-1", CONFIG)
    assert (deleted.deployed_model, deleted.status_text, deleted.request_id) == (MODEL, "DELETING", "r-1")
    full = parse({"deployed_model": MODEL, "status": "DELETING", "capacity": 2}, "r-2", CONFIG)
    assert full.capacity == 2
    with pytest.raises(InvalidResponseError):
        parse(None, "r-3", CONFIG)
