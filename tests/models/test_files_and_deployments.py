"""DashScopeFile, DashScopeFilePage, Deployment, DeploymentStatus and DeploymentPage built from API answers."""

from __future__ import annotations

import dataclasses
import json
import pickle
import uuid

import pendulum
import pytest

from airflow_provider_dashscope.exceptions import InvalidResponseError
from airflow_provider_dashscope.models import (
    DashScopeFile,
    DashScopeFilePage,
    Deployment,
    DeploymentPage,
    DeploymentStatus,
)

# The list example of the "List files" reference page (one item), verbatim but for the key id.
FILE_ITEM = {
    "id": 1001,
    "file_id": "9G2EaQtq7p1fw7oRhYXdHTtDFYAMVQSh95432B38CAB211EDB8F952C2E8001733",
    "name": "test.txt",
    "description": "1",
    "size": 0,
    "md5": "d41d8cd98f00b204e9800998ecf8427e",
    "gmt_create": "2023-03-25 10:13:07",
    "url": "http://xxx.oss-cn-hangzhou.aliyuncs.com/oss%3A//dashscope-dev/api-fs/123456/123456/test.txt",
    "region": "cn-hangzhou",
    "user_id": "123456",
    "api_key_id": "key-id-marker",
    "purpose": "fine-tune",
}

# A deployment object with every documented field (text and MU plan fields).
DEPLOYMENT = {
    "deployed_model": "qwen-plus-2025-12-01-b6d61c71",
    "gmt_create": "2025-06-17T11:00:38.68",
    "gmt_modified": "2025-11-11T17:46:53.294",
    "status": "RUNNING",
    "model_name": "qwen-plus-2025-12-01",
    "base_model": "qwen-plus",
    "base_capacity": 1,
    "capacity": 2,
    "ready_capacity": 2,
    "workspace_id": "llm-xxxx",
    "charge_type": "post_paid",
    "creator": "1001",
    "modifier": "1001",
    "plan": "mu",
    "model_unit_spec": "MU1",
    "enable_thinking": False,
    "max_context_length": 32768,
    "rpm_limit": 600,
    "tpm_limit": 100000,
    "a_field_added_later": {"x": [1]},
}


def test_a_file_reads_every_documented_field_and_keeps_the_raw_object():
    item = DashScopeFile.from_api(FILE_ITEM, "req-1", time_zone="Asia/Shanghai")
    assert item.file_id == FILE_ITEM["file_id"]
    assert (item.name, item.description, item.size, item.md5) == ("test.txt", "1", 0, FILE_ITEM["md5"])
    assert item.id == "1001"  # documented as a string, shown as a number
    assert item.gmt_create == pendulum.datetime(2023, 3, 25, 10, 13, 7, tz="Asia/Shanghai")
    assert (item.region, item.user_id, item.purpose, item.request_id) == ("cn-hangzhou", "123456", "fine-tune", "req-1")
    assert item.raw["url"] == FILE_ITEM["url"]
    with pytest.raises(TypeError):
        item.raw["name"] = "x"  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        item.name = "x"  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(item)) == item


def test_a_files_summary_and_repr_leave_out_the_signed_url_and_the_key_id():
    item = DashScopeFile.from_api(FILE_ITEM, "req-1")
    summary = item.summary()
    assert set(summary) == {"file_id", "name", "description", "size", "md5", "purpose", "gmt_create", "request_id"}
    json.dumps(summary)
    for text in (json.dumps(summary), repr(item)):
        assert "key-id-marker" not in text and "oss-cn-hangzhou" not in text


@pytest.mark.parametrize("data", [None, [], "x", {"name": "a"}, {"file_id": ""}])
def test_something_that_is_not_a_file_is_an_invalid_response(data):
    with pytest.raises(InvalidResponseError) as info:
        DashScopeFile.from_api(data, "req-2")
    assert info.value.request_id == "req-2"


def test_a_page_of_files():
    page = DashScopeFilePage.from_api({"total": 2, "page_size": 20, "page_no": 1, "files": [FILE_ITEM]}, "r")
    assert (page.total, page.page_size, page.page_no, len(page.files)) == (2, 20, 1, 1)
    assert DashScopeFilePage.from_api({"files": []}).total is None
    with pytest.raises(InvalidResponseError):
        DashScopeFilePage.from_api({"files": "nope"})


def test_a_deployment_reads_every_documented_field():
    deployment = Deployment.from_api(DEPLOYMENT, "req-3", time_zone="Asia/Shanghai")
    assert deployment.status is DeploymentStatus.RUNNING and deployment.is_running
    assert deployment.deployed_model == "qwen-plus-2025-12-01-b6d61c71"
    assert (deployment.capacity, deployment.ready_capacity, deployment.base_capacity) == (2, 2, 1)
    assert (deployment.plan, deployment.charge_type, deployment.model_unit_spec) == ("mu", "post_paid", "MU1")
    assert deployment.enable_thinking is False
    assert (deployment.max_context_length, deployment.rpm_limit, deployment.tpm_limit) == (32768, 600, 100000)
    assert deployment.gmt_create == pendulum.datetime(2025, 6, 17, 11, 0, 38, 680000, tz="Asia/Shanghai")
    assert deployment.gmt_modified == pendulum.datetime(2025, 11, 11, 17, 46, 53, 294000, tz="Asia/Shanghai")
    assert deployment.raw["a_field_added_later"] == {"x": (1,)}
    assert pickle.loads(pickle.dumps(deployment)) == deployment


def test_a_deployments_summary_is_small_json():
    summary = Deployment.from_api(DEPLOYMENT, "req-3").summary()
    assert summary["status"] == "RUNNING"
    assert summary["gmt_create"].startswith("2025-06-17T11:00:38.68")
    assert "a_field_added_later" not in summary and "raw" not in summary
    json.dumps(summary)


def test_an_unknown_deployment_status_is_kept_as_text_and_logged_once(log_lines):
    status = f"HIBERNATING_{uuid.uuid4().hex[:8].upper()}"  # logged once per process: a status no test used yet
    first = Deployment.from_api({**DEPLOYMENT, "status": status})
    second = Deployment.from_api({**DEPLOYMENT, "status": status})
    assert first.status == status and not isinstance(first.status, DeploymentStatus)
    assert second.status_text == status and not second.is_running
    warnings = [line for line in log_lines.lines("warning") if status in line]
    assert len(warnings) == 1 and "unknown deployment status" in warnings[0]


@pytest.mark.parametrize(
    "output", [None, [], {"status": "RUNNING"}, {"deployed_model": "m"}, {"deployed_model": "m", "status": ""}]
)
def test_something_that_is_not_a_deployment_is_an_invalid_response(output):
    with pytest.raises(InvalidResponseError):
        Deployment.from_api(output, "req-4")


def test_every_documented_status_is_a_member():
    documented = "PENDING DEPLOYING RUNNING UPDATING UPDATING_FAILED STOPPED OFFLINING ARREARS_DOWN " \
                 "ARREARS_RECOVERING DELETING FAILED"  # fmt: skip
    assert {status.value for status in DeploymentStatus} == set(documented.split())
    assert str(DeploymentStatus.RUNNING) == "RUNNING" and DeploymentStatus.RUNNING == "RUNNING"


def test_a_page_of_deployments():
    page = DeploymentPage.from_api({"page_no": 1, "page_size": 50, "total": 1, "deployments": [DEPLOYMENT]}, "r")
    assert (page.total, len(page.deployments), page.deployments[0].deployed_model) == (
        1,
        1,
        DEPLOYMENT["deployed_model"],
    )
    with pytest.raises(InvalidResponseError):
        DeploymentPage.from_api({"deployments": {}})
