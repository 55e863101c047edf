"""The fine-tunes resource (``/fine-tunes``): requests to build and answers to parse, with no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from airflow_provider_dashscope._checks.arguments import check_int
from airflow_provider_dashscope._checks.resources import (  # the argument checks, re-exported
    EXAMPLE_JOB_ID as EXAMPLE_JOB_ID,
    JOB_ID_HINT as JOB_ID_HINT,
    validate_job_id,
)
from airflow_provider_dashscope._http.api_request import ApiRequest, path_segment
from airflow_provider_dashscope.exceptions import DashScopeConfigError

if TYPE_CHECKING:
    from airflow_provider_dashscope._config import ClientConfig
    from airflow_provider_dashscope.models import FineTuneJob, FineTuneJobLogs, FineTuneJobPage

#: The most lines one logs request may ask for.
MAX_LOG_LINES = 1000


def _job_request(method: str, job_id: str, suffix: str = "", **kwargs: Any) -> ApiRequest:
    path = f"/fine-tunes/{path_segment(validate_job_id(job_id))}{suffix}"
    return ApiRequest(method, path, resource_key="job_id", resource_id=job_id, **kwargs)


def get_job_request(job_id: str) -> ApiRequest:
    return _job_request("GET", job_id)


def list_jobs_request(page_no: int = 1, page_size: int = 10, model: str | None = None) -> ApiRequest:
    params: dict[str, Any] = {
        "page_no": check_int("page_no", page_no, 1),
        "page_size": check_int("page_size", page_size, 1, 100),
    }
    if model:
        params["model"] = model
    return ApiRequest("GET", "/fine-tunes", params=params)


def _file_ids(name: str, value: Any, *, required: bool) -> list[str]:
    if value is None or value == []:
        if required:
            raise DashScopeConfigError(f"{name} must list at least one uploaded file id")
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v.strip() for v in value):
        raise DashScopeConfigError(f"{name} must be a list of file id strings, got {value!r}")
    return list(value)


def create_job_request(
    *,
    model: str,
    training_file_ids: list[str] | str,
    validation_file_ids: list[str] | str | None = None,
    hyper_parameters: Mapping[str, Any] | None = None,
    training_type: str | None = None,
    job_name: str | None = None,
    model_name: str | None = None,
) -> ApiRequest:
    """``POST /fine-tunes``; not idempotent, so it is retried only when the API certainly did not act."""
    if not isinstance(model, str) or not model.strip():
        raise DashScopeConfigError(f"model must be a non-empty model id such as 'qwen3-14b', got {model!r}")
    if hyper_parameters is not None and not isinstance(hyper_parameters, Mapping):
        raise DashScopeConfigError(f"hyper_parameters must be a dict, got {type(hyper_parameters).__name__}")
    body: dict[str, Any] = {
        "model": model.strip(),
        "training_file_ids": _file_ids("training_file_ids", training_file_ids, required=True),
        "validation_file_ids": _file_ids("validation_file_ids", validation_file_ids, required=False),
        "hyper_parameters": dict(hyper_parameters or {}),
    }
    optional = {"training_type": training_type, "job_name": job_name, "model_name": model_name}
    body.update({key: value for key, value in optional.items() if value})
    return ApiRequest("POST", "/fine-tunes", body=body, idempotent=False)


def cancel_job_request(job_id: str) -> ApiRequest:
    return _job_request("POST", job_id, "/cancel")


def delete_job_request(job_id: str) -> ApiRequest:
    return _job_request("DELETE", job_id)


def job_logs_request(job_id: str, offset: int = 0, line: int = 100) -> ApiRequest:
    params = {"offset": check_int("offset", offset, 0), "line": check_int("line", line, 1, MAX_LOG_LINES)}
    return _job_request("GET", job_id, "/logs", params=params)


def parse_job(output: Any, request_id: str | None, config: ClientConfig) -> FineTuneJob:
    from airflow_provider_dashscope.models import FineTuneJob  # at run time only: a DAG file never loads models

    return FineTuneJob.from_api(output, request_id, time_zone=config.time_zone)


class JobPoll:
    """What a wait sends and reads at every poll of one job, made once per wait: the request, and the job of the
    previous answer, handed back (with the new request id) while the answer stays the same."""

    __slots__ = ("last", "request")

    def __init__(self, job_id: str) -> None:
        self.request = get_job_request(job_id)
        self.last: FineTuneJob | None = None

    def parse(self, output: Any, request_id: str | None, config: ClientConfig) -> FineTuneJob:
        from airflow_provider_dashscope.models import FineTuneJob

        job = FineTuneJob.from_api(output, request_id, time_zone=config.time_zone, unchanged_from=self.last)
        self.last = job
        return job


def parse_page(output: Any, request_id: str | None, config: ClientConfig) -> FineTuneJobPage:
    from airflow_provider_dashscope.models import FineTuneJobPage

    return FineTuneJobPage.from_api(output, request_id, time_zone=config.time_zone)


def parse_logs(output: Any, request_id: str | None, config: ClientConfig) -> FineTuneJobLogs:
    from airflow_provider_dashscope.models import FineTuneJobLogs

    return FineTuneJobLogs.from_api(output, request_id)


def parse_status(output: Any, request_id: str | None, config: ClientConfig) -> str:
    """The status text of a cancel or delete answer (``success``)."""
    if isinstance(output, Mapping) and isinstance(output.get("status"), str):
        return str(output["status"])
    return "success"
