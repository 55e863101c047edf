"""Deployments: the life cycle as pure functions, then every route rule over raw HTTP on 127.0.0.1."""

from __future__ import annotations

import re

import pytest

from airflow_provider_dashscope.emulator import EmulatorConfig, deployments as lc
from airflow_provider_dashscope.emulator.deployments import Deployment
from airflow_provider_dashscope.emulator.testing import EmulatorThread

T0 = 1_000_000.0
GMT_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}$")
FIELDS = {
    "deployed_model", "gmt_create", "gmt_modified", "status", "model_name", "base_model", "base_capacity",
    "capacity", "ready_capacity", "workspace_id", "charge_type", "creator", "modifier", "plan",
}  # fmt: skip


def record(**fields) -> Deployment:
    values = {"pending_seconds": 1.0, "deploying_seconds": 3.0, "updating_seconds": 2.0, "deleting_seconds": 1.0}
    values.update(fields)
    return Deployment("m", "m", "m", 2, T0, 1, **values)


# ------------------------------------------------------------------------------------------------ pure rules
def test_deploy_scale_and_delete_phases() -> None:
    dep = record()
    dep.timeline = lc.deploy_phases(dep, T0)
    assert [lc.status_at(dep, T0 + dt) for dt in (0, 0.99, 1, 3.99, 4, 100)] == [
        "PENDING", "PENDING", "DEPLOYING", "DEPLOYING", "RUNNING", "RUNNING",
    ]  # fmt: skip
    dep.timeline = lc.scale_phases(dep, T0 + 10)
    assert dep.timeline[-2:] == [(T0 + 10, "UPDATING"), (T0 + 12, "RUNNING")]
    assert lc.current_since(dep, T0 + 11) == T0 + 10
    dep.timeline = lc.delete_phases(dep, T0 + 20)
    assert [lc.status_at(dep, T0 + dt) for dt in (19, 20, 21)] == ["RUNNING", "DELETING", lc.GONE]


def test_failed_outcome_and_ready_capacity() -> None:
    dep = record(outcome="FAILED", previous_capacity=1)
    dep.timeline = lc.deploy_phases(dep, T0)
    assert lc.status_at(dep, T0 + 4) == "FAILED"
    assert [lc.ready_capacity(dep, s) for s in ("PENDING", "FAILED", "UPDATING", "RUNNING", "DELETING")] == [
        0, 0, 1, 2, 0,
    ]  # fmt: skip


def test_seeded_phases_go_on_from_the_seeded_status() -> None:
    dep = record()
    assert lc.seeded_phases(dep, "DEPLOYING", T0) == [(T0, "DEPLOYING"), (T0 + 3, "RUNNING")]
    assert lc.seeded_phases(dep, "DELETING", T0) == [(T0, "DELETING"), (T0 + 1, lc.GONE)]
    assert lc.seeded_phases(dep, "FAILED", T0) == [(T0, "FAILED")]


def test_names_and_settings() -> None:
    assert lc.deployed_name("qwen3-8b", None) == "qwen3-8b"
    assert lc.deployed_name("qwen3-8b", "v1") == "qwen3-8b-v1"
    dep = record()
    lc.apply_settings(dep, {"outcome": "failed", "deploying_seconds": 7})
    assert (dep.outcome, dep.deploying_seconds) == ("FAILED", 7)
    with pytest.raises(ValueError, match="outcome"):
        lc.apply_settings(dep, {"outcome": "SUCCEEDED"})


def test_render_has_the_documented_fields_and_times() -> None:
    dep = record(plan="lora", echoed={"model_version": "v1", "status": "echo-never-wins"})
    dep.timeline = lc.deploy_phases(dep, T0 + 0.68)
    out = lc.render(dep, T0 + 1.7, EmulatorConfig(tz_offset_hours=0))
    assert set(out) == FIELDS | {"model_version"}
    assert out["status"] == "DEPLOYING"
    assert (out["gmt_create"], out["gmt_modified"]) == ("1970-01-12T13:46:40.000", "1970-01-12T13:46:41.680")
    assert (out["plan"], out["charge_type"], out["base_capacity"], out["ready_capacity"]) == ("lora", "post_paid", 1, 0)


# ------------------------------------------------------------------------------------------------- over HTTP
def create(api, model: str = "qwen3-8b", capacity=1, **fields):
    return api.call("POST", "/deployments", {"model_name": model, "capacity": capacity, **fields})


def test_create_goes_pending_deploying_running(api, clock) -> None:
    reply = create(api, "qwen3-8b", 2, plan="lora")
    assert reply.status == 200 and set(reply.json) == {"request_id", "output"}
    dep = reply.output
    assert set(dep) == FIELDS
    assert (dep["deployed_model"], dep["status"], dep["capacity"], dep["ready_capacity"]) == (
        "qwen3-8b",
        "PENDING",
        2,
        0,
    )
    assert GMT_RE.match(dep["gmt_create"]) and dep["gmt_create"] == dep["gmt_modified"] == "2024-10-29T16:53:53.000"
    assert (dep["base_model"], dep["plan"], dep["workspace_id"]) == ("qwen3-8b", "lora", "llm-emulator")
    clock.advance(1)
    assert api.call("GET", "/deployments/qwen3-8b").output["status"] == "DEPLOYING"
    clock.advance(3)
    running = api.call("GET", "/deployments/qwen3-8b").output
    assert (running["status"], running["ready_capacity"]) == ("RUNNING", 2)
    assert running["gmt_modified"] == "2024-10-29T16:53:57.000"


def test_suffix_names_the_deployment_and_a_second_one_needs_a_new_suffix(api) -> None:
    assert create(api).output["deployed_model"] == "qwen3-8b"
    conflict = create(api)
    assert conflict.status == 409
    assert (conflict.json["code"], conflict.json["message"]) == (
        "Conflict",
        "Deployed model qwen3-8b already exists, please specify a suffix.",
    )
    assert create(api, suffix="v2").output["deployed_model"] == "qwen3-8b-v2"
    assert (
        create(api, suffix="v2").json["message"]
        == "Deployed model qwen3-8b-v2 already exists, please specify a suffix."
    )


def test_only_known_models_and_succeeded_outputs_deploy(api, emu, clock) -> None:
    missing = create(api, "qwen-nope")
    assert missing.status == 404
    assert (missing.json["code"], missing.json["message"]) == ("NotFound", "Model: qwen-nope not found!")
    job = api.create(model="qwen3-14b", finetuned_output_suffix="gate")
    output = f"qwen3-14b-gate-{job['job_id']}"
    assert create(api, output).status == 404  # not trained yet
    clock.advance(30)
    dep = create(api, output).output
    assert (dep["deployed_model"], dep["model_name"], dep["base_model"]) == (output, output, "qwen3-14b")


def test_the_list_of_base_models_is_configurable(clock, make_api) -> None:
    with EmulatorThread(clock=clock, deployable_models=("my-base",)) as emu:
        api = make_api(emu)
        assert create(api, "my-base").status == 200
        assert create(api, "qwen3-8b").status == 404


@pytest.mark.parametrize("capacity", [0, -1, "2", 1.5, True, 1000, None])
def test_capacity_must_be_a_positive_integer(api, capacity) -> None:
    body = {"model_name": "qwen3-8b"} if capacity is None else {"model_name": "qwen3-8b", "capacity": capacity}
    reply = api.call("POST", "/deployments", body)
    assert (reply.status, reply.json["code"]) == (400, "InvalidParameter")
    assert reply.json["message"].startswith(
        f"Invalid capacity ({capacity}), capacity must be larger than or equal to 1"
    )
    assert api.call("GET", "/deployments").output["total"] == 0


@pytest.mark.parametrize("suffix", ["ABC", "toolong12", "a-b", "", 7])
def test_suffix_is_at_most_8_lowercase_letters_or_digits(api, suffix) -> None:
    reply = create(api, suffix=suffix)
    assert (reply.status, reply.json["code"]) == (400, "InvalidParameter")
    assert "suffix" in reply.json["message"]


def test_other_fields_are_echoed_and_the_workspace_header_is_used(api) -> None:
    body = {"model_name": "qwen-plus", "capacity": 1, "model_version": "2025-01", "template_id": "t-1"}
    dep = api.call("POST", "/deployments", body, headers={"X-DashScope-WorkSpace": "llm-ws2"}).output
    assert (dep["model_version"], dep["template_id"], dep["workspace_id"]) == ("2025-01", "t-1", "llm-ws2")


def test_scale_a_running_deployment(api, clock) -> None:
    create(api, capacity=2)
    early = api.call("PUT", "/deployments/qwen3-8b/scale", {"deployed_model": "qwen3-8b", "capacity": 4})
    assert (early.status, early.json["code"]) == (400, "UnsupportedOperation")
    clock.advance(4)
    scaled = api.call("PUT", "/deployments/qwen3-8b/scale", {"deployed_model": "qwen3-8b", "capacity": 4}).output
    assert (scaled["status"], scaled["capacity"], scaled["ready_capacity"]) == ("UPDATING", 4, 2)
    clock.advance(2)
    done = api.call("GET", "/deployments/qwen3-8b").output
    assert (done["status"], done["ready_capacity"]) == ("RUNNING", 4)
    wrong = api.call("PUT", "/deployments/qwen3-8b/scale", {"deployed_model": "other", "capacity": 1})
    assert (wrong.status, wrong.json["code"]) == (400, "InvalidParameter")
    bad = api.call("PUT", "/deployments/qwen3-8b/scale", {"capacity": 0})
    assert bad.status == 400 and bad.json["message"].startswith("Invalid capacity (0)")
    missing = api.call("PUT", "/deployments/nope/scale", {"capacity": 1})
    assert (missing.status, missing.json["message"]) == (404, "Not found.")


def test_delete_goes_deleting_then_gone(api, clock) -> None:
    create(api)
    clock.advance(4)
    deleting = api.call("DELETE", "/deployments/qwen3-8b")
    assert (deleting.status, deleting.output["status"]) == (200, "DELETING")
    assert api.call("DELETE", "/deployments/qwen3-8b").output["status"] == "DELETING"  # again: the same
    assert create(api).status == 409  # it still exists while DELETING
    clock.advance(1)
    gone = api.call("GET", "/deployments/qwen3-8b")
    assert gone.status == 404
    assert (gone.json["code"], gone.json["message"]) == ("NotFound", "Not found.")
    assert api.call("DELETE", "/deployments/qwen3-8b").status == 404
    assert api.call("GET", "/deployments").output["total"] == 0
    assert create(api).status == 200  # the name is free again


def test_list_pages_newest_first_with_50_by_default(api, clock) -> None:
    names = []
    for suffix in ("a", "b", "c"):
        names.append(create(api, suffix=suffix).output["deployed_model"])
        clock.advance(1)
    page = api.call("GET", "/deployments").output
    assert (page["page_no"], page["page_size"], page["total"]) == (1, 50, 3)
    assert [d["deployed_model"] for d in page["deployments"]] == names[::-1]
    second = api.call("GET", "/deployments?page_no=2&page_size=2").output
    assert [d["deployed_model"] for d in second["deployments"]] == [names[0]]
    for query in ("page_size=0", "page_size=201", "page_no=0"):
        assert api.call("GET", f"/deployments?{query}").status == 400


def test_a_plan_makes_the_next_deployment_fail(api, emu, clock) -> None:
    emu.state.deployments.plan_next({"outcome": "FAILED", "deploying_seconds": 10})
    failing = create(api, suffix="bad").output["deployed_model"]
    fine = create(api, suffix="ok").output["deployed_model"]
    clock.advance(4)
    assert api.call("GET", f"/deployments/{failing}").output["status"] == "DEPLOYING"
    assert api.call("GET", f"/deployments/{fine}").output["status"] == "RUNNING"
    clock.advance(7)
    assert api.call("GET", f"/deployments/{failing}").output["status"] == "FAILED"
    assert api.call("PUT", f"/deployments/{failing}/scale", {"capacity": 2}).status == 400
    with pytest.raises(ValueError, match="unknown deployment settings"):
        emu.state.deployments.plan_next({"outcom": "FAILED"})


@pytest.mark.parametrize(
    "method, path",
    [("POST", "/deployments"), ("GET", "/deployments"), ("GET", "/deployments/x"), ("DELETE", "/deployments/x"),
     ("PUT", "/deployments/x/scale")],
)  # fmt: skip
def test_deployment_routes_need_the_key(api, method, path) -> None:
    reply = api.call(method, path, {"capacity": 1}, key=None)
    assert (reply.status, reply.json["code"]) == (401, "InvalidApiKey")
