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
    ) -> Reply:
        url = (self.emu.root_url if root else self.emu.base_url) + path
        hdrs = {"Content-Type": "application/json"}
        if key == "default":
            key = self.emu.api_key
        if key is not None:
            hdrs["Authorization"] = f"Bearer {key}"
        hdrs.update(headers or {})
        data = json.dumps(body).encode() if body is not None else None
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
