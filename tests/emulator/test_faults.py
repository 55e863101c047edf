"""Fault injection (Python helpers, admin HTTP API, CLI spec parsing) and request statistics."""

from __future__ import annotations

import http.client
import json
import time
import urllib.request

import pytest

from airflow_provider_dashscope.emulator import Fault, parse_fault_spec

GET_JOB = "GET /fine-tunes/{job_id}"


def raw_get(emu, path: str, timeout: float = 5.0):
    """GET over http.client so that broken responses surface as exceptions, not parsed errors."""
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=timeout)
    try:
        conn.request("GET", "/api/v1" + path, headers={"Authorization": f"Bearer {emu.api_key}"})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


@pytest.fixture
def job_id(api) -> str:
    return api.create()["job_id"]


@pytest.mark.parametrize(
    "status, code",
    [
        (429, "Throttling"),
        (500, "InternalError"),
        (502, "BadGateway"),
        (503, "ServiceUnavailable"),
        (504, "GatewayTimeout"),
    ],
)
def test_status_fault_uses_json_envelope(api, emu, job_id, status, code) -> None:
    emu.add_fault(route=GET_JOB, status=status)
    reply = api.call("GET", f"/fine-tunes/{job_id}")
    assert reply.status == status
    assert reply.headers["Content-Type"].startswith("application/json")
    assert reply.json["code"] == code
    assert reply.headers["x-request-id"] == reply.json["request_id"]
    assert "Retry-After" not in reply.headers
    assert api.call("GET", f"/fine-tunes/{job_id}").status == 200  # times=1 by default


def test_status_fault_custom_code_and_retry_after(api, emu, job_id) -> None:
    emu.add_fault(route=GET_JOB, status=429, code="Throttling.RateQuota", message="slow down", retry_after=2)
    emu.add_fault(route=GET_JOB, status=503, retry_after="Wed, 21 Oct 2015 07:28:00 GMT")
    first = api.call("GET", f"/fine-tunes/{job_id}")
    assert (first.status, first.json["code"], first.json["message"]) == (429, "Throttling.RateQuota", "slow down")
    assert first.headers["Retry-After"] == "2"
    second = api.call("GET", f"/fine-tunes/{job_id}")
    assert second.status == 503
    assert second.headers["Retry-After"] == "Wed, 21 Oct 2015 07:28:00 GMT"


def test_times_counting_and_forever(api, emu, job_id) -> None:
    emu.add_fault(route=GET_JOB, status=500, times=3)
    assert [api.call("GET", f"/fine-tunes/{job_id}").status for _ in range(4)] == [500, 500, 500, 200]
    emu.add_fault(route="*", status=503, times=-1)
    assert [api.call("GET", "/fine-tunes").status for _ in range(5)] == [503] * 5
    assert len(emu.faults()) == 1
    emu.clear_faults()
    assert api.call("GET", "/fine-tunes").status == 200


def test_faults_consumed_in_order_and_match_method_route_job(api, emu, job_id) -> None:
    other = api.create()["job_id"]
    emu.add_fault(route=GET_JOB, job_id=other, status=404)
    emu.add_fault(method="POST", route="/fine-tunes/{job_id}/cancel", status=500)
    emu.add_fault(route=GET_JOB, status=502)
    emu.add_fault(route=GET_JOB, status=503)
    assert api.call("GET", "/fine-tunes").status == 200  # list route does not match
    assert api.call("GET", f"/fine-tunes/{job_id}").status == 502  # first match for this job
    assert api.call("GET", f"/fine-tunes/{other}").status == 404  # job-specific fault
    assert api.call("GET", f"/fine-tunes/{other}").status == 503
    assert api.call("POST", f"/fine-tunes/{job_id}/cancel").status == 500
    assert api.status(job_id) == "PENDING"  # the faulted cancel did nothing
    assert emu.faults() == []


def test_html_fault(emu, job_id) -> None:
    emu.add_fault(kind="html", route=GET_JOB)
    status, headers, body = raw_get(emu, f"/fine-tunes/{job_id}")
    assert status == 502
    assert headers["Content-Type"].startswith("text/html")
    assert b"502 Bad Gateway" in body
    with pytest.raises(ValueError):
        json.loads(body)


@pytest.mark.parametrize("kind", ["malformed_json", "truncated_json"])
def test_broken_json_faults(emu, job_id, kind) -> None:
    emu.add_fault(kind=kind, route=GET_JOB)
    status, headers, body = raw_get(emu, f"/fine-tunes/{job_id}")
    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    assert body
    with pytest.raises(ValueError):
        json.loads(body)
    if kind == "truncated_json":
        assert body.startswith(b'{"request_id":')
        assert job_id.encode() in body or len(body) < 200


def test_empty_body_and_missing_output(emu, job_id) -> None:
    emu.add_fault(kind="empty_body", route=GET_JOB)
    emu.add_fault(kind="missing_output", route=GET_JOB)
    status, _, body = raw_get(emu, f"/fine-tunes/{job_id}")
    assert (status, body) == (200, b"")
    status, headers, body = raw_get(emu, f"/fine-tunes/{job_id}")
    assert status == 200
    assert json.loads(body) == {"request_id": headers["x-request-id"]}


def test_missing_and_unknown_status(emu, job_id, api) -> None:
    emu.add_fault(kind="missing_status", route=GET_JOB)
    emu.add_fault(kind="unknown_status", route=GET_JOB)
    emu.add_fault(kind="unknown_status", route=GET_JOB, job_status="SUSPENDED")
    emu.add_fault(kind="unknown_status", route="GET /fine-tunes")
    out = json.loads(raw_get(emu, f"/fine-tunes/{job_id}")[2])["output"]
    assert "status" not in out and out["job_id"] == job_id
    assert json.loads(raw_get(emu, f"/fine-tunes/{job_id}")[2])["output"]["status"] == "PAUSED"
    assert json.loads(raw_get(emu, f"/fine-tunes/{job_id}")[2])["output"]["status"] == "SUSPENDED"
    listed = json.loads(raw_get(emu, "/fine-tunes")[2])["output"]
    assert {j["status"] for j in listed["jobs"]} == {"PAUSED"}
    assert api.status(job_id) == "PENDING"


def test_slow_fault_delays_then_answers(emu, job_id, api) -> None:
    emu.add_fault(kind="slow", route=GET_JOB, delay=0.4)
    start = time.monotonic()
    reply = api.call("GET", f"/fine-tunes/{job_id}")
    elapsed = time.monotonic() - start
    assert reply.status == 200 and reply.output["job_id"] == job_id
    assert elapsed >= 0.35
    start = time.monotonic()
    api.call("GET", f"/fine-tunes/{job_id}")
    assert time.monotonic() - start < 0.3


def test_slow_fault_can_exceed_client_timeout(emu, job_id, api) -> None:
    emu.add_fault(kind="slow", route=GET_JOB, delay=1.0)
    with pytest.raises((TimeoutError, OSError)):
        api.call("GET", f"/fine-tunes/{job_id}", timeout=0.2)


def test_drop_closes_connection_without_response(emu, job_id) -> None:
    emu.add_fault(kind="drop", route=GET_JOB)
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        raw_get(emu, f"/fine-tunes/{job_id}")
    assert raw_get(emu, f"/fine-tunes/{job_id}")[0] == 200


def test_drop_partial_resets_mid_response(emu, job_id) -> None:
    emu.add_fault(kind="drop", route=GET_JOB, partial=True)
    with pytest.raises((http.client.IncompleteRead, http.client.RemoteDisconnected, ConnectionError)):
        raw_get(emu, f"/fine-tunes/{job_id}")


def test_drop_after_handler_still_creates_job(emu, api) -> None:
    emu.add_fault(kind="drop", route="POST /fine-tunes", after=True)
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError, urllib.error.URLError)):
        api.call("POST", "/fine-tunes", {"model": "m", "training_file_ids": ["f"]})
    assert api.call("GET", "/fine-tunes").output["total"] == 1


def test_status_fault_before_handler_has_no_side_effect(emu, api) -> None:
    emu.add_fault(route="POST /fine-tunes", status=500)
    assert api.call("POST", "/fine-tunes", {"model": "m", "training_file_ids": ["f"]}).status == 500
    assert api.call("GET", "/fine-tunes").output["total"] == 0


def test_request_stats(api, emu, job_id) -> None:
    for _ in range(3):
        api.call("GET", f"/fine-tunes/{job_id}")
    api.call("GET", f"/fine-tunes/{job_id}/")
    api.call("GET", "/fine-tunes/ft-x/logs")
    api.call("GET", "/fine-tunes")
    assert emu.request_count(route=GET_JOB) == 4
    assert emu.request_count("GET", "/fine-tunes/{job_id}", job_id=job_id) == 4
    assert emu.request_count(job_id="ft-x") == 1
    assert emu.request_count(method="POST") == 1
    assert emu.request_count() == 7
    stats = emu.stats()
    assert stats["total"] == 7
    assert stats["by_route"] == {
        "POST /fine-tunes": 1,
        "GET /fine-tunes/{job_id}": 4,
        "GET /fine-tunes/{job_id}/logs": 1,
        "GET /fine-tunes": 1,
    }
    assert stats["by_job"] == {job_id: 4, "ft-x": 1}
    emu.reset()
    assert emu.stats()["total"] == 0
    assert api.call("GET", "/fine-tunes").output["total"] == 0


def admin(emu, method: str, name: str, body=None):
    req = urllib.request.Request(
        f"{emu.admin_url}/{name}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        with err:
            return err.code, json.loads(err.read())


def test_admin_http_api(api, emu) -> None:
    status, body = admin(
        emu, "POST", "jobs", {"jobs": [{"job_id": "ft-202401010000-abcd", "model": "m", "status": "RUNNING"}]}
    )
    assert (status, body) == (200, {"job_ids": ["ft-202401010000-abcd"]})
    assert api.status("ft-202401010000-abcd") == "RUNNING"
    status, body = admin(
        emu,
        "POST",
        "faults",
        [
            {"route": GET_JOB, "status": 429, "times": 2},
            "GET /fine-tunes:kind=html:status=504",
        ],
    )
    assert status == 200 and len(body["faults"]) == 2
    assert api.call("GET", "/fine-tunes/ft-202401010000-abcd").status == 429
    assert admin(emu, "GET", "faults")[1]["faults"][0]["times"] == 1
    assert admin(emu, "DELETE", "faults") == (200, {"faults": []})
    assert api.call("GET", "/fine-tunes/ft-202401010000-abcd").status == 200
    status, stats = admin(emu, "GET", "stats")
    assert stats["by_route"]["GET /fine-tunes/{job_id}"] == 3
    assert stats["by_job"]["ft-202401010000-abcd"] == 3
    assert admin(emu, "POST", "faults", {"kind": "nope"})[0] == 400
    assert admin(emu, "POST", "jobs", [{"model": "m", "bogus": 1}])[0] == 400
    assert admin(emu, "POST", "reset") == (200, {"status": "ok"})
    assert api.call("GET", "/fine-tunes").output["total"] == 0
    assert admin(emu, "GET", "stats")[1]["total"] == 1


def test_parse_fault_spec() -> None:
    f = parse_fault_spec("GET /fine-tunes/{job_id}:status=429:times=3:retry_after=1")
    assert (f.kind, f.method, f.route, f.status, f.times, f.retry_after) == (
        "status",
        "GET",
        "/fine-tunes/{job_id}",
        429,
        3,
        "1",
    )
    f = parse_fault_spec("*:kind=slow:delay=0.5:times=-1")
    assert (f.kind, f.method, f.route, f.delay, f.times) == ("slow", "*", "*", 0.5, -1)
    f = parse_fault_spec("POST /api/v1/fine-tunes/:kind=html:status=502:retry_after=Wed, 21 Oct 2015 07:28:00 GMT")
    assert (f.method, f.route, f.kind, f.retry_after) == (
        "POST",
        "/fine-tunes",
        "html",
        "Wed, 21 Oct 2015 07:28:00 GMT",
    )
    f = parse_fault_spec('{"kind": "drop", "route": "GET /fine-tunes/{id}", "job_id": "ft-1"}')
    assert (f.kind, f.route, f.job_id) == ("drop", "/fine-tunes/{job_id}", "ft-1")
    for bad in ("GET /x:kind=nope", "GET /x:times=0", "GET /x:bogus=1", "GET /x:status=99"):
        with pytest.raises(ValueError):
            parse_fault_spec(bad)
    assert Fault(kind="slow").delay == 1.0


# ------------------------------------------------------------------------------- files and deployments routes
def test_faults_on_file_and_deployment_routes_match_their_ids(api, emu) -> None:
    file_id = api.upload_one()
    other = api.upload_one()
    emu.add_fault(route="GET /files/{id}", file_id=file_id, status=503)
    emu.add_fault("PUT /deployments/{deployed_model}/scale:status=429:deployed_model=qwen3-8b")
    emu.add_fault(route="GET /deployments", kind="unknown_status", job_status="ARREARS_DOWN")
    assert api.call("GET", f"/files/{other}").status == 200
    assert api.call("GET", f"/files/{file_id}").status == 503
    assert api.call("GET", f"/files/{file_id}").status == 200
    api.call("POST", "/deployments", {"model_name": "qwen3-8b", "capacity": 1})
    assert api.call("PUT", "/deployments/qwen3-8b/scale", {"capacity": 2}).status == 429
    listed = api.call("GET", "/deployments").output["deployments"]
    assert [d["status"] for d in listed] == ["ARREARS_DOWN"]
    assert emu.faults() == []


def test_a_fault_before_an_upload_stores_nothing(api, emu) -> None:
    emu.add_fault(route="POST /files", status=500)
    assert api.upload(("files", "a.jsonl", b"{}\n", None)).status == 500
    assert api.call("GET", "/files").json["data"]["total"] == 0
    emu.add_fault(route="POST /files", kind="missing_output")
    assert api.upload(("files", "a.jsonl", b"{}\n", None)).json.keys() == {"request_id"}


def test_fault_id_aliases_are_one_filter() -> None:
    assert Fault.from_dict({"route": "GET /files/{file_id}", "file_id": "f"}).job_id == "f"
    assert parse_fault_spec("GET /deployments/{id}:deployed_model=d").job_id == "d"
    assert parse_fault_spec("GET /deployments/{id}").route == "/deployments/{deployed_model}"
    with pytest.raises(ValueError, match="not several"):
        Fault.from_dict({"job_id": "a", "file_id": "b"})


def test_stats_count_file_and_deployment_requests(api, emu) -> None:
    file_id = api.upload_one()
    api.call("GET", f"/files/{file_id}")
    api.call("DELETE", f"/files/{file_id}")
    api.call("GET", "/deployments/qwen3-8b")
    stats = emu.stats()
    assert stats["by_route"] == {
        "POST /files": 1,
        "GET /files/{file_id}": 1,
        "DELETE /files/{file_id}": 1,
        "GET /deployments/{deployed_model}": 1,
    }
    assert stats["by_file"] == {file_id: 2}
    assert stats["by_deployment"] == {"qwen3-8b": 1}
    assert stats["by_job"] == {}
    assert emu.request_count(route="/files/{id}", job_id=file_id) == 2


def test_admin_seeds_files_and_deployments_and_plans_deployments(api, emu, clock) -> None:
    status, body = admin(
        emu, "POST", "files", {"files": [{"file_id": "file-seeded", "name": "t.jsonl", "content": "x\n"}]}
    )
    assert (status, body) == (200, {"file_ids": ["file-seeded"]})
    got = api.call("GET", "/files/file-seeded").json["data"]
    assert (got["name"], got["size"], got["md5"]) == ("t.jsonl", 2, "401b30e3b8b5d629635a5c613cdb7919")
    assert admin(emu, "GET", "files") == (200, {"files": {"file-seeded": "t.jsonl"}})
    status, body = admin(emu, "POST", "deployments", [{"model_name": "my-model", "suffix": "x1", "status": "RUNNING"}])
    assert (status, body) == (200, {"deployed_models": ["my-model-x1"]})
    assert api.call("GET", "/deployments/my-model-x1").output["status"] == "RUNNING"
    assert admin(emu, "POST", "deployment-plans", {"outcome": "FAILED"}) == (200, {"status": "ok"})
    name = api.call("POST", "/deployments", {"model_name": "qwen-turbo", "capacity": 1}).output["deployed_model"]
    clock.advance(10)
    assert admin(emu, "GET", "deployments")[1] == {"deployments": {"my-model-x1": "RUNNING", name: "FAILED"}}
    assert admin(emu, "POST", "files", [{"name": ""}])[0] == 400
    assert admin(emu, "POST", "deployments", [{"model_name": "m", "bogus": 1}])[0] == 400
    assert admin(emu, "POST", "deployment-plans", {"outcome": "SUCCEEDED"})[0] == 400
    assert admin(emu, "POST", "plans", {"outcome": "PAUSED"})[0] == 400
    assert admin(emu, "POST", "plans", {"pin": True})[0] == 400
    assert admin(emu, "POST", "reset") == (200, {"status": "ok"})
    assert admin(emu, "GET", "files")[1] == {"files": {}} and admin(emu, "GET", "deployments")[1] == {"deployments": {}}
