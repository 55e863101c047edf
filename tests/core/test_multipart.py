"""The upload body: byte for byte what the official SDK sends (checked against the real ``dashscope`` package over
loopback), its declared length, and a file that changes while it is sent."""

from __future__ import annotations

import json
import os

import pytest

from airflow_provider_dashscope._http.multipart import CHUNK_BYTES, MultipartUpload
from airflow_provider_dashscope.exceptions import TrainingFileError
from tests._servers import Reply

UPLOADED = Reply(200, {"request_id": "r", "data": {"uploaded_files": [{"file_id": "F", "name": "x"}]}})


def normalised(body: bytes, content_type: str) -> tuple[bytes, str]:
    boundary = content_type.split("boundary=", 1)[1]
    return body.replace(boundary.encode(), b"BOUNDARY"), content_type.replace(boundary, "BOUNDARY")


def sdk_upload(server, path: str, description: str | None):
    """What ``dashscope.Files.upload`` (SDK 1.x surface) sends for this file."""
    dashscope = pytest.importorskip("dashscope")
    server.script("POST", "/files", UPLOADED)
    # purpose only switches the SDK's local JSON check off (for the binary case); it is never sent.
    dashscope.Files.upload(
        path, purpose="file-extract", description=description, api_key="sk-test", base_address=server.base_url
    )
    return server.requests_to("POST", "/files")[-1]


@pytest.mark.parametrize(
    ("filename", "content", "description"),
    [
        ("train.jsonl", b'{"messages": [{"role": "user", "content": "hi"}]}\n', "my data"),
        ("train.jsonl", b'{"messages": [{"role": "user", "content": "hi"}]}\n', None),
        ('we"ird name é.jsonl', b"{}\n", 'описание, "quoted"\r\nnext line'),
        ("blob.bin", bytes(range(256)) * 3, ""),
    ],
    ids=["description", "no-description", "odd-names", "binary-empty-description"],
)
def test_the_body_is_byte_for_byte_what_the_sdk_sends(tmp_path, scripted_server, filename, content, description):
    path = tmp_path / filename
    path.write_bytes(content)
    sent = sdk_upload(scripted_server, str(path), description)

    body = MultipartUpload(str(path), filename, len(content), description)
    ours = b"".join(body)

    assert normalised(ours, body.content_type) == normalised(sent.body, sent.header("Content-Type"))
    assert len(body) == len(ours) == int(sent.header("Content-Length"))
    assert body.content_type == f"multipart/form-data; boundary={body.boundary}"
    assert len(body.boundary) == 32 and int(body.boundary, 16) >= 0
    assert b'name="purpose"' not in ours  # the SDK sends no purpose part


def test_iterating_again_sends_the_whole_body_again(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_bytes(b"x" * (3 * CHUNK_BYTES + 5))
    body = MultipartUpload(str(path), "train.jsonl", path.stat().st_size, "d", boundary="b" * 32)
    first, second = b"".join(body), b"".join(body)
    assert first == second and len(first) == len(body)
    chunks = list(body)
    assert max(len(chunk) for chunk in chunks) == CHUNK_BYTES  # read and sent in chunks, never whole


def test_a_file_that_shrinks_or_grows_after_the_check_fails_the_upload(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_bytes(b"0123456789")
    shrunk = MultipartUpload(str(path), "train.jsonl", 20)
    with pytest.raises(TrainingFileError, match=r"shrank while it was uploaded \(10 of 20 bytes sent\)"):
        b"".join(shrunk)
    grown = MultipartUpload(str(path), "train.jsonl", 5)
    with pytest.raises(TrainingFileError, match=r"grew while it was uploaded \(it had 5 bytes when it was checked\)"):
        b"".join(grown)


def test_repr_names_the_file_not_the_content(tmp_path):
    path = tmp_path / "secret.jsonl"
    path.write_text(json.dumps({"k": "content-marker"}))
    text = repr(MultipartUpload(os.fspath(path), "secret.jsonl", path.stat().st_size))
    assert text == "MultipartUpload('secret.jsonl', 23 bytes)" and "content-marker" not in text
