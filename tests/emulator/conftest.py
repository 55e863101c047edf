"""Fixtures for the emulator tests: a real server on 127.0.0.1 and a tiny urllib client."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

import pytest

from airflow_provider_dashscope.emulator.testing import EmulatorThread, FakeClock

START = 1_730_192_033.0  # 2024-10-29 08:53:53 UTC == 16:53:53 at UTC+8


@dataclass
class Reply:
    status: int
    headers: Any
    raw: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.raw)

    @property
    def output(self) -> Any:
        return self.json["output"]


class Api:
    def __init__(self, emu: EmulatorThread) -> None:
        self.emu = emu

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        key: str | None = "default",
        headers: dict[str, str] | None = None,
        timeout: float = 5.0,
        root: bool = False,
        raw: bytes | None = None,
    ) -> Reply:
        """One request; ``raw`` is sent as is (set its Content-Type in ``headers``), else ``body`` as JSON."""
        url = (self.emu.root_url if root else self.emu.base_url) + path
        hdrs = {"Content-Type": "application/json"}
        if key == "default":
            key = self.emu.api_key
        if key is not None:
            hdrs["Authorization"] = f"Bearer {key}"
        hdrs.update(headers or {})
        data = raw if raw is not None else json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return Reply(resp.status, resp.headers, resp.read())
        except urllib.error.HTTPError as err:
            with err:
                return Reply(err.code, err.headers, err.read())

    def create(self, model: str = "qwen3-14b", **fields: Any) -> dict[str, Any]:
        body = {"model": model, "training_file_ids": ["file-1"], **fields}
        reply = self.call("POST", "/fine-tunes", body)
        assert reply.status == 200, reply.raw
        return reply.output

    def get(self, job_id: str) -> dict[str, Any]:
        reply = self.call("GET", f"/fine-tunes/{job_id}")
        assert reply.status == 200, reply.raw
        return reply.output

    def status(self, job_id: str) -> str:
        return self.get(job_id)["status"]

    def upload(self, *parts: tuple[str, str | None, bytes, str | None]) -> Reply:
        body, content_type = multipart(list(parts))
        return self.call("POST", "/files", raw=body, headers={"Content-Type": content_type})

    def upload_one(self, name: str = "train.jsonl", content: bytes = b'{"messages": []}\n') -> str:
        reply = self.upload(("files", name, content, None))
        assert reply.status == 200, reply.raw
        return reply.json["data"]["uploaded_files"][0]["file_id"]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def emu(clock: FakeClock):
    with EmulatorThread(
        clock=clock,
        pending_seconds=5,
        running_seconds=20,
        canceling_seconds=3,
        tokens_per_second=100,
        random_seed=7,
    ) as server:
        yield server


@pytest.fixture
def api(emu: EmulatorThread) -> Api:
    return Api(emu)


@pytest.fixture
def make_api():
    """Build an :class:`Api` for another emulator instance."""
    return Api


def multipart(parts: list[tuple[str, str | None, bytes, str | None]]) -> tuple[bytes, str]:
    """A multipart/form-data body from (field name, filename or None, content, part Content-Type or None)."""
    boundary = "emulator-test-boundary-7f3a"
    chunks = []
    for name, filename, content, content_type in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
        head = f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
        if content_type is not None:
            head += f"Content-Type: {content_type}\r\n"
        chunks.append(head.encode() + b"\r\n" + content + b"\r\n")
    body = b"".join(chunks) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"
