"""DashScopeHook (async path, aiohttp) against the scripted server, and the per-event-loop shared session."""

from __future__ import annotations

import asyncio
import gc
import logging
import warnings

import pytest

from airflow_provider_dashscope._http import async_transport as _aio
from airflow_provider_dashscope.exceptions import (
    DashScopeConfigError,
    DashScopeTransportError,
    NotFoundError,
    ServiceUnavailableError,
    ThrottlingError,
)
from airflow_provider_dashscope.hooks.dashscope import DashScopeHook
from airflow_provider_dashscope.models import JobStatus
from tests._servers import Reply, closed_port, error, ok

JOB_ID = "ft-202410291653-1c7f"
JOB = {
    "job_id": JOB_ID,
    "status": "RUNNING",
    "model": "qwen3-14b",
    "create_time": "2024-10-29 16:53:53",
}


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_hook(scripted_server, dashscope_conn, sleeps):
    """An async-ready hook on a fresh connection; ``await asyncio.sleep`` calls are recorded instead of slept."""

    async def record_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    def make(conn_id: str = "dashscope_async", *, host: str | None = None, hook_kwargs: dict | None = None, **extra):
        extra.setdefault("max_retries", 2)
        extra.setdefault("retry_base_delay", 0.01)
        dashscope_conn(conn_id, host=host or scripted_server.url, **extra)
        hook = DashScopeHook(conn_id, **(hook_kwargs or {}))
        hook._asleep = record_sleep
        return hook

    return make


async def test_aget_fine_tune_job_returns_the_typed_job(scripted_server, make_hook, canary_key) -> None:
    scripted_server.script("GET", f"/fine-tunes/{JOB_ID}", ok(JOB, request_id="req-a1"))
    job = await make_hook(time_zone="UTC", workspace="llm-ws").aget_fine_tune_job(JOB_ID)
    assert (job.job_id, job.status, job.request_id) == (JOB_ID, JobStatus.RUNNING, "req-a1")
    assert job.create_time.isoformat() == "2024-10-29T16:53:53+00:00"
    [request] = scripted_server.requests
    assert (request.method, request.path) == ("GET", f"/api/v1/fine-tunes/{JOB_ID}")
    assert request.header("Authorization") == f"Bearer {canary_key}"
    assert request.header("X-DashScope-WorkSpace") == "llm-ws"
    assert request.header("User-Agent").startswith("airflow-provider-dashscope/")
    assert _aio.open_session_count() == 0  # the only user left, so the loop's session is closed


async def test_acancel_fine_tune_job_posts_to_cancel(scripted_server, make_hook) -> None:
    scripted_server.script("POST", f"/fine-tunes/{JOB_ID}/cancel", ok({"status": "success"}))
    assert await make_hook().acancel_fine_tune_job(JOB_ID) == "success"
    [request] = scripted_server.requests
    assert (request.method, request.path, request.body) == ("POST", f"/api/v1/fine-tunes/{JOB_ID}/cancel", b"")


async def test_alist_fine_tune_jobs_sends_the_page_query(scripted_server, make_hook) -> None:
    scripted_server.script(
        "GET", "/fine-tunes", ok({"page_no": 3, "page_size": 2, "total": 9, "jobs": [JOB, {**JOB, "job_id": "ft-2"}]})
    )
    page = await make_hook().alist_fine_tune_jobs(page_no=3, page_size=2, model="qwen3-14b")
    assert (page.page_no, page.total, [j.job_id for j in page.jobs]) == (3, 9, [JOB_ID, "ft-2"])
    assert scripted_server.requests[0].query == {"page_no": ["3"], "page_size": ["2"], "model": ["qwen3-14b"]}


async def test_async_job_id_is_url_quoted_and_validated_before_any_request(scripted_server, make_hook) -> None:
    scripted_server.script("GET", "/fine-tunes/ft-%C3%BC%251", ok({**JOB, "job_id": "ft-ü%1"}))
    hook = make_hook()
    assert (await hook.aget_fine_tune_job("ft-ü%1")).job_id == "ft-ü%1"
    assert scripted_server.requests[0].raw_path == "/api/v1/fine-tunes/ft-%C3%BC%251"
    for bad in ("../deployments", "a/b", "", None):
        with pytest.raises(DashScopeConfigError):
            await hook.aget_fine_tune_job(bad)
        with pytest.raises(DashScopeConfigError):
            await hook.acancel_fine_tune_job(bad)
    assert scripted_server.count() == 1


@pytest.mark.parametrize(("job_id", "quoted"), [("ft:1", "ft%3A1"), ("a;b=c", "a%3Bb%3Dc")])
async def test_async_path_sends_the_job_id_quoted_exactly_like_the_sync_path(
    scripted_server, make_hook, job_id: str, quoted: str
) -> None:
    scripted_server.script("GET", f"/fine-tunes/{quoted}", ok({**JOB, "job_id": job_id}))
    hook = make_hook(max_retries=0)
    hook.get_fine_tune_job(job_id)
    assert scripted_server.requests[0].raw_path == f"/api/v1/fine-tunes/{quoted}"
    await hook.aget_fine_tune_job(job_id)
    assert scripted_server.requests[1].raw_path == f"/api/v1/fine-tunes/{quoted}"


async def test_async_retries_503_twice_then_succeeds(scripted_server, make_hook, sleeps, log_lines, canary_key):
    path = f"/fine-tunes/{JOB_ID}"
    scripted_server.script(
        "GET",
        path,
        error(503, "ServiceUnavailable", "busy", "req-a-503-1"),
        error(503, "ServiceUnavailable", "busy", "req-a-503-2"),
        ok(JOB),
    )
    job = await make_hook(max_retries=3, retry_base_delay=0.5).aget_fine_tune_job(JOB_ID)
    assert job.job_id == JOB_ID
    assert scripted_server.count("GET", path) == 3
    assert len(sleeps) == 2 and 0.25 <= sleeps[0] <= 0.5 and 0.5 <= sleeps[1] <= 1.0
    retry_lines = [line for line in log_lines.lines("warning") if "retrying" in line]
    assert len(retry_lines) == 2
    assert "attempt 1 of 4" in retry_lines[0] and "req-a-503-1" in retry_lines[0] and "503" in retry_lines[0]
    assert all(canary_key not in line for line in log_lines.lines())


async def test_async_honours_retry_after(scripted_server, make_hook, sleeps) -> None:
    scripted_server.script("GET", f"/fine-tunes/{JOB_ID}", error(429, "Throttling", "slow", Retry_After="4"), ok(JOB))
    await make_hook().aget_fine_tune_job(JOB_ID)
    assert sleeps == [4.0]


async def test_async_404_is_not_retried(scripted_server, make_hook, sleeps) -> None:
    scripted_server.script("GET", f"/fine-tunes/{JOB_ID}", error(404, "NotFound", "Not Found!", "req-a-404"))
    with pytest.raises(NotFoundError) as info:
        await make_hook(max_retries=4).aget_fine_tune_job(JOB_ID)
    assert info.value.request_id == "req-a-404"
    assert scripted_server.count() == 1 and sleeps == []


async def test_async_exhausted_budget_raises_after_max_retries_plus_one(scripted_server, make_hook) -> None:
    scripted_server.script("GET", f"/fine-tunes/{JOB_ID}", error(429, "Throttling", "slow"))
    with pytest.raises(ThrottlingError):
        await make_hook(max_retries=2).aget_fine_tune_job(JOB_ID)
    assert scripted_server.count() == 3


async def test_async_html_502_is_a_typed_error_with_an_excerpt(scripted_server, make_hook) -> None:
    page = "<html><head><title>502 Bad Gateway</title></head><body>" + "x" * 2000 + "</body></html>"
    scripted_server.script("GET", f"/fine-tunes/{JOB_ID}", Reply(502, page, headers={"Content-Type": "text/html"}))
    with pytest.raises(ServiceUnavailableError) as info:
        await make_hook(max_retries=0).aget_fine_tune_job(JOB_ID)
    assert info.value.status_code == 502
    assert "502 Bad Gateway" in info.value.message and len(info.value.message) < 260


async def test_async_connection_refused_is_a_transport_error(make_hook, sleeps) -> None:
    with pytest.raises(DashScopeTransportError) as info:
        await make_hook(host=f"http://127.0.0.1:{closed_port()}", max_retries=1).aget_fine_tune_job(JOB_ID)
    assert info.value.connect_failed is True
    assert len(sleeps) == 1
    assert _aio.open_session_count() == 0


async def test_async_read_timeout_is_a_transport_error(scripted_server, make_hook) -> None:
    scripted_server.script("GET", f"/fine-tunes/{JOB_ID}", Reply(200, {"output": JOB}, delay=0.6))
    with pytest.raises(DashScopeTransportError) as info:
        await make_hook(max_retries=0, hook_kwargs={"timeout": 0.2}).aget_fine_tune_job(JOB_ID)
    assert info.value.timeout is True
    assert "timed out" in str(info.value)


async def test_async_response_over_the_declared_size_limit_is_refused(scripted_server, make_hook) -> None:
    import dataclasses

    hook = make_hook(max_retries=0)
    hook._config = dataclasses.replace(await hook.aget_config(), max_response_bytes=1024)
    scripted_server.script("GET", f"/fine-tunes/{JOB_ID}", Reply(200, b"{}", content_length=5_000_000))
    with pytest.raises(DashScopeTransportError, match="1024-byte limit"):
        await hook.aget_fine_tune_job(JOB_ID)


async def test_async_environment_fallback(scripted_server, monkeypatch, canary_key) -> None:
    monkeypatch.setenv("DASHSCOPE_API_KEY", canary_key)
    monkeypatch.setenv("DASHSCOPE_HTTP_BASE_URL", scripted_server.url)
    scripted_server.script("GET", f"/fine-tunes/{JOB_ID}", ok(JOB))
    job = await DashScopeHook("dashscope_async_env_only").aget_fine_tune_job(JOB_ID)
    assert job.job_id == JOB_ID
    assert scripted_server.requests[0].header("Authorization") == f"Bearer {canary_key}"


async def test_async_missing_connection_and_environment_names_what_to_set() -> None:
    with pytest.raises(DashScopeConfigError) as info:
        await DashScopeHook("dashscope_async_nowhere").aget_fine_tune_job(JOB_ID)
    assert "'dashscope_async_nowhere'" in str(info.value) and "DASHSCOPE_API_KEY" in str(info.value)


async def test_awaiting_a_slow_answer_does_not_block_the_event_loop(scripted_server, make_hook) -> None:
    scripted_server.script("GET", f"/fine-tunes/{JOB_ID}", Reply(200, {"output": JOB}, delay=0.3))
    requests_seen_by_ticks: list[int] = []

    async def ticker() -> None:
        while True:
            requests_seen_by_ticks.append(scripted_server.count())
            await asyncio.sleep(0.01)

    task = asyncio.create_task(ticker())
    try:
        await make_hook().aget_fine_tune_job(JOB_ID)
    finally:
        task.cancel()
    # Other coroutines ran while the request was at the server and its answer not yet back.
    assert 1 in requests_seen_by_ticks


# ----------------------------------------------------------------------------------------------------------------
# One shared aiohttp session per event loop
# ----------------------------------------------------------------------------------------------------------------
async def test_concurrent_calls_in_one_loop_share_one_session_closed_after_the_last_user(
    scripted_server, make_hook
) -> None:
    scripted_server.script("GET", "/fine-tunes/ft-a", Reply(200, {"output": {**JOB, "job_id": "ft-a"}}, delay=0.2))
    scripted_server.script("GET", "/fine-tunes/ft-b", Reply(200, {"output": {**JOB, "job_id": "ft-b"}}, delay=0.2))
    scripted_server.script("GET", "/fine-tunes/ft-c", ok({**JOB, "job_id": "ft-c"}))
    hook_a, hook_b = make_hook("dashscope_async_a"), make_hook("dashscope_async_b")
    seen_during_calls: list[int] = []

    async def watch() -> None:
        await asyncio.sleep(0.1)
        seen_during_calls.append(_aio.open_session_count())

    assert _aio.open_session_count() == 0
    async with _aio.shared_session() as outer:
        jobs = await asyncio.gather(hook_a.aget_fine_tune_job("ft-a"), hook_b.aget_fine_tune_job("ft-b"), watch())
        assert [j.job_id for j in jobs[:2]] == ["ft-a", "ft-b"]
        assert seen_during_calls == [1]
        assert not outer.closed
        # Sequential calls of two different hooks reuse the pooled connections: one connector for the loop.
        await hook_a.aget_fine_tune_job("ft-c")
        await hook_b.aget_fine_tune_job("ft-c")
        ab_ports = {r.client_port for r in scripted_server.requests if r.path != "/api/v1/fine-tunes/ft-c"}
        c_ports = {r.client_port for r in scripted_server.requests_to("GET", "/fine-tunes/ft-c")}
        assert c_ports <= ab_ports  # no new connection: the pool the concurrent calls opened is reused
        assert _aio.open_session_count() == 1
    assert outer.closed
    assert _aio.open_session_count() == 0


async def test_without_an_outer_user_each_call_opens_and_closes_its_session(scripted_server, make_hook) -> None:
    scripted_server.script("GET", f"/fine-tunes/{JOB_ID}", ok(JOB))
    hook = make_hook()
    await hook.aget_fine_tune_job(JOB_ID)
    assert _aio.open_session_count() == 0
    await hook.aget_fine_tune_job(JOB_ID)
    assert _aio.open_session_count() == 0
    first, second = scripted_server.requests
    assert first.client_port != second.client_port  # the first session (and its pool) was really closed


async def test_shared_session_is_nested_reentrant_within_one_loop() -> None:
    async with _aio.shared_session() as first:
        async with _aio.shared_session() as second:
            assert first is second
        assert not first.closed
    assert first.closed


def test_each_asyncio_run_gets_its_own_session_closed_with_it(scripted_server, make_hook, caplog) -> None:
    scripted_server.script("GET", f"/fine-tunes/{JOB_ID}", ok(JOB))
    sessions = []

    async def one_run() -> None:
        async with _aio.shared_session() as session:
            sessions.append(session)
            job = await make_hook().aget_fine_tune_job(JOB_ID)
            assert job.job_id == JOB_ID
            assert _aio.open_session_count() == 1

    caplog.set_level(logging.ERROR, logger="asyncio")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        asyncio.run(one_run())
        assert _aio.open_session_count() == 0
        asyncio.run(one_run())
        assert _aio.open_session_count() == 0
        gc.collect()
    assert len(sessions) == 2 and sessions[0] is not sessions[1]
    assert all(s.closed for s in sessions)
    assert scripted_server.count() == 2
    assert not [r for r in caplog.records if "Unclosed" in r.getMessage()]
    assert not [w for w in caught if "Unclosed" in str(w.message) or issubclass(w.category, ResourceWarning)]
