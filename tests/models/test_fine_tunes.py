"""FineTuneJob, JobStatus, FineTuneJobPage and FineTuneJobLogs built from API output."""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import pickle
import uuid

import pendulum
import pytest

from airflow_provider_dashscope.exceptions import DashScopeError, InvalidResponseError
from airflow_provider_dashscope.models import (
    DEFAULT_API_TIME_ZONE,
    TERMINAL_STATUSES,
    FineTuneJob,
    FineTuneJobLogs,
    FineTuneJobPage,
    JobStatus,
    is_terminal,
    parse_api_time,
)

# The response example of the "Retrieve fine-tuning job details" reference page, verbatim.
REFERENCE_RESPONSE = {
    "request_id": "c59b2145-a93c-4e00-b610-4d7cc5c521a2",
    "output": {
        "job_id": "ft-202410291653-1c7f",
        "job_name": "ft-202410291653-1c7f",
        "status": "SUCCEEDED",
        "finetuned_output": "qwen3-14b-suffix-ft-202410291653-1c7f",
        "model": "qwen3-14b",
        "base_model": "qwen3-14b",
        "training_file_ids": ["976bd01a-f30b-4414-86fd-50c54486e3ef"],
        "validation_file_ids": [],
        "hyper_parameters": {
            "n_epochs": 3,
            "batch_size": 32,
            "max_length": 8192,
            "learning_rate": "1.6e-5",
            "lr_scheduler_type": "linear",
            "split": 0.9,
        },
        "training_type": "sft",
        "create_time": "2024-10-29 16:53:53",
        "workspace_id": "llm-v71tlv***",
        "user_identity": "1396993924585947",
        "modifier": "1396993924585947",
        "creator": "1396993924585947",
        "end_time": "2024-10-29 17:11:26",
        "group": "llm",
        "usage": 279808,
    },
}


@pytest.fixture
def reference_output() -> dict:
    return copy.deepcopy(REFERENCE_RESPONSE["output"])


def test_reference_example_parses_every_field(reference_output: dict) -> None:
    job = FineTuneJob.from_api(reference_output, REFERENCE_RESPONSE["request_id"])
    assert job.job_id == "ft-202410291653-1c7f"
    assert job.job_name == "ft-202410291653-1c7f"
    assert job.status is JobStatus.SUCCEEDED
    assert job.finetuned_output == "qwen3-14b-suffix-ft-202410291653-1c7f"
    assert job.model == "qwen3-14b"
    assert job.base_model == "qwen3-14b"
    assert job.training_file_ids == ("976bd01a-f30b-4414-86fd-50c54486e3ef",)
    assert job.validation_file_ids == ()
    assert job.hyper_parameters == REFERENCE_RESPONSE["output"]["hyper_parameters"]
    assert job.training_type == "sft"
    assert job.workspace_id == "llm-v71tlv***"
    assert job.user_identity == job.modifier == job.creator == "1396993924585947"
    assert job.group == "llm"
    assert job.usage == 279808 and type(job.usage) is int
    assert job.output_cnt is None and job.max_output_cnt is None
    assert job.code is None and job.message is None
    assert job.request_id == "c59b2145-a93c-4e00-b610-4d7cc5c521a2"
    assert job.raw_dict() == REFERENCE_RESPONSE["output"]
    assert job.is_terminal is True
    assert job.status_text == "SUCCEEDED"


def test_times_are_aware_and_read_in_asia_shanghai_by_default(reference_output: dict) -> None:
    job = FineTuneJob.from_api(reference_output)
    assert DEFAULT_API_TIME_ZONE == "Asia/Shanghai"
    assert isinstance(job.create_time, pendulum.DateTime)
    assert job.create_time.tzinfo is not None
    assert job.create_time.utcoffset().total_seconds() == 8 * 3600
    assert job.create_time.in_timezone("UTC") == pendulum.datetime(2024, 10, 29, 8, 53, 53, tz="UTC")
    assert job.end_time.in_timezone("UTC") == pendulum.datetime(2024, 10, 29, 9, 11, 26, tz="UTC")
    assert (job.end_time - job.create_time).in_seconds() == 17 * 60 + 33


def test_time_zone_assumption_is_configurable(reference_output: dict) -> None:
    utc = FineTuneJob.from_api(reference_output, time_zone="UTC")
    assert utc.create_time == pendulum.datetime(2024, 10, 29, 16, 53, 53, tz="UTC")
    berlin = FineTuneJob.from_api(reference_output, time_zone="Europe/Berlin")
    assert berlin.create_time.utcoffset().total_seconds() == 3600  # CET on 29 October 2024


def test_time_with_its_own_offset_keeps_it() -> None:
    parsed = parse_api_time("2024-10-29T16:53:53+00:00")
    assert parsed == pendulum.datetime(2024, 10, 29, 16, 53, 53, tz="UTC")


@pytest.mark.parametrize("value", [None, "", "   ", 12345, "not a time", "2024-13-45 99:99:99", "P1D", ["x"]])
def test_unparseable_times_become_none(value) -> None:
    assert parse_api_time(value) is None


def test_missing_end_time_is_none_for_a_running_job(reference_output: dict) -> None:
    del reference_output["end_time"], reference_output["usage"], reference_output["finetuned_output"]
    reference_output["status"] = "RUNNING"
    job = FineTuneJob.from_api(reference_output)
    assert job.end_time is None and job.usage is None and job.finetuned_output is None
    assert job.status is JobStatus.RUNNING and not job.is_terminal


def test_unknown_extra_field_is_kept_in_raw(reference_output: dict) -> None:
    reference_output["training_datasets"] = [{"data_source_type": "file_id", "file_id": "f-1"}]
    reference_output["charge_type"] = "token"
    job = FineTuneJob.from_api(reference_output)
    assert job.raw_dict()["training_datasets"] == [{"data_source_type": "file_id", "file_id": "f-1"}]
    assert job.raw["charge_type"] == "token"


def test_checkpoint_counters_and_per_job_error_fields(reference_output: dict) -> None:
    reference_output.update(output_cnt=3, max_output_cnt="5", code=1, message="quota", status="CANCELED")
    job = FineTuneJob.from_api(reference_output)
    assert (job.output_cnt, job.max_output_cnt) == (3, 5)
    assert (job.code, job.message) == ("1", "quota")
    assert job.status is JobStatus.CANCELED


@pytest.mark.parametrize(
    ("usage", "expected"),
    [(279808, 279808), (0, 0), (12.0, 12), ("4096", 4096), (" 17 ", 17), ({"total_tokens": 99}, 99),
     (12.5, None), (True, None), ("lots", None), (None, None), ([1], None)],
)  # fmt: skip
def test_usage_is_an_int_or_none(reference_output: dict, usage, expected) -> None:
    reference_output["usage"] = usage
    job = FineTuneJob.from_api(reference_output)
    assert job.usage == expected
    assert job.usage is None or type(job.usage) is int


@pytest.mark.parametrize("usage", ["²", "--5", "5-", "-", "١٢", "1e3", "0x10"])
def test_odd_numeric_text_in_usage_gives_none_not_a_crash(reference_output: dict, usage: str) -> None:
    reference_output["usage"] = usage
    assert FineTuneJob.from_api(reference_output).usage is None


@pytest.mark.parametrize(
    "output",
    [
        {"status": "RUNNING"},
        {"job_id": "", "status": "RUNNING"},
        {"job_id": 7, "status": "RUNNING"},
        {"job_id": "ft-1"},
        {"job_id": "ft-1", "status": ""},
        {"job_id": "ft-1", "status": None},
        None,
        [],
        "ft-1",
    ],
)
def test_output_that_is_not_a_job_is_an_invalid_response(output) -> None:
    with pytest.raises(InvalidResponseError) as info:
        FineTuneJob.from_api(output, "req-1")
    assert isinstance(info.value, DashScopeError)
    assert info.value.request_id == "req-1"
    assert info.value.status_code == 200


def test_every_documented_status_parses_to_its_member() -> None:
    for text in ("PENDING", "QUEUING", "RUNNING", "CANCELING", "SUCCEEDED", "FAILED", "CANCELED"):
        job = FineTuneJob.from_api({"job_id": "ft-1", "status": text})
        assert job.status is JobStatus(text)
        assert str(job.status) == text


def test_terminal_set_is_succeeded_failed_canceled() -> None:
    assert {JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELED} == TERMINAL_STATUSES
    assert [s.value for s in JobStatus if s.is_terminal] == ["SUCCEEDED", "FAILED", "CANCELED"]
    for status in (JobStatus.PENDING, JobStatus.QUEUING, JobStatus.RUNNING, JobStatus.CANCELING):
        assert not status.is_terminal and not is_terminal(status)
    assert is_terminal("SUCCEEDED")  # a str-enum compares equal to its text
    assert not is_terminal(None)


def test_unknown_status_is_kept_as_text_not_terminal_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    novel = f"PAUSED_{uuid.uuid4().hex[:8].upper()}"  # unique: the once-only memory is process-wide
    caplog.set_level(logging.WARNING, logger="airflow_provider_dashscope.models")
    first = FineTuneJob.from_api({"job_id": "ft-1", "status": novel})
    second = FineTuneJob.from_api({"job_id": "ft-2", "status": novel})
    assert first.status == novel and type(first.status) is str
    assert not first.is_terminal and not second.is_terminal
    assert first.status_text == novel
    warnings = [r for r in caplog.records if novel in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert "not terminal" in warnings[0].getMessage()


def test_summary_is_small_json_safe_and_never_the_raw_response(reference_output: dict) -> None:
    reference_output["secret_looking_extra"] = "x" * 10_000
    job = FineTuneJob.from_api(reference_output, "req-9")
    summary = job.summary()
    encoded = json.dumps(summary)
    assert len(encoded) < 1000
    assert json.loads(encoded) == {
        "job_id": "ft-202410291653-1c7f",
        "status": "SUCCEEDED",
        "finetuned_output": "qwen3-14b-suffix-ft-202410291653-1c7f",
        "usage": 279808,
        "model": "qwen3-14b",
        "base_model": "qwen3-14b",
        "create_time": "2024-10-29T16:53:53+08:00",
        "end_time": "2024-10-29T17:11:26+08:00",
        "code": None,
        "message": None,
        "request_id": "req-9",
    }


def test_summary_of_a_job_with_an_unknown_status_is_json_safe() -> None:
    job = FineTuneJob.from_api({"job_id": "ft-1", "status": "SOMETHING_NEW_FOR_SUMMARY"})
    assert json.loads(json.dumps(job.summary()))["status"] == "SOMETHING_NEW_FOR_SUMMARY"


def test_job_is_frozen(reference_output: dict) -> None:
    job = FineTuneJob.from_api(reference_output)
    with pytest.raises(dataclasses.FrozenInstanceError):
        job.status = JobStatus.FAILED  # type: ignore[misc]


def test_page_parses_jobs_and_counters() -> None:
    output = {
        "page_no": 2,
        "page_size": 10,
        "total": 12,
        "jobs": [{"job_id": "ft-b", "status": "RUNNING"}, {"job_id": "ft-a", "status": "FAILED"}],
    }
    page = FineTuneJobPage.from_api(output, "req-p")
    assert (page.page_no, page.page_size, page.total, page.request_id) == (2, 10, 12, "req-p")
    assert [j.job_id for j in page.jobs] == ["ft-b", "ft-a"]
    assert [j.request_id for j in page.jobs] == ["req-p", "req-p"]


def test_empty_page_defaults_and_a_missing_total_is_unknown() -> None:
    page = FineTuneJobPage.from_api({})
    assert (page.page_no, page.page_size, page.total, page.jobs) == (1, 0, None, ())
    assert FineTuneJobPage.from_api({"total": 0, "jobs": []}).total == 0


@pytest.mark.parametrize("output", [None, [], {"jobs": "nope"}, {"jobs": [{"status": "RUNNING"}]}])
def test_bad_page_is_an_invalid_response(output) -> None:
    with pytest.raises(InvalidResponseError):
        FineTuneJobPage.from_api(output)


def test_logs_accept_a_list_or_a_single_string() -> None:
    as_list = FineTuneJobLogs.from_api({"total": 20, "logs": ["a", "b", "##FT_COMPLETE##"]}, "r")
    assert (as_list.total, as_list.lines, as_list.request_id) == (20, ("a", "b", "##FT_COMPLETE##"), "r")
    as_text = FineTuneJobLogs.from_api({"logs": "line 1\nline 2\n"})
    assert as_text.lines == ("line 1", "line 2") and as_text.total == 2
    assert FineTuneJobLogs.from_api({"total": 0}).lines == ()


def test_bad_logs_output_is_an_invalid_response() -> None:
    with pytest.raises(InvalidResponseError):
        FineTuneJobLogs.from_api(["line"])


# ----------------------------------------------------------------------------------------------------------------
# Deep immutability
# ----------------------------------------------------------------------------------------------------------------
def test_a_job_is_deeply_read_only_and_independent_of_the_response(reference_output: dict) -> None:
    reference_output["hyper_parameters"] = {"n_epochs": 3, "schedule": {"warmup": [0.1, 0.2]}}
    job = FineTuneJob.from_api(reference_output)

    with pytest.raises(TypeError):
        job.raw["status"] = "FAILED"  # type: ignore[index]
    with pytest.raises(TypeError):
        job.hyper_parameters["n_epochs"] = 9  # type: ignore[index]
    with pytest.raises((AttributeError, TypeError)):
        job.hyper_parameters["schedule"]["warmup"].append(0.3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        job.status = "FAILED"  # type: ignore[misc]
    assert isinstance(job.training_file_ids, tuple) and isinstance(job.raw["training_file_ids"], tuple)

    reference_output["status"] = "FAILED"
    reference_output["hyper_parameters"]["n_epochs"] = 9
    assert job.raw["status"] == "SUCCEEDED" and job.hyper_parameters["n_epochs"] == 3
    assert job.raw_dict()["hyper_parameters"] == {"n_epochs": 3, "schedule": {"warmup": [0.1, 0.2]}}
    job.raw_dict()["status"] = "changed"  # a thawed copy is the caller's own
    assert job.raw["status"] == "SUCCEEDED"


def test_a_job_survives_pickle_and_deepcopy(reference_output: dict) -> None:
    job = FineTuneJob.from_api(reference_output, "req-1")
    for clone in (pickle.loads(pickle.dumps(job)), copy.deepcopy(job)):
        assert clone == job
        assert clone.raw == job.raw and clone.hyper_parameters == job.hyper_parameters
        assert clone.request_id == "req-1"


def test_every_field_is_read_from_the_api_object_by_its_name() -> None:
    """The field list is written once, in the class: each field is read by its own name."""
    fixed = {"job_id", "status", "request_id", "raw"}
    samples = {
        "str | None": "text",
        "int | None": 7,
        "tuple[str, ...]": ["a", "b"],
        "pendulum.DateTime | None": "2024-10-29 16:53:53",
        "Mapping[str, Any]": {"k": 1},
    }
    output = {"job_id": "ft-1", "status": "RUNNING"}
    for spec in dataclasses.fields(FineTuneJob):
        if spec.name not in fixed:
            output[spec.name] = samples[str(spec.type)]
    job = FineTuneJob.from_api(output)
    for spec in dataclasses.fields(FineTuneJob):
        if spec.name in fixed:
            continue
        value = getattr(job, spec.name)
        assert value is not None and value != () and value != {}, spec.name


def test_a_nested_object_is_frozen_once_and_shared_with_raw(reference_output: dict) -> None:
    """A poll keeps one frozen copy of the answer: the typed field is the very object ``raw`` holds."""
    reference_output["hyper_parameters"] = {"n_epochs": 3, "schedule": {"warmup": [0.1, 0.2]}}
    job = FineTuneJob.from_api(reference_output)
    assert job.hyper_parameters is job.raw["hyper_parameters"]
    assert job.hyper_parameters == {"n_epochs": 3, "schedule": {"warmup": (0.1, 0.2)}}


def test_odd_values_read_as_from_the_plain_answer(reference_output: dict) -> None:
    """Fields read from the frozen answer give what the plain JSON gives: text of lists and objects as JSON-like
    Python text (never a ``FrozenDict(...)`` repr), lists of ids with nested values as their plain text."""
    reference_output.update(
        job_name={"a": [1, 2]},
        model=["qwen3-14b"],
        training_file_ids=["file-1", None, 7, {"id": "file-2"}, ["file-3"]],
        validation_file_ids="file-9",
        usage={"total_tokens": "12"},
    )
    job = FineTuneJob.from_api(reference_output)
    assert job.job_name == "{'a': [1, 2]}"
    assert job.model == "['qwen3-14b']"
    assert job.training_file_ids == ("file-1", "7", "{'id': 'file-2'}", "['file-3']")
    assert job.validation_file_ids == ("file-9",)
    assert job.usage == 12
