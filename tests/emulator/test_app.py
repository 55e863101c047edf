"""Envelopes, validation, auth, listing and formats of the emulated fine-tunes API."""

from __future__ import annotations

import re
import uuid

import pytest

from airflow_provider_dashscope.emulator.testing import EmulatorThread

JOB_ID_RE = re.compile(r"^ft-\d{12}-[0-9a-f]{4}$")
TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


def assert_success(reply) -> None:
    assert reply.status == 200
    assert reply.headers["Content-Type"].startswith("application/json")
    body = reply.json
    assert set(body) == {"request_id", "output"}
    assert str(uuid.UUID(body["request_id"])) == body["request_id"]
    assert reply.headers["x-request-id"] == body["request_id"]


def assert_error(reply, status: int, code: str, message: str | None = None) -> None:
    assert reply.status == status, reply.raw
    assert reply.headers["Content-Type"].startswith("application/json")
    body = reply.json
    assert set(body) == {"request_id", "code", "message"}
    assert body["code"] == code
    assert reply.headers["x-request-id"] == body["request_id"]
    if message is not None:
        assert body["message"] == message


def test_create_returns_pending_job_with_documented_fields(api) -> None:
    hyper = {"n_epochs": 3, "batch_size": 32, "learning_rate": "1.6e-5", "split": 0.9, "freeze_vit": True}
    reply = api.call(
        "POST",
        "/fine-tunes",
        {"model": "qwen3-14b", "training_file_ids": ["f-1"], "validation_file_ids": None, "hyper_parameters": hyper},
    )
    assert_success(reply)
    job = reply.output
    assert job["status"] == "PENDING"
    assert JOB_ID_RE.match(job["job_id"])
    assert job["job_name"] == job["job_id"]
    assert job["model"] == job["base_model"] == "qwen3-14b"
    assert job["training_file_ids"] == ["f-1"]
    assert job["validation_file_ids"] == []
    assert job["hyper_parameters"] == hyper
    assert isinstance(job["hyper_parameters"]["learning_rate"], str)
    assert isinstance(job["hyper_parameters"]["n_epochs"], int)
    assert job["training_type"] == "sft"
    assert job["group"] == "llm"
    assert job["workspace_id"] == "llm-emulator"
    assert job["user_identity"] == job["creator"] == job["modifier"]
    assert job["user_identity"].isdigit()
    for absent in ("end_time", "usage", "finetuned_output", "code", "message"):
        assert absent not in job


def test_create_accepts_string_file_id_defaults_and_names(api) -> None:
    job = api.create(training_file_ids="single", job_name="my-job", training_type="efficient_sft")
    assert job["training_file_ids"] == ["single"]
    assert job["job_name"] == "my-job"
    assert job["training_type"] == "efficient_sft"
    assert job["hyper_parameters"] == {}


def test_create_with_training_datasets_only(api) -> None:
    ds = [{"data_source_type": "file_id", "file_id": "f-9"}]
    reply = api.call("POST", "/fine-tunes", {"model": "qwen3-8b", "training_datasets": ds})
    assert_success(reply)
    assert reply.output["training_datasets"] == ds
    assert reply.output["training_file_ids"] == []


@pytest.mark.parametrize(
    "body, message",
    [
        ({"training_file_ids": ["f"]}, "Missing model"),
        ({"model": "qwen3-14b"}, "Missing training files"),
        ({"model": "qwen3-14b", "training_file_ids": []}, "Missing training files"),
        ({"model": "qwen3-14b", "training_file_ids": ["f"], "hyper_parameters": [1]}, None),
    ],
)
def test_create_validation_errors(api, body, message) -> None:
    assert_error(api.call("POST", "/fine-tunes", body), 400, "InvalidParameter", message)


def test_create_rejects_non_json_body(api) -> None:
    import urllib.request

    req = urllib.request.Request(
        api.emu.base_url + "/fine-tunes",
        data=b"{not json",
        method="POST",
        headers={"Authorization": f"Bearer {api.emu.api_key}"},
    )
    try:
        urllib.request.urlopen(req, timeout=5)
        raise AssertionError("expected an HTTP error")
    except urllib.error.HTTPError as err:
        assert err.code == 400
        assert b"InvalidParameter" in err.read()


def test_workspace_header_sets_workspace_id(api) -> None:
    reply = api.call(
        "POST", "/fine-tunes", {"model": "m", "training_file_ids": ["f"]}, headers={"X-DashScope-WorkSpace": "llm-ws1"}
    )
    assert reply.output["workspace_id"] == "llm-ws1"


def test_job_id_and_create_time_use_utc_plus_8(api) -> None:
    job = api.create()
    # the fake clock starts at 2024-10-29 08:53:53 UTC
    assert job["create_time"] == "2024-10-29 16:53:53"
    assert job["job_id"].startswith("ft-202410291653-")
    assert TIME_RE.match(job["create_time"])


def test_zone_is_configurable(clock, make_api) -> None:
    with EmulatorThread(clock=clock, tz_offset_hours=0) as emu:
        job = make_api(emu).create()
    assert job["create_time"] == "2024-10-29 08:53:53"
    assert job["job_id"].startswith("ft-202410290853-")


def test_get_and_not_found(api) -> None:
    job = api.create()
    reply = api.call("GET", f"/fine-tunes/{job['job_id']}")
    assert_success(reply)
    assert reply.output["job_id"] == job["job_id"]
    assert_error(api.call("GET", "/fine-tunes/ft-000000000000-dead"), 404, "NotFound", "Not found!")


def test_trailing_slash_is_accepted(api) -> None:
    job = api.create()
    assert api.call("GET", f"/fine-tunes/{job['job_id']}/").status == 200
    assert api.call("GET", "/fine-tunes/").output["total"] == 1


def test_unknown_route_and_wrong_method(api) -> None:
    assert_error(api.call("GET", "/deployments-nope"), 404, "NotFound")
    assert_error(api.call("PUT", "/fine-tunes"), 405, "MethodNotAllowed")


@pytest.mark.parametrize("key", [None, "wrong-key", ""])
def test_auth_required_on_every_route(api, key) -> None:
    job = api.create()
    jid = job["job_id"]
    for method, path in [
        ("POST", "/fine-tunes"),
        ("GET", "/fine-tunes"),
        ("GET", f"/fine-tunes/{jid}"),
        ("DELETE", f"/fine-tunes/{jid}"),
        ("POST", f"/fine-tunes/{jid}/cancel"),
        ("GET", f"/fine-tunes/{jid}/logs"),
    ]:
        body = {"model": "m", "training_file_ids": ["f"]} if method == "POST" else None
        assert_error(api.call(method, path, body, key=key), 401, "InvalidApiKey", "Invalid API-key provided.")
    assert api.status(jid) == "PENDING"  # nothing was canceled or deleted


def test_any_key_accepted_when_none_configured(clock, make_api) -> None:
    with EmulatorThread(clock=clock, api_key=None) as emu:
        api = make_api(emu)
        assert api.call("GET", "/fine-tunes", key="anything").status == 200
        assert api.call("GET", "/fine-tunes", key=None).status == 401


def test_list_paging_order_and_total(api, clock) -> None:
    ids = []
    for i in range(12):
        ids.append(api.create(model="qwen3-14b" if i % 3 else "qwen3-8b")["job_id"])
        clock.advance(61)
    reply = api.call("GET", "/fine-tunes")
    assert_success(reply)
    page = reply.output
    assert (page["page_no"], page["page_size"], page["total"]) == (1, 10, 12)
    assert [j["job_id"] for j in page["jobs"]] == ids[::-1][:10]
    page2 = api.call("GET", "/fine-tunes?page_no=2&page_size=10").output
    assert [j["job_id"] for j in page2["jobs"]] == ids[::-1][10:]
    assert page2["total"] == 12
    empty = api.call("GET", "/fine-tunes?page_no=5&page_size=10").output
    assert empty["jobs"] == [] and empty["total"] == 12
    filtered = api.call("GET", "/fine-tunes?model=qwen3-8b&page_size=100").output
    assert filtered["total"] == 4
    assert {j["model"] for j in filtered["jobs"]} == {"qwen3-8b"}
    assert [j["job_id"] for j in filtered["jobs"]] == [ids[i] for i in (9, 6, 3, 0)]


@pytest.mark.parametrize("query", ["page_size=0", "page_size=101", "page_no=0", "page_size=abc"])
def test_list_rejects_bad_paging(api, query) -> None:
    assert_error(api.call("GET", f"/fine-tunes?{query}"), 400, "InvalidParameter")


def test_list_accepts_page_size_bounds(api) -> None:
    assert api.call("GET", "/fine-tunes?page_size=1").output["page_size"] == 1
    assert api.call("GET", "/fine-tunes?page_size=100").output["page_size"] == 100


def test_cancel_and_delete_envelopes(api, clock) -> None:
    jid = api.create()["job_id"]
    reply = api.call("POST", f"/fine-tunes/{jid}/cancel")
    assert_success(reply)
    assert reply.output == {"status": "success"}
    clock.advance(10)
    reply = api.call("DELETE", f"/fine-tunes/{jid}")
    assert_success(reply)
    assert reply.output == {"status": "success"}
    assert_error(api.call("GET", f"/fine-tunes/{jid}"), 404, "NotFound")
    assert_error(api.call("DELETE", f"/fine-tunes/{jid}"), 404, "NotFound")
    assert_error(api.call("POST", f"/fine-tunes/{jid}/cancel"), 404, "NotFound")
    assert_error(api.call("GET", f"/fine-tunes/{jid}/logs"), 404, "NotFound")
