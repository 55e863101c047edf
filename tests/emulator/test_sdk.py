"""The official dashscope SDK (1.x classes) against the emulator, over real HTTP on 127.0.0.1."""

from __future__ import annotations

from http import HTTPStatus

import pytest

from airflow_provider_dashscope.emulator.testing import EmulatorThread

dashscope = pytest.importorskip("dashscope")


def test_official_sdk_against_emulator(clock) -> None:
    from dashscope import FineTunes

    with EmulatorThread(clock=clock, pending_seconds=5, running_seconds=20, canceling_seconds=3) as emu:
        kw = {"api_key": emu.api_key, "base_address": emu.base_url}
        created = FineTunes.call(
            model="qwen3-14b",
            training_file_ids="file-abc",
            hyper_parameters={"n_epochs": 1, "learning_rate": "1.6e-5"},
            mode="efficient_sft",
            **kw,
        )
        assert created.status_code == HTTPStatus.OK
        job_id = created.output.job_id
        assert created.output.status == "PENDING"
        assert created.output.training_file_ids == ["file-abc"]
        assert created.output.training_type == "efficient_sft"

        other = FineTunes.call(model="qwen3-8b", training_file_ids=["file-x"], **kw).output.job_id
        clock.advance(6)
        got = FineTunes.get(job_id, **kw)
        assert got.status_code == HTTPStatus.OK
        assert got.request_id
        assert (got.output.job_id, got.output.status, got.output.model) == (job_id, "RUNNING", "qwen3-14b")
        assert got.output.hyper_parameters == {"n_epochs": 1, "learning_rate": "1.6e-5"}

        listed = FineTunes.list(page_no=1, page_size=10, **kw)
        assert listed.status_code == HTTPStatus.OK
        assert listed.output.total == 2
        assert [j.job_id for j in listed.output.jobs] == [other, job_id]

        canceled = FineTunes.cancel(job_id, **kw)
        assert canceled.status_code == HTTPStatus.OK
        assert canceled.output.status == "success"
        assert FineTunes.get(job_id, **kw).output.status == "CANCELING"
        clock.advance(3)
        final = FineTunes.get(job_id, **kw)
        assert final.output.status == "CANCELED"
        assert final.output.usage == 1000  # 1 s of training at 1000 tokens/s

        again = FineTunes.cancel(job_id, **kw)
        assert again.status_code == 400
        assert again.code == "UnsupportedOperation"

        missing = FineTunes.get("ft-000000000000-0000", **kw)
        assert (missing.status_code, missing.code, missing.message) == (404, "NotFound", "Not found!")

        bad_key = FineTunes.get(job_id, api_key="nope", base_address=emu.base_url)
        assert (bad_key.status_code, bad_key.code) == (401, "InvalidApiKey")

        logs = FineTunes.logs(job_id, offset=0, line=10, **kw)
        assert logs.status_code == HTTPStatus.OK
        assert logs.output["total"] >= 3

        deleted = FineTunes.delete(job_id, **kw)
        assert deleted.status_code == HTTPStatus.OK
        assert deleted.output.status == "success"

        emu.add_fault(route="GET /fine-tunes/{job_id}", kind="html", status=502)
        gateway = FineTunes.get(other, **kw)
        assert gateway.status_code == 502
        assert emu.request_count("GET", "/fine-tunes/{job_id}", job_id=job_id) == 4


def test_official_sdk_files(tmp_path, clock) -> None:
    from dashscope import Files

    train = tmp_path / "train.jsonl"
    train.write_text('{"messages": [{"role": "user", "content": "hi"}]}\n', encoding="utf-8")
    with EmulatorThread(clock=clock) as emu:
        kw = {"api_key": emu.api_key, "base_address": emu.base_url}
        uploaded = Files.upload(str(train), description="my training data", **kw)
        assert uploaded.status_code == HTTPStatus.OK
        assert uploaded.output["failed_uploads"] == []
        (item,) = uploaded.output["uploaded_files"]
        assert item["name"] == "train.jsonl"
        file_id = item["file_id"]
        Files.upload(str(train), **kw)  # no description part at all

        got = Files.get(file_id, **kw)
        assert got.status_code == HTTPStatus.OK
        assert (got.output["file_id"], got.output["description"], got.output["size"]) == (
            file_id,
            "my training data",
            train.stat().st_size,
        )

        listed = Files.list(page=1, page_size=10, **kw)
        assert listed.status_code == HTTPStatus.OK
        assert listed.output["total"] == 2 and listed.output["files"][-1]["file_id"] == file_id

        deleted = Files.delete(file_id, **kw)
        assert deleted.status_code == HTTPStatus.OK
        missing = Files.get(file_id, **kw)
        assert (missing.status_code, missing.code, missing.message) == (400, "InvalidParameter", "File not found.")
        assert emu.request_count("POST", "/files") == 2
        assert emu.request_count(route="GET /files/{file_id}", job_id=file_id) == 2


def test_official_sdk_deployments(clock) -> None:
    from dashscope import Deployments, FineTunes

    with EmulatorThread(clock=clock, deploy_pending_seconds=1, deploying_seconds=3) as emu:
        dashscope.base_http_api_url, saved = emu.base_url, dashscope.base_http_api_url
        try:
            kw = {"api_key": emu.api_key}
            job_id = FineTunes.call(model="qwen3-14b", training_file_ids="file-abc", **kw).output.job_id
            clock.advance(20)
            output = FineTunes.get(job_id, **kw).output.finetuned_output

            created = Deployments.call(model=output, capacity=2, suffix="gate", plan="lora", **kw)
            assert created.status_code == HTTPStatus.OK
            deployed = created.output.deployed_model
            assert deployed == f"{output}-gate"
            assert (created.output.status, created.output.base_model, created.output.capacity) == (
                "PENDING",
                "qwen3-14b",
                2,
            )
            again = Deployments.call(model=output, capacity=2, suffix="gate", **kw)
            assert (again.status_code, again.code) == (409, "Conflict")

            clock.advance(4)
            got = Deployments.get(deployed, **kw)
            assert (got.output.status, got.output.ready_capacity) == ("RUNNING", 2)

            listed = Deployments.list(page_no=1, page_size=10, **kw)
            assert listed.status_code == HTTPStatus.OK
            assert [d.deployed_model for d in listed.output.deployments] == [deployed]

            scaled = Deployments.scale(deployed, capacity=4, **kw)
            assert (scaled.status_code, scaled.output.status, scaled.output.capacity) == (200, "UPDATING", 4)

            deleted = Deployments.delete(deployed, **kw)
            assert deleted.status_code == HTTPStatus.OK
            assert deleted.output.status == "DELETING"
            clock.advance(5)
            gone = Deployments.get(deployed, **kw)
            assert (gone.status_code, gone.code, gone.message) == (404, "NotFound", "Not found.")
            assert emu.stats()["by_deployment"] == {deployed: 4}
        finally:
            dashscope.base_http_api_url = saved
