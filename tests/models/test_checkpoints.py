"""The Checkpoint model: the list answer (an array, newest step first), frozen values, the full_name quirk."""

from __future__ import annotations

import dataclasses

import pytest

from airflow_provider_dashscope.exceptions import InvalidResponseError
from airflow_provider_dashscope.models.checkpoints import (
    Checkpoint,
    CheckpointStatus,
    checkpoint_name_of,
    parse_checkpoints,
)

JOB = "ft-202605271807-a1b2"
LISTED = [
    {
        "create_time": "2026-05-27T18:07:16",
        "full_name": f"{JOB}:checkpoint-00040004",
        "job_id": JOB,
        "checkpoint_id": f"{JOB}:checkpoint-00040004",
        "checkpoint": "checkpoint-00040004",
        "model_name": "qwen3-14b-ft-c40004",
        "model_display_name": "my-export",
        "status": "SUCCEEDED",
        "expire_time": "2026-06-11T18:07:16",
        "step": 40004,
        "new_field": {"kept": True},
    },
    {"full_name": f"{JOB}-checkpoint-20002", "status": "PROCESSING", "step": 20002},
    {"checkpoint": "checkpoint-10001", "job_id": JOB, "status": "NOT_EXPORTED_YET"},
]


def test_the_list_keeps_the_api_order_and_reads_every_documented_field():
    newest, middle, oldest = parse_checkpoints(LISTED, "req-1", job_id=JOB, time_zone="Asia/Shanghai")

    assert [c.checkpoint for c in (newest, middle, oldest)] == [
        "checkpoint-00040004",
        "checkpoint-20002",
        "checkpoint-10001",
    ]
    assert (newest.step, newest.status, newest.model_name) == (40004, CheckpointStatus.SUCCEEDED, "qwen3-14b-ft-c40004")
    assert newest.is_exported and not middle.is_exported
    assert newest.create_time.isoformat() == "2026-05-27T18:07:16+08:00"
    assert newest.expire_time.isoformat() == "2026-06-11T18:07:16+08:00"
    assert newest.request_id == "req-1"
    assert newest.raw["new_field"] == {"kept": True}  # unknown fields kept
    assert newest.summary()["model_display_name"] == "my-export"


def test_the_separator_of_full_name_may_be_a_colon_or_a_dash():
    assert checkpoint_name_of(f"{JOB}:checkpoint-160") == (JOB, "checkpoint-160")
    assert checkpoint_name_of(f"{JOB}-checkpoint-160") == (JOB, "checkpoint-160")
    middle = parse_checkpoints(LISTED, job_id="ignored")[1]
    assert (middle.checkpoint, middle.job_id, middle.step) == ("checkpoint-20002", JOB, 20002)


def test_a_status_that_is_not_an_exports_is_kept_as_text_and_means_not_exported():
    oldest = parse_checkpoints(LISTED)[2]
    assert oldest.status == "NOT_EXPORTED_YET" and not isinstance(oldest.status, CheckpointStatus)
    assert not oldest.is_exported
    assert oldest.step == 10001  # from the name when the API gives no step


def test_checkpoints_are_frozen():
    checkpoint = parse_checkpoints(LISTED)[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        checkpoint.status = "FAILED"  # type: ignore[misc]
    with pytest.raises(TypeError):
        checkpoint.raw["step"] = 1  # type: ignore[index]


@pytest.mark.parametrize(
    "output, words",
    [
        ({"checkpoints": []}, "got an object"),
        ("checkpoint-1", "got str"),
        ([{"status": "SUCCEEDED"}], "no 'checkpoint' name"),
        ([1], "got int"),
    ],
)
def test_an_answer_that_is_not_an_array_of_checkpoints_is_an_invalid_response(output, words):
    with pytest.raises(InvalidResponseError, match=words) as caught:
        parse_checkpoints(output, "req-9", job_id=JOB)
    assert caught.value.request_id == "req-9" and caught.value.job_id == JOB


def test_an_empty_or_null_output_is_no_checkpoints():
    assert parse_checkpoints([]) == () == parse_checkpoints(None)
    assert Checkpoint.from_api({"checkpoint": "checkpoint-3"}).status is None
