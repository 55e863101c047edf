"""The fine-tunes resource: job ids and request builders (no I/O)."""

from __future__ import annotations

import json

import pytest

from airflow_provider_dashscope._http import api_request
from airflow_provider_dashscope.exceptions import (
    DashScopeConfigError,
    DashScopeError,
)
from airflow_provider_dashscope.resources import fine_tunes
from tests._client import make_config


# ----------------------------------------------------------------------------------------------------------------
# Job ids
# ----------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "bad",
    [
        None,
        42,
        ["ft-1"],
        "../deployments",
        "a/b",
        "a?b",
        "a#b",
        "a\\b",
        " ft-1",
        "ft 1",
        "ft-1\n",
        "ft\t1",
        "ft\x00",
        "ft\x1b[31m",
        "ft\x7f",
        "..",
        ".",
    ],
)
def test_invalid_job_id_is_a_value_error_that_shows_the_value(bad) -> None:
    with pytest.raises(DashScopeConfigError) as info:
        fine_tunes.validate_job_id(bad)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, DashScopeError)
    assert repr(bad) in str(info.value)
    assert "job_id" in str(info.value)


def test_empty_job_id_is_refused_as_empty() -> None:
    with pytest.raises(DashScopeConfigError, match="job_id is empty"):
        fine_tunes.validate_job_id("")


def test_overlong_job_id_is_refused_showing_its_length_and_start() -> None:
    bad = "f" * 300
    with pytest.raises(DashScopeConfigError) as info:
        fine_tunes.validate_job_id(bad)
    text = str(info.value)
    assert "300 characters" in text
    assert repr(bad[:40]) in text
    assert len(text) < 300  # a summary, not the whole value


@pytest.mark.parametrize("bad", ["ft-1\x9b31m", "ft\x80", "ft\u200b1", "ft\u202e1"])
def test_c1_control_and_format_characters_in_job_id_are_refused(bad: str) -> None:
    with pytest.raises(DashScopeConfigError):
        fine_tunes.validate_job_id(bad)


@pytest.mark.parametrize("good", ["ft-202410291653-1c7f", "f" * api_request.MAX_ID_LENGTH, "ft_1.2-3", "..."])
def test_valid_job_id_passes_unchanged(good: str) -> None:
    assert fine_tunes.validate_job_id(good) == good


@pytest.mark.parametrize(
    ("job_id", "path"),
    [
        ("ft-202410291653-1c7f", "/fine-tunes/ft-202410291653-1c7f"),
        ("ft:1", "/fine-tunes/ft%3A1"),
        ("a%2Fb", "/fine-tunes/a%252Fb"),
        ("ft-ü", "/fine-tunes/ft-%C3%BC"),
        ("a;b=c&d", "/fine-tunes/a%3Bb%3Dc%26d"),
    ],
)
def test_job_id_is_url_quoted_in_the_path(job_id: str, path: str) -> None:
    assert fine_tunes.get_job_request(job_id).path == path
    assert fine_tunes.delete_job_request(job_id).path == path
    assert fine_tunes.cancel_job_request(job_id).path == path + "/cancel"
    assert fine_tunes.job_logs_request(job_id).path == path + "/logs"


@pytest.mark.parametrize(
    "builder",
    [
        fine_tunes.get_job_request,
        fine_tunes.cancel_job_request,
        fine_tunes.delete_job_request,
        fine_tunes.job_logs_request,
    ],
)
def test_every_job_request_builder_validates_the_job_id(builder) -> None:
    with pytest.raises(DashScopeConfigError, match="deployments"):
        builder("../deployments")


# ----------------------------------------------------------------------------------------------------------------
# Request builders and headers
# ----------------------------------------------------------------------------------------------------------------
def test_get_job_request() -> None:
    request = fine_tunes.get_job_request("ft-1")
    assert (request.method, request.path, request.params, request.body) == ("GET", "/fine-tunes/ft-1", None, None)
    assert request.idempotent is True
    assert (request.resource_key, request.resource_id) == ("job_id", "ft-1")
    assert request.label == "GET /fine-tunes/ft-1"
    assert request.url(make_config(host="127.0.0.1:5")) == "http://127.0.0.1:5/api/v1/fine-tunes/ft-1"


def test_list_jobs_request_defaults_and_model_filter() -> None:
    request = fine_tunes.list_jobs_request()
    assert (request.method, request.path, request.body) == ("GET", "/fine-tunes", None)
    assert request.params == {"page_no": 1, "page_size": 10}
    assert request.idempotent is True
    assert fine_tunes.list_jobs_request(3, 100, "qwen3-14b").params == {
        "page_no": 3,
        "page_size": 100,
        "model": "qwen3-14b",
    }


@pytest.mark.parametrize(
    ("page_no", "page_size", "name"),
    [(0, 10, "page_no"), (1, 0, "page_size"), (1, 101, "page_size"), ("1", 10, "page_no"), (1, True, "page_size")],
)
def test_list_jobs_request_refuses_out_of_bounds_pages(page_no, page_size, name: str) -> None:
    with pytest.raises(DashScopeConfigError, match=name):
        fine_tunes.list_jobs_request(page_no, page_size)


def test_create_job_request_body_and_not_idempotent() -> None:
    request = fine_tunes.create_job_request(
        model=" qwen3-14b ",
        training_file_ids="file-1",
        validation_file_ids=["file-2", "file-3"],
        hyper_parameters={"n_epochs": 3},
        training_type="sft",
        job_name="my-job",
        model_name="my-model",
    )
    assert (request.method, request.path, request.params) == ("POST", "/fine-tunes", None)
    assert request.idempotent is False
    assert request.resource_id is None
    assert request.body == {
        "model": "qwen3-14b",
        "training_file_ids": ["file-1"],
        "validation_file_ids": ["file-2", "file-3"],
        "hyper_parameters": {"n_epochs": 3},
        "training_type": "sft",
        "job_name": "my-job",
        "model_name": "my-model",
    }
    assert json.loads(api_request.encode_body(request)) == request.body


def test_create_job_request_minimal_body() -> None:
    request = fine_tunes.create_job_request(model="qwen3-14b", training_file_ids=["f"])
    assert request.body == {
        "model": "qwen3-14b",
        "training_file_ids": ["f"],
        "validation_file_ids": [],
        "hyper_parameters": {},
    }


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"model": "", "training_file_ids": ["f"]}, "model"),
        ({"model": None, "training_file_ids": ["f"]}, "model"),
        ({"model": "m", "training_file_ids": []}, "training_file_ids"),
        ({"model": "m", "training_file_ids": None}, "training_file_ids"),
        ({"model": "m", "training_file_ids": [""]}, "training_file_ids"),
        ({"model": "m", "training_file_ids": [1]}, "training_file_ids"),
        ({"model": "m", "training_file_ids": ["f"], "validation_file_ids": [None]}, "validation_file_ids"),
        ({"model": "m", "training_file_ids": ["f"], "hyper_parameters": [1]}, "hyper_parameters"),
    ],
)
def test_create_job_request_refuses_bad_arguments(kwargs: dict, fragment: str) -> None:
    with pytest.raises(DashScopeConfigError, match=fragment):
        fine_tunes.create_job_request(**kwargs)


def test_cancel_and_delete_requests() -> None:
    cancel = fine_tunes.cancel_job_request("ft-1")
    assert (cancel.method, cancel.path, cancel.body, cancel.params) == ("POST", "/fine-tunes/ft-1/cancel", None, None)
    assert cancel.idempotent is True
    assert api_request.encode_body(cancel) is None
    delete = fine_tunes.delete_job_request("ft-1")
    assert (delete.method, delete.path, delete.body) == ("DELETE", "/fine-tunes/ft-1", None)
    assert delete.idempotent is True


def test_logs_request_params_and_bounds() -> None:
    request = fine_tunes.job_logs_request("ft-1")
    assert (request.method, request.path) == ("GET", "/fine-tunes/ft-1/logs")
    assert request.params == {"offset": 0, "line": 100}
    assert fine_tunes.job_logs_request("ft-1", 5, 1000).params == {"offset": 5, "line": 1000}
    assert fine_tunes.job_logs_request("ft-1", 0, 1).params == {"offset": 0, "line": 1}
    for offset, line in [(-1, 10), (0, 0), (0, 1001), (0, "10")]:
        with pytest.raises(DashScopeConfigError):
            fine_tunes.job_logs_request("ft-1", offset, line)
