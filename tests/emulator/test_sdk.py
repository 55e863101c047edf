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
