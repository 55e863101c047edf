"""DashScopeHook (sync path) against a scripted HTTP server on 127.0.0.1 that counts what it receives."""

from __future__ import annotations

import dataclasses
import json

import pendulum
import pytest

from airflow_provider_dashscope import __version__
from airflow_provider_dashscope.exceptions import (
    AuthenticationError,
    ConflictError,
    DashScopeConfigError,
    DashScopeError,
    DashScopeTransportError,
    InvalidParameterError,
    NotFoundError,
    PermissionDeniedError,
    ServiceUnavailableError,
    UnsupportedOperationError,
)
from airflow_provider_dashscope.hooks.dashscope import DashScopeHook
from airflow_provider_dashscope.models import FineTuneJob, JobStatus
from tests._servers import Reply, closed_port, error, ok

JOB_ID = "ft-202410291653-1c7f"
JOB = {
    "job_id": JOB_ID,
    "job_name": JOB_ID,
    "status": "SUCCEEDED",
    "finetuned_output": "qwen3-14b-suffix-ft-202410291653-1c7f",
    "model": "qwen3-14b",
    "base_model": "qwen3-14b",
    "training_file_ids": ["976bd01a-f30b-4414-86fd-50c54486e3ef"],
    "validation_file_ids": [],
    "hyper_parameters": {"n_epochs": 3},
    "training_type": "sft",
    "create_time": "2024-10-29 16:53:53",
    "end_time": "2024-10-29 17:11:26",
    "usage": 279808,
}


def _job(job_id: str, status: str = "RUNNING") -> dict:
    return {"job_id": job_id, "status": status, "model": "qwen3-14b"}


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_hook(scripted_server, dashscope_conn, sleeps):
    """A hook on a fresh ``dashscope`` connection pointing at the scripted server; sleeps are recorded, not slept."""

    def make(conn_id: str = "dashscope_test", *, host: str | None = None, hook_kwargs: dict | None = None, **extra):
        extra.setdefault("max_retries", 2)
        extra.setdefault("retry_base_delay", 0.01)
        dashscope_conn(conn_id, host=host or scripted_server.url, **extra)
        hook = DashScopeHook(conn_id, **(hook_kwargs or {}))
        hook._sleep = sleeps.append
        return hook

    return make


# ----------------------------------------------------------------------------------------------------------------
# The API calls
# ----------------------------------------------------------------------------------------------------------------
def test_get_fine_tune_job_returns_the_typed_job(scripted_server, make_hook, canary_key) -> None:
    scripted_server.script("GET", f"/fine-tunes/{JOB_ID}", ok(JOB, request_id="req-get-1"))
    job = make_hook().get_fine_tune_job(JOB_ID)
    assert isinstance(job, FineTuneJob)
    assert job.status is JobStatus.SUCCEEDED
    assert job.finetuned_output == "qwen3-14b-suffix-ft-202410291653-1c7f"
    assert job.usage == 279808
    assert job.request_id == "req-get-1"
    assert job.create_time.utcoffset().total_seconds() == 8 * 3600
    [request] = scripted_server.requests
    assert (request.method, request.path, request.query, request.body) == (
        "GET",
        f"/api/v1/fine-tunes/{JOB_ID}",
        {},
        b"",
    )
    assert request.header("Authorization") == f"Bearer {canary_key}"
    assert request.header("Accept") == "application/json"
    assert request.header("User-Agent").startswith(f"airflow-provider-dashscope/{__version__} apache-airflow/")
    assert request.header("X-DashScope-WorkSpace") is None


def test_time_zone_extra_changes_how_job_times_are_read(scripted_server, make_hook) -> None:
    scripted_server.script("GET", f"/fine-tunes/{JOB_ID}", ok(JOB))
    job = make_hook(time_zone="UTC").get_fine_tune_job(JOB_ID)
    assert job.create_time.isoformat() == "2024-10-29T16:53:53+00:00"


def test_workspace_extra_is_sent_as_the_workspace_header(scripted_server, make_hook) -> None:
    scripted_server.script("GET", f"/fine-tunes/{JOB_ID}", ok(JOB))
    make_hook(workspace="llm-v71tlv").get_fine_tune_job(JOB_ID)
    assert scripted_server.requests[0].header("X-DashScope-WorkSpace") == "llm-v71tlv"


def test_prefixed_form_extras_of_older_airflow_are_honoured(scripted_server, make_hook) -> None:
    scripted_server.script("GET", f"/fine-tunes/{JOB_ID}", ok(JOB))
    make_hook(extra__dashscope__workspace="llm-form").get_fine_tune_job(JOB_ID)
    assert scripted_server.requests[0].header("X-DashScope-WorkSpace") == "llm-form"


def test_job_id_is_url_quoted_on_the_wire(scripted_server, make_hook) -> None:
    scripted_server.script("GET", "/fine-tunes/ft%3A1%25", ok(_job("ft:1%")))
    job = make_hook().get_fine_tune_job("ft:1%")
    assert job.job_id == "ft:1%"
    assert scripted_server.requests[0].raw_path == "/api/v1/fine-tunes/ft%3A1%25"


@pytest.mark.parametrize("bad", ["../deployments", "a/b", "a?b", "a#b", "ft 1", "", "ft\n1"])
@pytest.mark.parametrize(
    "call",
    [
        lambda hook, job_id: hook.get_fine_tune_job(job_id),
        lambda hook, job_id: hook.cancel_fine_tune_job(job_id),
        lambda hook, job_id: hook.delete_fine_tune_job(job_id),
        lambda hook, job_id: hook.get_fine_tune_job_logs(job_id),
        lambda hook, job_id: hook.tail_fine_tune_job_logs(job_id),
    ],
    ids=["get", "cancel", "delete", "logs", "tail"],
)
def test_invalid_job_id_raises_before_any_request(scripted_server, make_hook, call, bad: str) -> None:
    with pytest.raises(ValueError) as info:
        call(make_hook(), bad)
    assert isinstance(info.value, DashScopeConfigError)
    assert repr(bad) in str(info.value) or "empty" in str(info.value)
    assert scripted_server.count() == 0


def test_list_fine_tune_jobs_sends_page_and_model_and_parses_the_page(scripted_server, make_hook) -> None:
    scripted_server.script(
        "GET",
        "/fine-tunes",
        ok({"page_no": 2, "page_size": 5, "total": 7, "jobs": [_job("ft-b"), _job("ft-a", "FAILED")]}, "req-l"),
    )
    page = make_hook().list_fine_tune_jobs(page_no=2, page_size=5, model="qwen3-14b")
    assert (page.page_no, page.page_size, page.total, page.request_id) == (2, 5, 7, "req-l")
    assert [(j.job_id, j.status) for j in page.jobs] == [("ft-b", JobStatus.RUNNING), ("ft-a", JobStatus.FAILED)]
    [request] = scripted_server.requests
    assert request.query == {"page_no": ["2"], "page_size": ["5"], "model": ["qwen3-14b"]}


def test_list_fine_tune_jobs_refuses_a_page_size_over_100_before_any_request(scripted_server, make_hook) -> None:
    with pytest.raises(DashScopeConfigError, match="page_size"):
        make_hook().list_fine_tune_jobs(page_size=101)
    assert scripted_server.count() == 0


def test_iter_fine_tune_jobs_walks_every_page_and_yields_each_job_once(scripted_server, make_hook) -> None:
    # ft-3 is pushed from page 1 to page 2 by a new job while paging: it must be yielded once.
    scripted_server.script(
        "GET",
        "/fine-tunes",
        ok({"page_no": 1, "page_size": 2, "total": 5, "jobs": [_job("ft-5"), _job("ft-3")]}),
        ok({"page_no": 2, "page_size": 2, "total": 6, "jobs": [_job("ft-3"), _job("ft-2")]}),
        ok({"page_no": 3, "page_size": 2, "total": 6, "jobs": [_job("ft-1"), _job("ft-0")]}),
        error(599, "Unexpected", "a fourth page must not be requested"),
    )
    jobs = list(make_hook().iter_fine_tune_jobs(page_size=2, model="qwen3-14b"))
    assert [j.job_id for j in jobs] == ["ft-5", "ft-3", "ft-2", "ft-1", "ft-0"]
    assert [r.query["page_no"] for r in scripted_server.requests] == [["1"], ["2"], ["3"]]
    assert all(r.query["page_size"] == ["2"] and r.query["model"] == ["qwen3-14b"] for r in scripted_server.requests)


def test_iter_fine_tune_jobs_stops_on_an_empty_page(scripted_server, make_hook) -> None:
    scripted_server.script(
        "GET",
        "/fine-tunes",
        ok({"page_no": 1, "page_size": 2, "total": 99, "jobs": [_job("ft-2"), _job("ft-1")]}),
        ok({"page_no": 2, "page_size": 2, "total": 99, "jobs": []}),
        error(599, "Unexpected", "a third page must not be requested"),
    )
    assert [j.job_id for j in make_hook().iter_fine_tune_jobs(page_size=2)] == ["ft-2", "ft-1"]
    assert scripted_server.count() == 2


def test_iter_fine_tune_jobs_without_a_total_stops_at_a_short_page(scripted_server, make_hook) -> None:
    scripted_server.script(
        "GET",
        "/fine-tunes",
        ok({"jobs": [_job("ft-3"), _job("ft-2")]}),
        ok({"jobs": [_job("ft-1")]}),
        error(599, "Unexpected", "a third page must not be requested"),
    )
    assert [j.job_id for j in make_hook().iter_fine_tune_jobs(page_size=2)] == ["ft-3", "ft-2", "ft-1"]
    assert scripted_server.count() == 2


def test_iter_fine_tune_jobs_stops_at_the_first_job_created_before_created_after(scripted_server, make_hook) -> None:
    scripted_server.script(
        "GET",
        "/fine-tunes",
        ok(
            {
                "total": 40,
                "jobs": [
                    {**_job("ft-new"), "create_time": "2024-10-29 16:53:53"},
                    {**_job("ft-old"), "create_time": "2024-10-28 09:00:00"},
                    {**_job("ft-older"), "create_time": "2024-10-27 09:00:00"},
                ],
            }
        ),
        error(599, "Unexpected", "a second page must not be requested"),
    )
    cutoff = pendulum.datetime(2024, 10, 29, 0, 0, 0, tz="Asia/Shanghai")
    jobs = list(make_hook().iter_fine_tune_jobs(page_size=3, created_after=cutoff))
    assert [j.job_id for j in jobs] == ["ft-new"]
    assert scripted_server.count() == 1


def test_create_fine_tune_job_posts_the_documented_body(scripted_server, make_hook) -> None:
    created = {**_job("ft-202601010000-abcd", "PENDING"), "training_file_ids": ["file-1"]}
    scripted_server.script("POST", "/fine-tunes", ok(created, "req-c"))
    job = make_hook().create_fine_tune_job(
        model="qwen3-14b",
        training_file_ids=["file-1"],
        hyper_parameters={"n_epochs": 3, "learning_rate": "1.6e-5"},
        training_type="sft",
        model_name="my-model",
    )
    assert (job.job_id, job.status, job.request_id) == ("ft-202601010000-abcd", JobStatus.PENDING, "req-c")
    [request] = scripted_server.requests
    assert request.method == "POST" and request.path == "/api/v1/fine-tunes"
    assert request.header("Content-Type") == "application/json"
    assert request.json() == {
        "model": "qwen3-14b",
        "training_file_ids": ["file-1"],
        "validation_file_ids": [],
        "hyper_parameters": {"n_epochs": 3, "learning_rate": "1.6e-5"},
        "training_type": "sft",
        "model_name": "my-model",
    }


def test_cancel_fine_tune_job_posts_to_cancel_and_returns_the_status_text(scripted_server, make_hook) -> None:
    scripted_server.script("POST", f"/fine-tunes/{JOB_ID}/cancel", ok({"status": "success"}))
    assert make_hook().cancel_fine_tune_job(JOB_ID) == "success"
    [request] = scripted_server.requests
    assert (request.method, request.path, request.body) == ("POST", f"/api/v1/fine-tunes/{JOB_ID}/cancel", b"")


def test_cancel_of_a_finished_job_raises_unsupported_operation_once(scripted_server, make_hook) -> None:
    message = "The fine-tuning job cannot be canceled because it has already succeeded, failed, or been canceled."
    scripted_server.script("POST", f"/fine-tunes/{JOB_ID}/cancel", error(400, "UnsupportedOperation", message, "req-u"))
    with pytest.raises(UnsupportedOperationError) as info:
        make_hook().cancel_fine_tune_job(JOB_ID)
    assert (info.value.status_code, info.value.message, info.value.request_id) == (400, message, "req-u")
    assert scripted_server.count() == 1


def test_delete_fine_tune_job_sends_delete(scripted_server, make_hook) -> None:
    scripted_server.script("DELETE", f"/fine-tunes/{JOB_ID}", ok({"status": "success"}))
    assert make_hook().delete_fine_tune_job(JOB_ID) == "success"
    assert [(r.method, r.path) for r in scripted_server.requests] == [("DELETE", f"/api/v1/fine-tunes/{JOB_ID}")]


def test_get_fine_tune_job_logs_sends_offset_and_line(scripted_server, make_hook) -> None:
    lines = ["2024-10-29 17:11:25,130 - INFO - training usage 279808", "##FT_COMPLETE##"]
    scripted_server.script("GET", f"/fine-tunes/{JOB_ID}/logs", ok({"total": 20, "logs": lines}, "req-logs"))
    logs = make_hook().get_fine_tune_job_logs(JOB_ID, offset=18, line=2)
    assert (logs.total, logs.lines, logs.request_id) == (20, tuple(lines), "req-logs")
    assert scripted_server.requests[0].query == {"offset": ["18"], "line": ["2"]}


def test_tail_fine_tune_job_logs_asks_for_the_total_then_the_last_lines(scripted_server, make_hook) -> None:
    scripted_server.script(
        "GET",
        f"/fine-tunes/{JOB_ID}/logs",
        ok({"total": 20, "logs": ["line 1"]}),
        ok({"total": 20, "logs": ["line 18", "line 19", "##FT_COMPLETE##"]}),
    )
    assert make_hook().tail_fine_tune_job_logs(JOB_ID, lines=3) == ["line 18", "line 19", "##FT_COMPLETE##"]
    assert [r.query for r in scripted_server.requests] == [
        {"offset": ["0"], "line": ["1"]},
        {"offset": ["17"], "line": ["3"]},
    ]


def test_tail_of_a_short_log_starts_at_zero(scripted_server, make_hook) -> None:
    scripted_server.script(
        "GET", f"/fine-tunes/{JOB_ID}/logs", ok({"total": 2, "logs": ["a"]}), ok({"total": 2, "logs": ["a", "b"]})
    )
    assert make_hook().tail_fine_tune_job_logs(JOB_ID, lines=20) == ["a", "b"]
    assert scripted_server.requests[1].query == {"offset": ["0"], "line": ["20"]}


# ----------------------------------------------------------------------------------------------------------------
# Retries
# ----------------------------------------------------------------------------------------------------------------
def test_503_twice_then_200_is_retried_with_one_warning_per_retry(
    scripted_server, make_hook, sleeps, log_lines, canary_key
) -> None:
    path = f"/fine-tunes/{JOB_ID}"
    scripted_server.script(
        "GET",
        path,
        error(503, "ServiceUnavailable", "busy", "req-503-a"),
        error(503, "ServiceUnavailable", "busy", "req-503-b"),
        ok(JOB),
    )
    job = make_hook(max_retries=4, retry_base_delay=0.5, retry_max_delay=10).get_fine_tune_job(JOB_ID)
    assert job.job_id == JOB_ID
    assert scripted_server.count("GET", path) == 3
    assert len(sleeps) == 2
    assert 0.25 <= sleeps[0] <= 0.5 and 0.5 <= sleeps[1] <= 1.0  # capped exponential backoff with equal jitter
    retry_lines = [line for line in log_lines.lines("warning") if "retrying" in line]
    assert len(retry_lines) == 2
    assert "attempt 1 of 5" in retry_lines[0] and "req-503-a" in retry_lines[0] and "503" in retry_lines[0]
    assert "attempt 2 of 5" in retry_lines[1] and "req-503-b" in retry_lines[1] and "503" in retry_lines[1]
    assert all(canary_key not in line for line in log_lines.lines())


def test_429_retry_after_is_honoured(scripted_server, make_hook, sleeps) -> None:
    path = f"/fine-tunes/{JOB_ID}"
    scripted_server.script("GET", path, error(429, "Throttling", "slow down", "req-429", Retry_After="7"), ok(JOB))
    make_hook(retry_max_delay=30).get_fine_tune_job(JOB_ID)
    assert sleeps == [7.0]
    assert scripted_server.count() == 2


def test_retry_after_longer_than_the_cap_is_capped(scripted_server, make_hook, sleeps) -> None:
    scripted_server.script(
        "GET", f"/fine-tunes/{JOB_ID}", error(503, "ServiceUnavailable", "later", Retry_After="3600"), ok(JOB)
    )
    make_hook(retry_max_delay=2.5).get_fine_tune_job(JOB_ID)
    assert sleeps == [2.5]


def test_404_is_never_retried(scripted_server, make_hook, sleeps) -> None:
    scripted_server.script("GET", f"/fine-tunes/{JOB_ID}", error(404, "NotFound", "Not Found!", "req-404"))
    with pytest.raises(NotFoundError) as info:
        make_hook(max_retries=4).get_fine_tune_job(JOB_ID)
    assert (info.value.status_code, info.value.code, info.value.request_id) == (404, "NotFound", "req-404")
    assert JOB_ID in str(info.value)
    assert scripted_server.count() == 1
    assert sleeps == []


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, "InvalidParameter", InvalidParameterError),
        (401, "InvalidApiKey", AuthenticationError),
        (403, "AccessDenied", PermissionDeniedError),
        (409, "Conflict", ConflictError),
    ],
)
def test_client_errors_are_not_retried(scripted_server, make_hook, sleeps, status, code, cls) -> None:
    scripted_server.script("GET", f"/fine-tunes/{JOB_ID}", error(status, code, "no", "req-x"))
    with pytest.raises(cls) as info:
        make_hook(max_retries=4).get_fine_tune_job(JOB_ID)
    assert info.value.status_code == status and info.value.code == code
    assert scripted_server.count() == 1
    assert sleeps == []


@pytest.mark.parametrize("max_retries", [0, 2])
def test_exhausted_budget_raises_the_typed_error_after_max_retries_plus_one_requests(
    scripted_server, make_hook, sleeps, max_retries: int
) -> None:
    scripted_server.script("GET", f"/fine-tunes/{JOB_ID}", error(500, "InternalError", "Internal server error!", "r"))
    with pytest.raises(DashScopeError) as info:
        make_hook(max_retries=max_retries).get_fine_tune_job(JOB_ID)
    assert info.value.status_code == 500
    assert "Internal server error!" in str(info.value)
    assert scripted_server.count() == max_retries + 1
    assert len(sleeps) == max_retries


def test_hook_max_retries_argument_overrides_the_connection(scripted_server, make_hook) -> None:
    scripted_server.script("GET", f"/fine-tunes/{JOB_ID}", error(503, "ServiceUnavailable", "busy"))
    with pytest.raises(ServiceUnavailableError):
        make_hook(max_retries=4, hook_kwargs={"max_retries": 1}).get_fine_tune_job(JOB_ID)
    assert scripted_server.count() == 2


def test_create_is_not_retried_on_503(scripted_server, make_hook, sleeps) -> None:
    scripted_server.script("POST", "/fine-tunes", error(503, "ServiceUnavailable", "busy"), ok(_job("ft-new")))
    with pytest.raises(ServiceUnavailableError):
        make_hook(max_retries=4).create_fine_tune_job(model="qwen3-14b", training_file_ids=["file-1"])
    assert scripted_server.count("POST", "/fine-tunes") == 1
    assert sleeps == []


def test_create_is_retried_on_429(scripted_server, make_hook, sleeps) -> None:
    scripted_server.script(
        "POST",
        "/fine-tunes",
        error(429, "Throttling", "Too many fine-tune job in running, please retry later.", Retry_After="1"),
        ok(_job("ft-new", "PENDING")),
    )
    job = make_hook(max_retries=4).create_fine_tune_job(model="qwen3-14b", training_file_ids=["file-1"])
    assert job.job_id == "ft-new"
    assert scripted_server.count("POST", "/fine-tunes") == 2
    assert sleeps == [1.0]
    first, second = scripted_server.requests
    assert first.body == second.body  # the same request, resent


def test_create_is_not_retried_after_a_read_timeout(scripted_server, make_hook) -> None:
    scripted_server.script("POST", "/fine-tunes", Reply(200, {"output": _job("ft-x")}, delay=0.6))
    with pytest.raises(DashScopeTransportError) as info:
        make_hook(max_retries=3, hook_kwargs={"timeout": 0.2}).create_fine_tune_job(
            model="qwen3-14b", training_file_ids=["file-1"]
        )
    assert info.value.timeout is True
    assert scripted_server.count() == 1  # the server may have created the job: never send it twice


def test_create_is_retried_when_the_connection_is_refused(make_hook, sleeps) -> None:
    hook = make_hook(host=f"http://127.0.0.1:{closed_port()}", max_retries=2)
    with pytest.raises(DashScopeTransportError) as info:
        hook.create_fine_tune_job(model="qwen3-14b", training_file_ids=["file-1"])
    assert info.value.connect_failed is True
    assert len(sleeps) == 2


# ----------------------------------------------------------------------------------------------------------------
# Bad answers and transport failures
# ----------------------------------------------------------------------------------------------------------------
HTML_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n"
    + "<hr><center>nginx</center>\r\n"
    + "<!-- a padding comment to make the page long enough to be cut -->\r\n" * 10
    + "</body>\r\n</html>\r\n"
)


def test_html_502_from_a_gateway_is_a_typed_error_with_an_excerpt(scripted_server, make_hook) -> None:
    scripted_server.script(
        "GET",
        f"/fine-tunes/{JOB_ID}",
        Reply(502, HTML_502, headers={"Content-Type": "text/html", "x-request-id": "gw-req-1"}),
    )
    with pytest.raises(ServiceUnavailableError) as info:
        make_hook(max_retries=1).get_fine_tune_job(JOB_ID)
    err = info.value
    assert err.status_code == 502
    assert err.request_id == "gw-req-1"
    assert "502 Bad Gateway" in err.message
    assert len(err.message) < 260
    assert scripted_server.count() == 2  # 502 is transient: retried once, then raised


def test_200_that_is_not_json_is_an_invalid_response(scripted_server, make_hook) -> None:
    scripted_server.script("GET", f"/fine-tunes/{JOB_ID}", Reply(200, "<html>maintenance</html>"))
    with pytest.raises(DashScopeError, match="not JSON"):
        make_hook(max_retries=0).get_fine_tune_job(JOB_ID)


@pytest.fixture
def small_limit_hook(make_hook):
    """A hook whose response size limit is 1 KiB (the default is 16 MiB)."""
    hook = make_hook(max_retries=2)
    hook._config = dataclasses.replace(hook.config, max_response_bytes=1024)
    return hook


def test_response_declaring_more_than_the_size_limit_is_refused(scripted_server, small_limit_hook) -> None:
    scripted_server.script("GET", f"/fine-tunes/{JOB_ID}", Reply(200, b"{}", content_length=5_000_000))
    with pytest.raises(DashScopeTransportError, match="1024-byte limit"):
        small_limit_hook.get_fine_tune_job(JOB_ID)


def test_streamed_response_over_the_size_limit_is_refused(scripted_server, small_limit_hook) -> None:
    big = json.dumps({"output": {**JOB, "padding": "x" * 5000}})
    scripted_server.script("GET", f"/fine-tunes/{JOB_ID}", Reply(200, big, close_delimited=True))
    with pytest.raises(DashScopeTransportError, match="over the 1024-byte limit"):
        small_limit_hook.get_fine_tune_job(JOB_ID)


def test_response_over_the_size_limit_is_not_retried(scripted_server, small_limit_hook) -> None:
    scripted_server.script("GET", f"/fine-tunes/{JOB_ID}", Reply(200, b"{}", content_length=5_000_000))
    with pytest.raises(DashScopeError):
        small_limit_hook.get_fine_tune_job(JOB_ID)
    assert scripted_server.count() == 1


def test_read_timeout_is_a_transport_error_and_is_retried(scripted_server, make_hook, sleeps) -> None:
    scripted_server.script("GET", f"/fine-tunes/{JOB_ID}", Reply(200, {"output": JOB}, delay=0.6))
    with pytest.raises(DashScopeTransportError) as info:
        make_hook(max_retries=1, hook_kwargs={"timeout": 0.2}).get_fine_tune_job(JOB_ID)
    err = info.value
    assert err.timeout is True and err.connect_failed is False
    assert "timed out" in str(err) and JOB_ID in str(err)
    assert scripted_server.count() == 2
    assert len(sleeps) == 1


def test_slow_drip_body_is_abandoned_at_the_total_deadline(scripted_server, make_hook) -> None:
    body = b'{"output": {"status": "x"}}'  # 27 bytes at 0.05 s each: 1.35 s, never idle for 0.3 s
    scripted_server.script("GET", f"/fine-tunes/{JOB_ID}", Reply(200, body, drip=0.05))
    hook = make_hook(max_retries=0, timeout=0.3, connect_timeout=0.1)
    with pytest.raises(DashScopeTransportError) as info:
        hook.get_fine_tune_job(JOB_ID)
    # Read in full, the body would have been an answer; the total deadline (0.1 + 0.3 s) cut it off first.
    assert info.value.timeout and "took longer than 0.4 s" in str(info.value)


def test_read_timeout_in_the_middle_of_the_body_is_reported_as_a_timeout(scripted_server, make_hook) -> None:
    scripted_server.script("GET", f"/fine-tunes/{JOB_ID}", Reply(200, b'{"output": {}}', drip=0.6))
    with pytest.raises(DashScopeTransportError) as info:
        make_hook(max_retries=0, timeout=0.2).get_fine_tune_job(JOB_ID)
    assert info.value.timeout is True
    assert "timed out" in str(info.value)


def test_timeout_extra_sets_the_read_timeout(scripted_server, make_hook) -> None:
    scripted_server.script("GET", f"/fine-tunes/{JOB_ID}", Reply(200, {"output": JOB}, delay=0.6))
    with pytest.raises(DashScopeTransportError, match="timed out"):
        make_hook(max_retries=0, timeout=0.2).get_fine_tune_job(JOB_ID)


def test_connection_refused_is_a_transport_error_after_all_retries(make_hook, sleeps, log_lines) -> None:
    port = closed_port()
    with pytest.raises(DashScopeTransportError) as info:
        make_hook(host=f"http://127.0.0.1:{port}", max_retries=2).get_fine_tune_job(JOB_ID)
    err = info.value
    assert err.connect_failed is True
    assert "could not connect" in str(err)
    assert err.url == f"http://127.0.0.1:{port}/api/v1/fine-tunes/{JOB_ID}"
    assert len(sleeps) == 2
    assert len([line for line in log_lines.lines("warning") if "retrying" in line]) == 2


# ----------------------------------------------------------------------------------------------------------------
# Connection, environment fallback and secrets
# ----------------------------------------------------------------------------------------------------------------
def test_environment_is_used_when_the_connection_does_not_exist(scripted_server, monkeypatch, canary_key) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", canary_key)
    monkeypatch.setenv("DASHSCOPE_HTTP_BASE_URL", scripted_server.base_url)
    scripted_server.script("GET", f"/fine-tunes/{JOB_ID}", ok(JOB))
    hook = DashScopeHook("dashscope_env_only")
    assert hook.get_fine_tune_job(JOB_ID).job_id == JOB_ID
    assert hook.config.source == "the environment"
    assert hook.config.base_url == scripted_server.base_url
    assert scripted_server.requests[0].header("Authorization") == f"Bearer {canary_key}"


def test_environment_key_alone_uses_the_default_endpoint(monkeypatch, canary_key) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", canary_key)
    assert DashScopeHook("dashscope_env_default").config.base_url == "https://dashscope-intl.aliyuncs.com/api/v1"


def test_connection_wins_over_the_environment(scripted_server, dashscope_conn, monkeypatch) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-from-the-environment")
    monkeypatch.setenv("DASHSCOPE_HTTP_BASE_URL", f"http://127.0.0.1:{closed_port()}")
    dashscope_conn("dashscope_both", host=scripted_server.url, password="sk-from-the-connection")
    scripted_server.script("GET", f"/fine-tunes/{JOB_ID}", ok(JOB))
    DashScopeHook("dashscope_both").get_fine_tune_job(JOB_ID)
    assert scripted_server.requests[0].header("Authorization") == "Bearer sk-from-the-connection"


def test_neither_connection_nor_environment_names_what_to_set() -> None:
    with pytest.raises(DashScopeConfigError) as info:
        DashScopeHook("dashscope_nowhere").get_fine_tune_job(JOB_ID)
    text = str(info.value)
    assert "'dashscope_nowhere'" in text
    assert "password" in text
    assert "DASHSCOPE_API_KEY" in text
    assert "AIRFLOW_CONN_DASHSCOPE_NOWHERE" in text


@pytest.fixture
def fresh_fallback_notes(monkeypatch):
    """The environment fallback is announced once per process: start each test with none announced."""
    from airflow_provider_dashscope.hooks import dashscope as hook_module

    monkeypatch.setattr(hook_module, "_ANNOUNCED_FALLBACKS", set())


def test_a_connection_id_with_a_typo_asks_did_you_mean_without_a_chained_traceback(dashscope_conn) -> None:
    dashscope_conn("dashscope_default", host="http://127.0.0.1:8089")
    with pytest.raises(DashScopeConfigError) as info:
        DashScopeHook("dashscope_defualt").get_fine_tune_job(JOB_ID)
    assert str(info.value) == (
        "connection 'dashscope_defualt' does not exist; did you mean 'dashscope_default'? It is a 'dashscope' "
        "connection Airflow can see: set dashscope_conn_id='dashscope_default'"
    )
    # raised outside the except block of the lookup: a task log shows one traceback, not two
    assert info.value.__context__ is None and info.value.__cause__ is None


def test_a_connection_id_with_a_typo_stops_even_with_the_key_exported(
    scripted_server, dashscope_conn, monkeypatch, canary_key, log_lines, fresh_fallback_notes
) -> None:
    dashscope_conn("dashscope_default", host="http://127.0.0.1:8089")
    monkeypatch.setenv("DASHSCOPE_API_KEY", canary_key)
    with pytest.raises(DashScopeConfigError) as info:
        DashScopeHook("dashscope_defualt").get_fine_tune_job(JOB_ID)
    assert str(info.value) == (
        "connection 'dashscope_defualt' does not exist; did you mean 'dashscope_default'? It is a 'dashscope' "
        "connection Airflow can see: set dashscope_conn_id='dashscope_default' (DASHSCOPE_API_KEY is set, but a "
        "typo is not a request for it)"
    )
    assert canary_key not in str(info.value)


def test_a_missing_connection_id_with_no_close_match_and_the_key_exported_says_what_it_uses_once(
    scripted_server, dashscope_conn, monkeypatch, canary_key, log_lines, fresh_fallback_notes
) -> None:
    dashscope_conn("dashscope_default", host="http://127.0.0.1:8089")
    monkeypatch.setenv("DASHSCOPE_API_KEY", canary_key)
    DashScopeHook("team_b_account").config  # noqa: B018 - resolving it is the point
    DashScopeHook("team_b_account", max_retries=0).config  # noqa: B018 - a task's second hook: said once
    assert log_lines.lines("warning") == [
        "Connection 'team_b_account' was not found: using DASHSCOPE_API_KEY "
        "and https://dashscope-intl.aliyuncs.com/api/v1 instead"
    ]
    assert canary_key not in " ".join(log_lines.lines())


def test_the_default_connection_id_falling_back_to_the_key_is_an_info_line(
    monkeypatch, canary_key, log_lines, fresh_fallback_notes
) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", canary_key)
    monkeypatch.setenv("DASHSCOPE_HTTP_BASE_URL", "http://127.0.0.1:8089/api/v1")
    DashScopeHook().config  # noqa: B018
    assert log_lines.lines("warning") == []
    assert (
        "Connection 'dashscope_default' was not found: using DASHSCOPE_API_KEY and DASHSCOPE_HTTP_BASE_URL "
        "(http://127.0.0.1:8089/api/v1) instead"
    ) in log_lines.lines("info")


def test_connection_without_password_names_the_connection_and_the_field(scripted_server, dashscope_conn) -> None:
    dashscope_conn("dashscope_nokey", host=scripted_server.url, password=None)
    with pytest.raises(DashScopeConfigError) as info:
        DashScopeHook("dashscope_nokey").get_fine_tune_job(JOB_ID)
    assert "connection 'dashscope_nokey'" in str(info.value)
    assert "password" in str(info.value)
    assert scripted_server.count() == 0


def test_plain_http_to_a_remote_host_is_refused_before_any_request(dashscope_conn) -> None:
    dashscope_conn("dashscope_plain", host="http://dashscope.aliyuncs.com")
    with pytest.raises(DashScopeConfigError) as info:
        DashScopeHook("dashscope_plain").get_fine_tune_job(JOB_ID)
    assert "connection 'dashscope_plain' host" in str(info.value)
    assert "https://" in str(info.value)


def test_region_extra_sets_the_base_url_and_the_console_link(dashscope_conn) -> None:
    dashscope_conn("dashscope_bj", region="cn-beijing")
    hook = DashScopeHook("dashscope_bj")
    assert hook.config.base_url == "https://dashscope.aliyuncs.com/api/v1"
    assert hook.console_url(JOB_ID).startswith("https://bailian.console.aliyun.com/")
    assert hook.console_url(JOB_ID).endswith(f"jobId={JOB_ID}")


def test_empty_connection_id_is_refused() -> None:
    with pytest.raises(DashScopeConfigError, match="dashscope_conn_id"):
        DashScopeHook("")


def test_api_key_never_appears_in_errors_logs_or_reprs(
    scripted_server, make_hook, log_lines, canary_key, monkeypatch
) -> None:
    texts: list[str] = []
    hook = make_hook(max_retries=1)
    scripted_server.script("GET", "/fine-tunes/ft-404", error(404, "NotFound", "Not Found!"))
    scripted_server.script("GET", "/fine-tunes/ft-503", error(503, "ServiceUnavailable", "busy"))
    scripted_server.script("GET", "/fine-tunes/ft-html", Reply(502, HTML_502))
    scripted_server.script("GET", "/fine-tunes/ft-slow", Reply(200, {"output": JOB}, delay=0.6))
    for job_id in ("ft-404", "ft-503", "ft-html", "../escape"):
        with pytest.raises(DashScopeError) as info:
            hook.get_fine_tune_job(job_id)
        texts += [str(info.value), repr(info.value)]
    with pytest.raises(DashScopeTransportError) as info:
        make_hook("dashscope_slow", max_retries=0, hook_kwargs={"timeout": 0.2}).get_fine_tune_job("ft-slow")
    texts += [str(info.value), repr(info.value)]
    refused = make_hook("dashscope_refused", host=f"http://127.0.0.1:{closed_port()}", max_retries=1)
    with pytest.raises(DashScopeTransportError) as info:
        refused.get_fine_tune_job(JOB_ID)
    texts += [str(info.value), repr(info.value)]
    ok_flag, message = hook.test_connection()
    texts += [message, repr(hook), str(hook), repr(hook.config), repr(refused)]
    monkeypatch.setenv("DASHSCOPE_API_KEY", canary_key)
    env_hook = DashScopeHook("dashscope_env_repr")
    texts += [repr(env_hook), repr(env_hook.config)]
    logged = log_lines.lines()
    assert len([line for line in logged if "retrying" in line]) >= 3  # the logs were really captured
    for text in texts + logged:
        assert canary_key not in text
    assert ok_flag is False


def test_a_netrc_entry_for_the_api_host_does_not_replace_the_api_key(
    scripted_server, make_hook, monkeypatch, tmp_path, canary_key
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password other-secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    scripted_server.script("GET", f"/fine-tunes/{JOB_ID}", ok(JOB))
    make_hook().get_fine_tune_job(JOB_ID)
    assert scripted_server.requests[0].header("Authorization") == f"Bearer {canary_key}"


def test_test_connection_is_true_with_a_summary_on_success(scripted_server, make_hook) -> None:
    scripted_server.script("GET", "/fine-tunes", ok({"page_no": 1, "page_size": 1, "total": 12, "jobs": [_job("a")]}))
    hook = make_hook()
    assert hook.test_connection() == (True, f"Connected to {scripted_server.base_url}; 12 fine-tune job(s) visible.")
    [request] = scripted_server.requests
    assert request.query == {"page_no": ["1"], "page_size": ["1"]}
    assert request.header("Authorization").startswith("Bearer ")


def test_test_connection_without_a_total_still_succeeds(scripted_server, make_hook) -> None:
    scripted_server.script("GET", "/fine-tunes", ok({"jobs": []}))
    assert make_hook().test_connection() == (True, f"Connected to {scripted_server.base_url}; listing works.")


def test_test_connection_is_false_with_the_reason_on_a_bad_key(scripted_server, make_hook) -> None:
    scripted_server.script("GET", "/fine-tunes", error(401, "InvalidApiKey", "Invalid API-key provided.", "req-k"))
    ok_flag, message = make_hook().test_connection()
    assert ok_flag is False
    assert "HTTP 401" in message and "InvalidApiKey" in message and "req-k" in message
    assert scripted_server.count() == 1


def test_one_session_per_hook_reused_with_keep_alive(scripted_server, make_hook) -> None:
    scripted_server.script("GET", f"/fine-tunes/{JOB_ID}", ok(JOB))
    scripted_server.script("GET", "/fine-tunes", ok({"total": 0, "jobs": []}))
    hook = make_hook()
    session = hook.get_conn()
    hook.get_fine_tune_job(JOB_ID)
    hook.list_fine_tune_jobs()
    hook.get_fine_tune_job(JOB_ID)
    assert hook.get_conn() is session
    ports = {r.client_port for r in scripted_server.requests}
    assert len(scripted_server.requests) == 3 and len(ports) == 1  # one TCP connection carried all three calls
    other = make_hook("dashscope_other")
    other.get_fine_tune_job(JOB_ID)
    assert other.get_conn() is not session
    assert scripted_server.requests[-1].client_port not in ports
    hook.close()
    assert hook.get_conn() is not session
