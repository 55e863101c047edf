"""Fixtures for the report tests: hand-built jobs, a UTC day window, and the emulator behind a real hook."""

from __future__ import annotations

import json

import pendulum
import pytest

from airflow_provider_dashscope.emulator.testing import EmulatorThread
from airflow_provider_dashscope.models import FineTuneJob, JobStatus

#: The report window of most tests: 2026-11-20, a UTC day (an Airflow daily data interval).
DAY_START = pendulum.datetime(2026, 11, 20, tz="UTC")
DAY_END = pendulum.datetime(2026, 11, 21, tz="UTC")


def at(text: str | None) -> pendulum.DateTime | None:
    """An aware time from ISO text (UTC when it names no offset)."""
    return None if text is None else pendulum.parse(text, tz="UTC")


def _make_job(
    job_id: str,
    status: JobStatus | str = JobStatus.SUCCEEDED,
    *,
    created: str | None = "2026-11-20T01:00:00",
    ended: str | None = None,
    base_model: str | None = "qwen3-14b",
    model: str | None = None,
    usage: int | None = None,
    code: str | None = None,
    message: str | None = None,
    job_name: str | None = None,
) -> FineTuneJob:
    return FineTuneJob(
        job_id=job_id,
        status=JobStatus.parse(status) if isinstance(status, str) else status,
        job_name=job_name,
        model=model if model is not None else base_model,
        base_model=base_model,
        create_time=at(created),
        end_time=at(ended),
        usage=usage,
        code=code,
        message=message,
    )


@pytest.fixture
def make_job():
    """``make_job(job_id, status, created=..., ended=..., base_model=..., usage=..., code=..., message=...)``.

    Times are ISO text, read as UTC unless they carry an offset; ``created=None`` makes an undated job.
    """
    return _make_job


@pytest.fixture
def window() -> tuple[pendulum.DateTime, pendulum.DateTime]:
    return DAY_START, DAY_END


@pytest.fixture
def emulator():
    """An emulator on 127.0.0.1 with a fixed API key; stopped after the test."""
    with EmulatorThread(random_seed=11) as emu:
        yield emu


@pytest.fixture
def emulator_connection(emulator: EmulatorThread, monkeypatch: pytest.MonkeyPatch) -> EmulatorThread:
    """``dashscope_default`` points at the emulator (through ``AIRFLOW_CONN_DASHSCOPE_DEFAULT``, no DB)."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_DASHSCOPE_DEFAULT",
        json.dumps({"conn_type": "dashscope", "password": emulator.api_key, "host": emulator.base_url}),
    )
    return emulator
