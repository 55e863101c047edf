"""The files resource: ids, request builders, the ``data`` envelope, failed uploads and "File not found." (no I/O)."""

from __future__ import annotations

import json

import pytest

from airflow_provider_dashscope import _config
from airflow_provider_dashscope._checks.training_file import LocalFile
from airflow_provider_dashscope._http import api_request, api_response, retry
from airflow_provider_dashscope.exceptions import (
    DashScopeConfigError,
    FileUploadError,
    InvalidParameterError,
    InvalidResponseError,
    NotFoundError,
)
from airflow_provider_dashscope.resources import files

CONFIG = _config.build_config(api_key="sk-x", source="connection 'ds'", key_field="its password field")
FILE_ID = files.EXAMPLE_FILE_ID


def answer(request: api_request.ApiRequest, status: int, body: dict) -> tuple:
    return api_response.parse_response(status, {}, json.dumps(body).encode(), request)


def test_file_requests_use_the_data_envelope_and_name_the_file():
    get = files.get_file_request(FILE_ID)
    assert (get.method, get.path, get.envelope, get.about) == (
        "GET",
        f"/files/{FILE_ID}",
        "data",
        f" (file_id={FILE_ID})",
    )
    delete = files.delete_file_request(FILE_ID)
    assert (delete.method, delete.path, delete.idempotent) == ("DELETE", f"/files/{FILE_ID}", True)
    listing = files.list_files_request(2, 100)
    assert (listing.path, dict(listing.params), listing.envelope) == (
        "/files",
        {"page_no": 2, "page_size": 100},
        "data",
    )


@pytest.mark.parametrize("bad", ["", None, "../fine-tunes", "a b", "x" * 300, 7])
def test_a_bad_file_id_is_refused_before_any_request(bad):
    with pytest.raises(DashScopeConfigError, match=r"file_id|file id") as info:
        files.get_file_request(bad)
    assert "pass the file_id an upload returned" in str(info.value)


@pytest.mark.parametrize(("page_no", "page_size"), [(0, 10), (1, 0), (1, 101), (1, True)])
def test_list_arguments_are_checked(page_no, page_size):
    with pytest.raises(DashScopeConfigError):
        files.list_files_request(page_no, page_size)


def test_an_upload_request_streams_one_checked_file_and_is_not_idempotent(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text('{"a": 1}\n')
    local = LocalFile(str(path), "train.jsonl", 9, "md5", "fine-tune", 1)
    request = files.upload_request(local, "my data")
    assert (request.method, request.path, request.envelope, request.idempotent) == ("POST", "/files", "data", False)
    assert request.body is None and request.stream is not None
    assert request.about == " (file_name=train.jsonl)"
    headers = api_request.build_headers(CONFIG, request, "ua")
    assert headers["Content-Type"] == request.stream.content_type
    assert headers["Content-Type"].startswith("multipart/form-data; boundary=")
    with pytest.raises(DashScopeConfigError, match="description must be a string or None, got int"):
        files.upload_request(local, 5)  # type: ignore[arg-type]


def test_an_upload_answer_gives_the_file_and_what_was_sent(tmp_path):
    request = files.upload_request(LocalFile(str(tmp_path), "train.jsonl", 9, "abc", "fine-tune", 1))
    data, request_id = answer(
        request, 200, {"request_id": "r-1", "data": {"uploaded_files": [{"file_id": "F1", "name": "train.jsonl"}],
                                                     "failed_uploads": []}},
    )  # fmt: skip
    parsed = files.parse_upload(data, request_id, CONFIG)
    assert (parsed.file_id, parsed.name, parsed.request_id) == ("F1", "train.jsonl", "r-1")
    local = LocalFile(str(tmp_path), "train.jsonl", 9, "abc", "fine-tune", 1)
    complete = files.uploaded_file(parsed, local, "desc")
    assert (complete.size, complete.md5, complete.description, complete.purpose) == (9, "abc", "desc", "fine-tune")


def test_a_file_listed_in_failed_uploads_is_an_error_with_its_code_and_message():
    data = {
        "uploaded_files": [],
        "failed_uploads": [
            {"name": "train.jsonl", "code": "BadRequest.TooLarge",
             "message": "Out of space, <839> B of <1024> B storage space has been used."},
        ],
    }  # fmt: skip
    with pytest.raises(FileUploadError) as info:
        files.parse_upload(data, "r-2", CONFIG)
    error = info.value
    assert (error.code, error.request_id, error.resource_id, error.status_code) == (
        "BadRequest.TooLarge", "r-2", "train.jsonl", 200,
    )  # fmt: skip
    assert str(error) == (
        "Upload of train.jsonl was refused: BadRequest.TooLarge: Out of space, <839> B of <1024> B storage space "
        "has been used. (request_id=r-2)"
    )
    assert not retry.is_transient(error, idempotent=False)  # a quota does not go away by retrying


@pytest.mark.parametrize(
    "data",
    [None, [], {"uploaded_files": []}, {"uploaded_files": "x"}, {"uploaded_files": [{"name": "a"}]},
     {"uploaded_files": [{"file_id": "a"}, {"file_id": "b"}]}],
)  # fmt: skip
def test_an_unusable_upload_answer_is_an_invalid_response(data):
    with pytest.raises(InvalidResponseError):
        files.parse_upload(data, "r", CONFIG)


def test_a_delete_answers_with_its_request_id_alone():
    request = files.delete_file_request(FILE_ID)
    data, request_id = answer(request, 200, {"request_id": "038e9953"})
    assert data is None and files.parse_deleted(data, request_id, CONFIG) == "038e9953"


def test_file_not_found_is_a_400_that_becomes_not_found_keeping_its_status():
    request = files.get_file_request(FILE_ID)
    with pytest.raises(InvalidParameterError) as info:
        answer(request, 400, {"request_id": "r-3", "code": "InvalidParameter", "message": "File not found."})
    found = files.as_not_found(info.value)
    assert isinstance(found, NotFoundError)
    assert (found.status_code, found.code, found.request_id, found.resource_id) == (
        400, "InvalidParameter", "r-3", FILE_ID,
    )  # fmt: skip
    other = InvalidParameterError("Missing files", status_code=400, code="InvalidParameter")
    assert files.as_not_found(other) is other
