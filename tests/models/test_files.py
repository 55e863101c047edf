"""DashScopeFile and DashScopeFilePage built from the files API's answers."""

from __future__ import annotations

import dataclasses
import json
import pickle

import pendulum
import pytest

from airflow_provider_dashscope.exceptions import InvalidResponseError
from airflow_provider_dashscope.models import DashScopeFile, DashScopeFilePage

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
