"""Package hygiene and in-loop use of create_app."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import aiohttp

import airflow_provider_dashscope.emulator as emulator_pkg
from airflow_provider_dashscope.emulator import EmulatorConfig, EmulatorState, create_app, start_site
from airflow_provider_dashscope.emulator.testing import FakeClock


def test_emulator_imports_only_stdlib_and_aiohttp() -> None:
    allowed = set(sys.stdlib_module_names) | {"aiohttp", "__future__"}
    files = sorted(Path(emulator_pkg.__file__).parent.glob("*.py"))
    assert len(files) >= 5
    for path in files:
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.split(".")[0] in allowed, f"{path.name} imports {name}"


async def test_create_app_in_loop() -> None:
    clock = FakeClock()
    state = EmulatorState(EmulatorConfig(api_key="k", clock=clock, pending_seconds=1, running_seconds=1))
    runner, port = await start_site(create_app(state), "127.0.0.1", 0)
    try:
        headers = {"Authorization": "Bearer k"}
        async with aiohttp.ClientSession(headers=headers) as session:
            base = f"http://127.0.0.1:{port}/api/v1"
            async with session.post(f"{base}/fine-tunes", json={"model": "m", "training_file_ids": "f"}) as resp:
                assert resp.status == 200
                job_id = (await resp.json())["output"]["job_id"]
            clock.advance(2.5)
            async with session.get(f"{base}/fine-tunes/{job_id}") as resp:
                body = await resp.json()
                assert body["output"]["status"] == "SUCCEEDED"
                assert resp.headers["x-request-id"] == body["request_id"]
    finally:
        await runner.cleanup()
    assert state.request_count(route="POST /fine-tunes") == 1


def test_create_app_accepts_config_dict_and_none() -> None:
    from airflow_provider_dashscope.emulator import STATE_KEY

    app = create_app({"api_key": "x", "quota": 5})
    assert app[STATE_KEY].config.quota == 5
    assert create_app()[STATE_KEY].config.quota == 20
