"""The files API over raw HTTP on 127.0.0.1: multipart uploads as the SDKs send them, limits, list/get/delete."""

from __future__ import annotations

import hashlib
import random
import re

import pytest

from airflow_provider_dashscope.emulator import EmulatorConfig
from airflow_provider_dashscope.emulator.files import limit_failure, new_file_id
from airflow_provider_dashscope.emulator.testing import EmulatorThread

FILE_ID_RE = re.compile(r"^[A-Za-z0-9]{32}[0-9A-F]{32}$")
LINE = b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}\n'


def test_upload_as_the_1x_sdk_sends_it(api) -> None:
    reply = api.upload(("descriptions", None, b"my desc", None), ("files", "train.jsonl", LINE, None))
    assert reply.status == 200
    body = reply.json
    assert set(body) == {"request_id", "data"}
    assert reply.headers["x-request-id"] == body["request_id"]
    (uploaded,) = body["data"]["uploaded_files"]
    assert body["data"]["failed_uploads"] == []
    assert uploaded["name"] == "train.jsonl" and FILE_ID_RE.match(uploaded["file_id"])
    got = api.call("GET", f"/files/{uploaded['file_id']}").json["data"]
    assert got["description"] == "my desc"
    assert got["purpose"] == "fine-tune"  # no purpose part: the fine-tune default
    assert (got["size"], got["md5"]) == (len(LINE), hashlib.md5(LINE).hexdigest())


def test_several_files_pair_with_descriptions_and_purposes_by_position(api) -> None:
    reply = api.upload(
        ("files", "a.jsonl", b"1\n", "application/octet-stream"),
        ("files", "b.jsonl", b"22\n", None),
        ("descriptions", None, b"first", None),
        ("descriptions", None, b"second", None),
        ("purpose", None, b"fine-tune", None),
        ("purpose", None, b"batch", None),
        ("files", "c.txt", b"333\n", "text/plain"),
        ("other", None, b"ignored", None),
    )
    uploaded = reply.json["data"]["uploaded_files"]
    assert [u["name"] for u in uploaded] == ["a.jsonl", "b.jsonl", "c.txt"]
    got = [api.call("GET", f"/files/{u['file_id']}").json["data"] for u in uploaded]
    assert [(g["description"], g["purpose"], g["size"]) for g in got] == [
        ("first", "fine-tune", 2),
        ("second", "batch", 3),
        ("", "fine-tune", 4),
    ]


def test_one_purpose_applies_to_every_file(api) -> None:
    reply = api.upload(("purpose", None, b"file-extract", None), ("files", "a", b"a", None), ("files", "b", b"b", None))
    ids = [u["file_id"] for u in reply.json["data"]["uploaded_files"]]
    assert [api.call("GET", f"/files/{i}").json["data"]["purpose"] for i in ids] == ["file-extract"] * 2


def test_file_object_fields(api, clock) -> None:
    file_id = api.upload_one("my data.jsonl", LINE)
    got = api.call("GET", f"/files/{file_id}").json["data"]
    assert set(got) == {
        "id", "file_id", "name", "description", "size", "md5", "gmt_create", "url", "region", "user_id", "purpose",
    }  # fmt: skip
    assert got["id"] == 1 and isinstance(got["id"], int)
    assert got["gmt_create"] == "2024-10-29 16:53:53"  # the fake clock, in UTC+8
    assert got["url"].startswith("https://") and got["url"].endswith("/my%20data.jsonl")
    assert api.emu.api_key not in str(got)


def test_a_large_upload_is_streamed_and_measured(api) -> None:
    content = random.Random(3).randbytes(3 * 1024 * 1024 + 17)
    file_id = api.upload_one("big.bin", content)
    got = api.call("GET", f"/files/{file_id}").json["data"]
    assert (got["size"], got["md5"]) == (len(content), hashlib.md5(content).hexdigest())


def test_list_pages_newest_first(api) -> None:
    ids = [api.upload_one(f"f{i}.jsonl") for i in range(5)]
    page = api.call("GET", "/files?page_no=1&page_size=2").json["data"]
    assert (page["page_no"], page["page_size"], page["total"]) == (1, 2, 5)
    assert [f["file_id"] for f in page["files"]] == ids[::-1][:2]
    last = api.call("GET", "/files?page_no=3&page_size=2").json["data"]
    assert [f["file_id"] for f in last["files"]] == [ids[0]]
    default = api.call("GET", "/files").json["data"]
    assert (default["page_no"], default["page_size"], len(default["files"])) == (1, 10, 5)


@pytest.mark.parametrize("query", ["page_size=0", "page_size=101", "page_no=0", "page_no=x"])
def test_list_rejects_bad_paging(api, query) -> None:
    reply = api.call("GET", f"/files?{query}")
    assert (reply.status, reply.json["code"]) == (400, "InvalidParameter")


def test_delete_answers_the_request_id_only_and_unknown_ids_are_400(api) -> None:
    file_id = api.upload_one()
    reply = api.call("DELETE", f"/files/{file_id}")
    assert reply.status == 200
    assert reply.json == {"request_id": reply.headers["x-request-id"]}
    for method in ("GET", "DELETE"):
        gone = api.call(method, f"/files/{file_id}")
        assert gone.status == 400
        assert (gone.json["code"], gone.json["message"]) == ("InvalidParameter", "File not found.")
    assert api.call("GET", "/files").json["data"]["total"] == 0


def test_limits_fail_files_one_by_one(clock, make_api) -> None:
    with EmulatorThread(clock=clock, max_files=2, max_file_bytes=10, max_storage_bytes=15) as emu:
        api = make_api(emu)
        reply = api.upload(
            ("files", "a", b"x" * 8, None),
            ("files", "b", b"x" * 11, None),
            ("files", "c", b"x" * 8, None),
            ("files", "d", b"x" * 5, None),
        )
        data = reply.json["data"]
        assert reply.status == 200
        assert [u["name"] for u in data["uploaded_files"]] == ["a", "d"]
        assert data["failed_uploads"] == [
            {"name": "b", "code": "BadRequest.TooLarge", "message": "File too large, <11> B is over the <10> B limit."},
            {
                "name": "c",
                "code": "BadRequest.TooLarge",
                "message": "Out of space, <8> B of <15> B storage space has been used.",
            },
        ]
        full = api.upload(("files", "e", b"x", None))
        assert full.status == 200
        assert full.json["data"] == {
            "uploaded_files": [],
            "failed_uploads": [
                {
                    "name": "e",
                    "code": "BadRequest.TooMany",
                    "message": "Out of number, <2> of <2> files has been uploaded.",
                }
            ],
        }
        api.call("DELETE", f"/files/{data['uploaded_files'][0]['file_id']}")
        assert api.upload(("files", "e", b"x", None)).json["data"]["failed_uploads"] == []  # deleted files free room


def test_the_default_limits_are_the_documented_ones() -> None:
    config = EmulatorConfig()
    assert (config.max_file_bytes, config.max_storage_bytes, config.max_files) == (300 << 20, 100 << 30, 10_000)
    assert limit_failure(config, 9_999, 0, 300 << 20) is None
    assert limit_failure(config, 10_000, 0, 1)[0] == "BadRequest.TooMany"
    assert limit_failure(config, 0, 0, (300 << 20) + 1)[0] == "BadRequest.TooLarge"
    assert limit_failure(config, 1, (100 << 30) - 5, 6)[1].startswith("Out of space")


def test_file_ids_have_the_documented_shape_and_follow_the_seed() -> None:
    ids = [new_file_id(random.Random(1)) for _ in range(2)]
    assert ids[0] == ids[1] and FILE_ID_RE.match(ids[0])


@pytest.mark.parametrize(
    "content_type, body",
    [
        ("application/json", b'{"files": []}'),
        ("multipart/form-data", b"--x--\r\n"),  # no boundary
        (
            "multipart/form-data; boundary=b",
            b'--b\r\nContent-Disposition: form-data; name="descriptions"\r\n\r\nd\r\n--b--\r\n',
        ),
    ],
)
def test_an_upload_without_files_is_400(api, content_type, body) -> None:
    reply = api.call("POST", "/files", raw=body, headers={"Content-Type": content_type})
    assert (reply.status, reply.json["code"]) == (400, "InvalidParameter")
    assert api.call("GET", "/files").json["data"]["total"] == 0


@pytest.mark.parametrize(
    "method, path", [("POST", "/files"), ("GET", "/files"), ("GET", "/files/x"), ("DELETE", "/files/x")]
)
def test_file_routes_need_the_key(api, method, path) -> None:
    reply = api.call(method, path, key="sk-wrong")
    assert (reply.status, reply.json["code"]) == (401, "InvalidApiKey")


def test_wrong_method_on_a_file_route(api) -> None:
    reply = api.call("PUT", "/files/x")
    assert (reply.status, reply.json["code"]) == (405, "MethodNotAllowed")


# ------------------------------------------------------------------------------------------ strict file ids
def test_strict_file_ids_refuse_jobs_on_files_never_uploaded(clock, make_api) -> None:
    with EmulatorThread(clock=clock, strict_file_ids=True) as emu:
        api = make_api(emu)
        reply = api.call("POST", "/fine-tunes", {"model": "qwen3-14b", "training_file_ids": ["file-nope"]})
        assert reply.status == 400
        assert (reply.json["code"], reply.json["message"]) == (
            "InvalidParameter",
            "Invalid training_file_ids: file file-nope not found.",
        )
        train = api.upload_one()
        assert api.call("POST", "/fine-tunes", {"model": "m", "training_file_ids": [train]}).status == 200
        body = {"model": "m", "training_file_ids": [train], "validation_file_ids": ["file-val"]}
        reply = api.call("POST", "/fine-tunes", body)
        assert reply.json["message"] == "Invalid validation_file_ids: file file-val not found."
        datasets = {"model": "m", "training_datasets": [{"data_source_type": "file_id", "file_id": "file-ds"}]}
        assert api.call("POST", "/fine-tunes", datasets).json["message"] == (
            "Invalid training_datasets: file file-ds not found."
        )
        api.call("DELETE", f"/files/{train}")
        assert api.call("POST", "/fine-tunes", {"model": "m", "training_file_ids": [train]}).status == 400
        assert api.call("GET", "/fine-tunes").output["total"] == 1


def test_file_ids_are_not_checked_by_default(api) -> None:
    assert api.call("POST", "/fine-tunes", {"model": "m", "training_file_ids": ["file-never-uploaded"]}).status == 200
