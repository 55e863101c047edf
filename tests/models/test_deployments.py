"""Deployment, DeploymentStatus and DeploymentPage built from the deployments API's answers."""

from __future__ import annotations

import json
import pickle
import uuid

import pendulum
import pytest

from airflow_provider_dashscope.exceptions import InvalidResponseError
from airflow_provider_dashscope.models import Deployment, DeploymentPage, DeploymentStatus

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
