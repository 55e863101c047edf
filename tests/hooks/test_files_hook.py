"""DashScopeHook's files methods against scripted servers on 127.0.0.1: the upload on the wire, its checks before
any byte, its retries, failed uploads, "File not found." and paging."""

from __future__ import annotations

import hashlib
import json
import threading
import tracemalloc
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from airflow_provider_dashscope.exceptions import (
    DashScopeTransportError,
    FileUploadError,
    InvalidParameterError,
    NotFoundError,
    ServiceUnavailableError,
    ThrottlingError,
    TrainingFileError,
)
from airflow_provider_dashscope.hooks.dashscope import DashScopeHook
from tests._servers import Reply, closed_port, error

FILE_ID = "9G2EaQtq7p1fw7oRhYXdHTtDFYAMVQSh95432B38CAB211EDB8F952C2E8001733"
RECORD = '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}\n'


def uploaded(name: str = "train.jsonl", file_id: str = FILE_ID, request_id: str = "req-up") -> Reply:
    return Reply(200, {"request_id": request_id, "data": {"uploaded_files": [{"file_id": file_id, "name": name}],
                                                          "failed_uploads": []}})  # fmt: skip


def data(payload, request_id: str = "req-data") -> Reply:
    return Reply(200, {"request_id": request_id, "data": payload})


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_hook(scripted_server, dashscope_conn, sleeps):
    def make(*, host: str | None = None, **extra) -> DashScopeHook:
        extra.setdefault("max_retries", 2)
        extra.setdefault("retry_base_delay", 0.01)
        dashscope_conn("dashscope_files", host=host or scripted_server.url, **extra)
        hook = DashScopeHook("dashscope_files")
        hook._sleep = sleeps.append
        return hook

    return make


@pytest.fixture
def train_file(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text(RECORD * 3)
    return path


# ----------------------------------------------------------------------------------------------------------------
# Upload
# ----------------------------------------------------------------------------------------------------------------
def test_upload_sends_one_multipart_request_and_returns_the_file(scripted_server, make_hook, train_file, canary_key):
    scripted_server.script("POST", "/files", uploaded())

    result = make_hook().upload_file(train_file, description="SFT data v1")

    (sent,) = scripted_server.requests
    assert (sent.method, sent.path) == ("POST", "/api/v1/files")
    assert sent.header("Authorization") == f"Bearer {canary_key}"
    assert sent.header("Content-Type").startswith("multipart/form-data; boundary=")
    assert int(sent.header("Content-Length")) == len(sent.body)
    assert sent.header("Transfer-Encoding") is None  # a known length, not chunked
    assert b'name="descriptions"\r\n\r\nSFT data v1\r\n' in sent.body
    assert b'name="files"; filename="train.jsonl"\r\n\r\n' + (RECORD * 3).encode() + b"\r\n" in sent.body
    content = (RECORD * 3).encode()
    assert (result.file_id, result.name, result.request_id) == (FILE_ID, "train.jsonl", "req-up")
    assert (result.size, result.md5) == (len(content), hashlib.md5(content).hexdigest())
    assert (result.description, result.purpose) == ("SFT data v1", "fine-tune")


def test_a_bad_training_file_fails_before_any_byte_is_sent(scripted_server, make_hook, tmp_path):
    bad = tmp_path / "train.jsonl"
    bad.write_text(RECORD + '{"messages": [{"role": "user", "content": "hi"}\n')
    hook = make_hook()
    with pytest.raises(TrainingFileError, match=r"training file .*train\.jsonl, line 2: is not valid JSON"):
        hook.upload_file(bad)
    with pytest.raises(TrainingFileError, match=r"does not exist"):
        hook.upload_file(tmp_path / "missing.jsonl")
    assert scripted_server.count() == 0


def test_a_file_the_api_lists_in_failed_uploads_is_an_error_with_its_code_and_message(
    scripted_server, make_hook, train_file, sleeps
):
    scripted_server.script(
        "POST",
        "/files",
        data({"uploaded_files": [], "failed_uploads": [{"name": "train.jsonl", "code": "BadRequest.TooMany",
              "message": "Out of number, <10> of <10> files has been uploaded."}]}, "req-full"),
    )  # fmt: skip
    with pytest.raises(FileUploadError) as info:
        make_hook().upload_file(train_file)
    assert str(info.value) == (
        "Upload of train.jsonl was refused: BadRequest.TooMany: Out of number, <10> of <10> files has been "
        "uploaded. (request_id=req-full)"
    )
    assert scripted_server.count() == 1 and sleeps == []


def test_an_upload_is_not_retried_when_the_api_may_have_received_it(scripted_server, make_hook, train_file, sleeps):
    scripted_server.script("POST", "/files", error(503, "ServiceUnavailable", "busy"))
    with pytest.raises(ServiceUnavailableError):
        make_hook().upload_file(train_file)
    assert scripted_server.count() == 1 and sleeps == []


def test_an_upload_is_retried_on_429_sending_the_whole_file_again(scripted_server, make_hook, train_file, sleeps):
    scripted_server.script("POST", "/files", error(429, "Throttling", "slow down"), uploaded())
    result = make_hook().upload_file(train_file)
    first, second = scripted_server.requests
    assert result.file_id == FILE_ID and len(sleeps) == 1
    boundary = lambda r: r.header("Content-Type").split("boundary=")[1]  # noqa: E731
    assert first.body.replace(boundary(first).encode(), b"B") == second.body.replace(boundary(second).encode(), b"B")
    assert (RECORD * 3).encode() in second.body


def test_an_upload_is_retried_when_the_connection_is_refused(make_hook, train_file, sleeps):
    hook = make_hook(host=f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(DashScopeTransportError) as info:
        hook.upload_file(train_file)
    assert info.value.connect_failed and len(sleeps) == 2
    assert "(file_name=train.jsonl)" in str(info.value)


def test_an_upload_with_too_many_throttles_gives_up_after_the_budget(scripted_server, make_hook, train_file, sleeps):
    scripted_server.script("POST", "/files", error(429, "Throttling", "slow down", request_id="req-429"))
    with pytest.raises(ThrottlingError, match=r"request_id=req-429"):
        make_hook().upload_file(train_file)
    assert scripted_server.count() == 3


class _Discarding(BaseHTTPRequestHandler):
    """Reads an upload in 64 KiB chunks, keeps only its size and MD5, answers like the API."""

    protocol_version = "HTTP/1.1"
    received: list[tuple[int, str]] = []

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        left = int(self.headers["Content-Length"])
        md5 = hashlib.md5()
        while left:
            chunk = self.rfile.read(min(65536, left))
            md5.update(chunk)
            left -= len(chunk)
        self.received.append((int(self.headers["Content-Length"]), md5.hexdigest()))
        body = json.dumps({"request_id": "r", "data": {"uploaded_files": [{"file_id": "F", "name": "big.jsonl"}]}})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())


def test_an_upload_streams_the_file_from_disk_instead_of_reading_it_whole(make_hook, tmp_path):
    path = tmp_path / "big.jsonl"
    with open(path, "wb") as out:
        for _ in range(100):
            out.write(RECORD.encode() * 2000)  # about 17 MB
    size = path.stat().st_size
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Discarding)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        hook = make_hook(host=f"http://127.0.0.1:{server.server_address[1]}")
        tracemalloc.start()
        try:
            result = hook.upload_file(path)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    (length, _md5) = _Discarding.received[-1]
    assert result.size == size and length > size
    assert peak < size / 4, f"peak {peak} bytes while uploading a {size}-byte file"


# ----------------------------------------------------------------------------------------------------------------
# Get, list, delete
# ----------------------------------------------------------------------------------------------------------------
FILE_OBJECT = {"file_id": FILE_ID, "name": "train.jsonl", "description": "d", "size": 10, "md5": "abc",
               "gmt_create": "2026-11-25 10:00:00", "purpose": "fine-tune"}  # fmt: skip


def test_get_file_reads_the_data_envelope_and_sends_no_content_type(scripted_server, make_hook):
    scripted_server.script("GET", f"/files/{FILE_ID}", data(FILE_OBJECT, "req-get"))
    item = make_hook().get_file(FILE_ID)
    assert (item.file_id, item.size, item.request_id) == (FILE_ID, 10, "req-get")
    assert scripted_server.requests[0].header("Content-Type") is None


def test_an_unknown_file_is_not_found_although_the_api_answers_400(scripted_server, make_hook, sleeps):
    scripted_server.script("GET", "/files/nope", error(400, "InvalidParameter", "File not found.", request_id="req-nf"))
    scripted_server.script(
        "DELETE", "/files/nope", error(400, "InvalidParameter", "File not found.", request_id="req-nf2")
    )
    hook = make_hook()
    with pytest.raises(NotFoundError) as info:
        hook.get_file("nope")
    assert (info.value.status_code, info.value.request_id) == (400, "req-nf")
    assert str(info.value) == "HTTP 400 InvalidParameter: File not found. (file_id=nope) (request_id=req-nf)"
    with pytest.raises(NotFoundError):
        hook.delete_file("nope")
    assert scripted_server.count() == 2 and sleeps == []  # never retried


def test_other_bad_requests_stay_invalid_parameter(scripted_server, make_hook):
    scripted_server.script("GET", "/files/x", error(400, "InvalidParameter", "Bad id format"))
    with pytest.raises(InvalidParameterError) as info:
        make_hook().get_file("x")
    assert not isinstance(info.value, NotFoundError)


def test_delete_file_answers_with_the_request_id(scripted_server, make_hook):
    scripted_server.script("DELETE", f"/files/{FILE_ID}", Reply(200, {"request_id": "req-del"}))
    assert make_hook().delete_file(FILE_ID) == "req-del"
    assert scripted_server.requests[0].method == "DELETE"


def test_list_and_iter_files_walk_every_page_once(scripted_server, make_hook):
    items = [{**FILE_OBJECT, "file_id": f"F{i}"} for i in range(5)]
    scripted_server.script("GET", "/files", data({"total": 5, "page_no": 1, "page_size": 2, "files": items[:2]}),
                           data({"total": 5, "page_no": 2, "page_size": 2, "files": items[1:3]}),
                           data({"total": 5, "page_no": 3, "page_size": 2, "files": items[3:]}))  # fmt: skip
    hook = make_hook()
    found = [item.file_id for item in hook.iter_files(page_size=2)]
    assert found == ["F0", "F1", "F2", "F3", "F4"]
    assert [r.query["page_no"] for r in scripted_server.requests] == [["1"], ["2"], ["3"]]
    assert all(r.query["page_size"] == ["2"] for r in scripted_server.requests)
