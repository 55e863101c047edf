"""The DashScope hook: authentication and every HTTP call to the fine-tunes API, sync and async."""

from __future__ import annotations

import asyncio
import os
import platform
import time
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, TypeVar
from urllib.parse import quote, urlsplit

import requests
import requests.auth
import urllib3
from tenacity import AsyncRetrying, RetryCallState, Retrying

from airflow.providers.common.compat.sdk import AirflowNotFoundException, BaseHook

from airflow_provider_dashscope import __version__
from airflow_provider_dashscope import _wire as wire
from airflow_provider_dashscope.exceptions import DashScopeConfigError, DashScopeTransportError
from airflow_provider_dashscope.models import FineTuneJob, FineTuneJobLogs, FineTuneJobPage

if TYPE_CHECKING:
    import aiohttp

ENV_API_KEY = "DASHSCOPE_API_KEY"
ENV_BASE_URL = "DASHSCOPE_HTTP_BASE_URL"

#: How long triggers on one event loop reuse a connection lookup.
CONFIG_CACHE_SECONDS = 60.0

#: Model Studio console pages per region (the fine-tune list; the job id is shown as a search hint).
CONSOLE_URLS = {
    "cn-beijing": "https://bailian.console.aliyun.com/?tab=model#/efm/model_tuning",
    "ap-southeast-1": "https://modelstudio.console.alibabacloud.com/?tab=model#/efm/model_tuning",
    "us-east-1": "https://modelstudio.console.alibabacloud.com/us-east-1?tab=model#/efm/model_tuning",
    "cn-hongkong": "https://modelstudio.console.alibabacloud.com/cn-hongkong?tab=model#/efm/model_tuning",
}
_HOST_REGIONS = {
    "dashscope.aliyuncs.com": "cn-beijing",
    "dashscope-intl.aliyuncs.com": "ap-southeast-1",
    "dashscope-us.aliyuncs.com": "us-east-1",
    "cn-hongkong.dashscope.aliyuncs.com": "cn-hongkong",
}


def _user_agent() -> str:
    try:
        from airflow import __version__ as airflow_version
    except ImportError:  # pragma: no cover
        airflow_version = "unknown"
    return (
        f"airflow-provider-dashscope/{__version__} apache-airflow/{airflow_version} "
        f"python/{platform.python_version()}"
    )


def console_url(job_id: str, region: str | None = None, base_url: str | None = None) -> str:
    """Link to the job in the Model Studio console of its region (the international console by default).

    For a loopback base URL (the local emulator) the link is the job's own API URL there.
    """
    host = urlsplit(base_url).hostname if base_url else None
    if base_url and wire.is_loopback_host(host):
        return f"{base_url}/fine-tunes/{quote(job_id, safe='')}"
    if region is None and host:
        region = _HOST_REGIONS.get(host)
    page = CONSOLE_URLS.get(region or "ap-southeast-1", CONSOLE_URLS["ap-southeast-1"])
    return f"{page}?jobId={quote(job_id, safe='')}"


class DashScopeHook(BaseHook):
    """
    Talk to the DashScope (Alibaba Cloud Model Studio) fine-tunes API.

    The connection (type ``dashscope``) holds the API key in its password and, optionally, the API base URL in
    its host (default ``https://dashscope-intl.aliyuncs.com/api/v1``). Extras: ``region``, ``workspace``,
    ``timeout``, ``connect_timeout``, ``max_retries``, ``retry_base_delay``, ``retry_max_delay``, ``time_zone``.
    When the connection does not exist, ``DASHSCOPE_API_KEY`` and ``DASHSCOPE_HTTP_BASE_URL`` are used.

    :param dashscope_conn_id: The Airflow connection id.
    :param timeout: Read timeout per request in seconds; overrides the connection's ``timeout`` extra.
    :param max_retries: Retries after the first attempt; overrides the connection's ``max_retries`` extra.
    """

    conn_name_attr = "dashscope_conn_id"
    default_conn_name = "dashscope_default"
    conn_type = "dashscope"
    hook_name = "DashScope (Model Studio)"

    def __init__(
        self,
        dashscope_conn_id: str = default_conn_name,
        *,
        timeout: float | None = None,
        max_retries: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(dashscope_conn_id, str) or not dashscope_conn_id.strip():
            raise DashScopeConfigError(
                f"dashscope_conn_id must be a non-empty connection id, got {dashscope_conn_id!r}"
            )
        self.dashscope_conn_id = dashscope_conn_id
        self._timeout_override = timeout
        self._max_retries_override = max_retries
        self._config: wire.ClientConfig | None = None
        self._session: requests.Session | None = None
        self._sleep: Callable[[float], None] = time.sleep
        self._asleep: Callable[[float], Any] = asyncio.sleep
        self.user_agent = _user_agent()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(dashscope_conn_id={self.dashscope_conn_id!r})"

    # ----------------------------------------------------------------------------------------------------------
    # Connection form (Airflow < 3.2; newer versions read the provider metadata)
    # ----------------------------------------------------------------------------------------------------------
    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        from airflow_provider_dashscope.get_provider_info import UI_FIELD_BEHAVIOUR

        return UI_FIELD_BEHAVIOUR

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        try:
            from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
            from flask_babel import lazy_gettext
            from wtforms import IntegerField, StringField
            from wtforms.validators import NumberRange, Optional
        except ImportError:  # no Flask UI here (Airflow 3 reads the fields from the provider metadata)
            return {}

        return {
            "region": StringField(lazy_gettext("Region"), widget=BS3TextFieldWidget()),
            "workspace": StringField(lazy_gettext("Workspace ID"), widget=BS3TextFieldWidget()),
            "timeout": IntegerField(
                lazy_gettext("Read timeout (s)"), widget=BS3TextFieldWidget(), validators=[Optional(), NumberRange(1)]
            ),
            "max_retries": IntegerField(
                lazy_gettext("Max retries"), widget=BS3TextFieldWidget(), validators=[Optional(), NumberRange(0)]
            ),
        }

    # ----------------------------------------------------------------------------------------------------------
    # Configuration
    # ----------------------------------------------------------------------------------------------------------
    def _config_from_connection(self, conn: Any, extra: dict[str, Any]) -> wire.ClientConfig:
        extra = dict(extra or {})
        # Form widgets of Airflow < 3.2 store extras as extra__dashscope__<name>.
        for key in list(extra):
            prefix = f"extra__{self.conn_type}__"
            if key.startswith(prefix) and key[len(prefix) :] not in extra:
                extra[key[len(prefix) :]] = extra[key]
        return self._finish_config(
            api_key=conn.password,
            host=conn.host,
            port=conn.port,
            extra=extra,
            source=f"connection {self.dashscope_conn_id!r}",
            key_field="its password field (the DashScope API key)",
        )

    def _config_from_env(self) -> wire.ClientConfig:
        api_key = os.environ.get(ENV_API_KEY)
        if not api_key:
            raise DashScopeConfigError(
                f"connection {self.dashscope_conn_id!r} does not exist and {ENV_API_KEY} is not set: create the "
                f"connection (type 'dashscope', API key in its password; e.g. AIRFLOW_CONN_"
                f"{self.dashscope_conn_id.upper()}='{{\"conn_type\": \"dashscope\", \"password\": \"<key>\"}}') "
                f"or export {ENV_API_KEY}"
            )
        _mask(api_key)
        return self._finish_config(
            api_key=api_key,
            host=os.environ.get(ENV_BASE_URL),
            port=None,
            extra={},
            source="the environment",
            key_field=ENV_API_KEY,
        )

    def _finish_config(self, **kwargs: Any) -> wire.ClientConfig:
        extra = kwargs.pop("extra")
        if self._timeout_override is not None:
            extra["timeout"] = self._timeout_override
        if self._max_retries_override is not None:
            extra["max_retries"] = self._max_retries_override
        return wire.build_config(extra=extra, **kwargs)

    @property
    def config(self) -> wire.ClientConfig:
        """The validated configuration (resolved once per hook)."""
        if self._config is None:
            try:
                conn = self.get_connection(self.dashscope_conn_id)
            except AirflowNotFoundException:
                self._config = self._config_from_env()
            else:
                self._config = self._config_from_connection(conn, conn.extra_dejson)
        return self._config

    async def aget_config(self) -> wire.ClientConfig:
        """The configuration, read without blocking the event loop (safe inside a trigger).

        Triggers on one event loop that use the same connection share one lookup for a minute, so a triggerer
        holding thousands of waits does not fetch the same connection thousands of times.
        """
        if self._config is None:
            from airflow_provider_dashscope._aio import loop_cache

            cache = loop_cache()
            key = ("config", self.dashscope_conn_id, self._timeout_override, self._max_retries_override)
            entry = cache.get(key)
            if entry is None or entry[0] <= time.monotonic():
                # One lookup in flight per connection: concurrent triggers await the same future.
                future = asyncio.ensure_future(self._alookup_config())
                entry = cache[key] = (time.monotonic() + CONFIG_CACHE_SECONDS, future)
                future.add_done_callback(lambda f, key=key: (f.cancelled() or f.exception()) and cache.pop(key, None))
            self._config = await asyncio.shield(entry[1])
        return self._config

    async def _alookup_config(self) -> wire.ClientConfig:
        from airflow.providers.common.compat.connection import get_async_connection, get_async_extra_dejson

        try:
            conn = await get_async_connection(self.dashscope_conn_id, hook=self)
        except AirflowNotFoundException:
            return self._config_from_env()
        return self._config_from_connection(conn, await get_async_extra_dejson(conn))

    @property
    def resolved_config(self) -> wire.ClientConfig | None:
        """The configuration if it has been resolved already (never triggers a lookup)."""
        return self._config

    def console_url(self, job_id: str) -> str:
        config = self.config
        return console_url(job_id, config.region, config.base_url)

    # ----------------------------------------------------------------------------------------------------------
    # Sync transport
    # ----------------------------------------------------------------------------------------------------------
    def get_conn(self) -> requests.Session:
        """The hook's ``requests.Session`` (one per hook, reused for every call)."""
        if self._session is None:
            session = requests.Session()
            session.trust_env = True
            self._session = session
        return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def _retry_kwargs(self, request: wire.ApiRequest, config: wire.ClientConfig) -> dict[str, Any]:
        def should_retry(state: RetryCallState) -> bool:
            error = state.outcome.exception() if state.outcome else None
            return error is not None and wire.retry_delay(
                error, state.attempt_number, config.retry, idempotent=request.idempotent
            ) is not None

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            return wire.retry_delay(error, state.attempt_number, config.retry, idempotent=request.idempotent) or 0.0

        def before_sleep(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            self.log.warning(
                "DashScope %s failed (attempt %d of %d: %s); retrying in %.1f s",
                request.label,
                state.attempt_number,
                config.retry.max_attempts,
                wire.describe_failure(error) if error else "?",
                state.next_action.sleep if state.next_action else 0.0,
            )

        return {"retry": should_retry, "wait": wait, "before_sleep": before_sleep, "reraise": True}

    def _send(self, request: wire.ApiRequest, parse: _Parser[T]) -> T:
        """Send with retries. ``parse`` turns the output into a model inside each attempt, so an unusable answer
        is retried like any other transient failure."""
        config = self.config
        if config.retry.max_attempts == 1:  # no retry budget: skip the retry machinery (the trigger's case)
            return self._send_once(request, config, parse)
        retrying = Retrying(sleep=self._sleep, **self._retry_kwargs(request, config))
        return retrying(self._send_once, request, config, parse)

    def _send_once(self, request: wire.ApiRequest, config: wire.ClientConfig, parse: _Parser[T]) -> T:
        url = request.url(config)
        started = time.monotonic()
        headers = wire.build_headers(config, request, self.user_agent)
        try:
            response = self.get_conn().request(
                request.method,
                url,
                params=request.params,
                data=wire.encode_body(request),
                headers=headers,
                # An explicit auth keeps requests from replacing the key with ~/.netrc credentials.
                auth=_HeaderAuth(headers["Authorization"]),
                timeout=(config.connect_timeout, config.read_timeout),
                stream=True,
            )
        except requests.exceptions.RequestException as err:
            raise _transport_error(err, request, url) from None
        request_id = response.headers.get("x-request-id")
        try:
            collector = wire.BodyCollector(config, request, url, started, request_id)
            collector.check_declared(response.headers.get("Content-Length"))
            read = getattr(response.raw, "read1", None) or response.raw.read
            while True:
                # read1 returns what one socket read brings, so a server that drips bytes meets the deadline.
                chunk = read(65536, decode_content=True)
                if not chunk:
                    break
                collector.feed(chunk, time.monotonic())
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, OSError) as err:
            raise _transport_error(err, request, url, request_id) from None
        finally:
            response.close()
        output, request_id = wire.parse_response(
            response.status_code, response.headers, collector.body(), job_id=request.job_id
        )
        return parse(output, request_id, config)

    # ----------------------------------------------------------------------------------------------------------
    # Async transport
    # ----------------------------------------------------------------------------------------------------------
    async def _asend(self, request: wire.ApiRequest, parse: _Parser[T]) -> T:
        from airflow_provider_dashscope._aio import shared_session

        config = await self.aget_config()
        async with shared_session() as session:
            if config.retry.max_attempts == 1:  # the trigger polls once per interval and counts failures itself
                return await self._asend_once(session, request, config, parse)
            retrying = AsyncRetrying(sleep=self._asleep, **self._retry_kwargs(request, config))
            return await retrying(self._asend_once, session, request, config, parse)

    async def _asend_once(
        self,
        session: aiohttp.ClientSession,
        request: wire.ApiRequest,
        config: wire.ClientConfig,
        parse: _Parser[T],
    ) -> T:
        import aiohttp
        from yarl import URL

        url = request.url(config)
        started = time.monotonic()
        timeout = aiohttp.ClientTimeout(
            total=config.connect_timeout + config.read_timeout,
            sock_connect=config.connect_timeout,
            sock_read=config.read_timeout,
        )
        request_id = None
        try:
            async with session.request(
                request.method,
                URL(url, encoded=True),  # the path is quoted already; keep ';', '=', '@' quoted
                params=request.params,
                data=wire.encode_body(request),
                headers=wire.build_headers(config, request, self.user_agent),
                timeout=timeout,
            ) as response:
                request_id = response.headers.get("x-request-id")
                collector = wire.BodyCollector(config, request, url, started, request_id)
                collector.check_declared(response.content_length)
                async for chunk in response.content.iter_chunked(65536):
                    collector.feed(chunk, time.monotonic())
                status, headers = response.status, response.headers
        except (aiohttp.ClientError, asyncio.TimeoutError) as err:
            raise _transport_error(err, request, url, request_id) from None
        output, request_id = wire.parse_response(status, headers, collector.body(), job_id=request.job_id)
        return parse(output, request_id, config)

    # ----------------------------------------------------------------------------------------------------------
    # The API
    # ----------------------------------------------------------------------------------------------------------
    def get_fine_tune_job(self, job_id: str) -> FineTuneJob:
        """``GET /fine-tunes/{job_id}``."""
        return self._send(wire.get_job_request(job_id), _parse_job)

    async def aget_fine_tune_job(self, job_id: str) -> FineTuneJob:
        """Async ``GET /fine-tunes/{job_id}``; never blocks the event loop."""
        return await self._asend(wire.get_job_request(job_id), _parse_job)

    def list_fine_tune_jobs(self, page_no: int = 1, page_size: int = 10, model: str | None = None) -> FineTuneJobPage:
        """``GET /fine-tunes``: one page, newest first."""
        return self._send(wire.list_jobs_request(page_no, page_size, model), _parse_page)

    async def alist_fine_tune_jobs(
        self, page_no: int = 1, page_size: int = 10, model: str | None = None
    ) -> FineTuneJobPage:
        return await self._asend(wire.list_jobs_request(page_no, page_size, model), _parse_page)

    def iter_fine_tune_jobs(
        self, page_size: int = 100, model: str | None = None, created_after: datetime | None = None
    ) -> Iterator[FineTuneJob]:
        """Every job, newest first, page after page; each job once even if jobs shift pages while paging.

        :param created_after: Stop at the first job created before this aware datetime (the API lists newest
            first, so later pages hold only older jobs).
        """
        if created_after is not None and created_after.utcoffset() is None:
            raise DashScopeConfigError(
                f"created_after must be a timezone-aware datetime (e.g. pendulum.now('UTC')), got {created_after!r}"
            )
        wire.list_jobs_request(1, page_size, model)  # checks the arguments before the first request
        return self._iter_pages(page_size, model, created_after)

    def _iter_pages(self, page_size: int, model: str | None, created_after: datetime | None) -> Iterator[FineTuneJob]:
        seen: set[str] = set()
        fetched = 0
        page_no = 1
        while True:
            page = self.list_fine_tune_jobs(page_no=page_no, page_size=page_size, model=model)
            for job in page.jobs:
                if created_after is not None and job.create_time is not None and job.create_time < created_after:
                    return
                if job.job_id not in seen:
                    seen.add(job.job_id)
                    yield job
            fetched += len(page.jobs)
            if not page.jobs:
                return
            if page.total is not None and fetched >= page.total:
                return
            if page.total is None and len(page.jobs) < page_size:
                return  # no total given: a short page is the last one
            page_no += 1

    def create_fine_tune_job(
        self,
        model: str,
        training_file_ids: list[str] | str,
        validation_file_ids: list[str] | str | None = None,
        hyper_parameters: dict[str, Any] | None = None,
        training_type: str | None = None,
        job_name: str | None = None,
        model_name: str | None = None,
    ) -> FineTuneJob:
        """``POST /fine-tunes``. Retried only when the API certainly did not create the job (refused, 429)."""
        request = wire.create_job_request(
            model=model,
            training_file_ids=training_file_ids,
            validation_file_ids=validation_file_ids,
            hyper_parameters=hyper_parameters,
            training_type=training_type,
            job_name=job_name,
            model_name=model_name,
        )
        return self._send(request, _parse_job)

    def cancel_fine_tune_job(self, job_id: str) -> str:
        """``POST /fine-tunes/{job_id}/cancel``; returns the API's status text (``success``)."""
        return self._send(wire.cancel_job_request(job_id), _parse_status)

    async def acancel_fine_tune_job(self, job_id: str) -> str:
        return await self._asend(wire.cancel_job_request(job_id), _parse_status)

    def delete_fine_tune_job(self, job_id: str) -> str:
        """``DELETE /fine-tunes/{job_id}``; returns the API's status text (``success``)."""
        return self._send(wire.delete_job_request(job_id), _parse_status)

    def get_fine_tune_job_logs(self, job_id: str, offset: int = 0, line: int = 100) -> FineTuneJobLogs:
        """``GET /fine-tunes/{job_id}/logs``: ``line`` lines (at most 1000) after skipping ``offset``."""
        return self._send(wire.job_logs_request(job_id, offset, line), _parse_logs)

    def tail_fine_tune_job_logs(self, job_id: str, lines: int = 20) -> list[str]:
        """The last ``lines`` lines (1 to 1000) of a job's training log (two cheap calls)."""
        wire.job_logs_request(job_id, 0, lines)  # checks job_id and lines before any request
        total = self.get_fine_tune_job_logs(job_id, offset=0, line=1).total
        return list(self.get_fine_tune_job_logs(job_id, offset=max(0, total - lines), line=max(1, lines)).lines)

    def test_connection(self) -> tuple[bool, str]:
        """One cheap authenticated call: list a single job."""
        try:
            page = self.list_fine_tune_jobs(page_no=1, page_size=1)
        except Exception as err:
            return False, str(err)
        visible = f"{page.total} fine-tune job(s) visible" if page.total is not None else "listing works"
        return True, f"Connected to {self.config.base_url}; {visible}."


T = TypeVar("T")
_Parser = Callable[[Any, "str | None", wire.ClientConfig], T]


def _parse_job(output: Any, request_id: str | None, config: wire.ClientConfig) -> FineTuneJob:
    return FineTuneJob.from_api(output, request_id, time_zone=config.time_zone)


def _parse_page(output: Any, request_id: str | None, config: wire.ClientConfig) -> FineTuneJobPage:
    return FineTuneJobPage.from_api(output, request_id, time_zone=config.time_zone)


def _parse_logs(output: Any, request_id: str | None, config: wire.ClientConfig) -> FineTuneJobLogs:
    return FineTuneJobLogs.from_api(output, request_id)


def _parse_status(output: Any, request_id: str | None, config: wire.ClientConfig) -> str:
    """The status text of a cancel or delete answer (``success``)."""
    if isinstance(output, dict) and isinstance(output.get("status"), str):
        return output["status"]
    return "success"


def _mask(secret: str) -> None:
    try:
        from airflow.providers.common.compat.sdk import mask_secret

        mask_secret(secret)
    except Exception:  # masking is best effort outside a task
        pass


def _transport_error(
    err: BaseException, request: wire.ApiRequest, url: str, request_id: str | None = None
) -> DashScopeTransportError:
    """Map a client library's exception to a typed error that names the call but never a header."""
    kind = type(err).__name__
    if isinstance(err, (requests.exceptions.RequestException, urllib3.exceptions.HTTPError)):
        reason = _root_reason(err)
        connect_failed = isinstance(err, requests.exceptions.ConnectTimeout) or isinstance(
            reason, urllib3.exceptions.NewConnectionError
        )
        timeout = isinstance(err, requests.exceptions.Timeout) or (
            isinstance(reason, (urllib3.exceptions.ReadTimeoutError, TimeoutError)) and not connect_failed
        )
    elif isinstance(err, (asyncio.TimeoutError, TimeoutError)):
        connect_failed, timeout = False, True
    elif type(err).__module__.startswith("aiohttp"):
        import aiohttp

        connect_failed = isinstance(err, aiohttp.ClientConnectorError)
        timeout = isinstance(err, aiohttp.ServerTimeoutError)
    else:  # an OSError while reading the body
        connect_failed, timeout = False, False
    what = "timed out" if timeout else ("could not connect" if connect_failed else "failed")
    where = f" (job_id={request.job_id})" if request.job_id else ""
    return DashScopeTransportError(
        f"DashScope {request.label}{where} {what}: {kind}: {_safe_reason(err)}",
        method=request.method,
        url=url,
        timeout=timeout,
        connect_failed=connect_failed,
        request_id=request_id,
    )


def _root_reason(err: BaseException) -> BaseException:
    """The urllib3 error inside a requests error (``ConnectionError(MaxRetryError(reason=...))``)."""
    reason = err.args[0] if isinstance(err, requests.exceptions.RequestException) and err.args else err
    return getattr(reason, "reason", None) or reason


class _HeaderAuth(requests.auth.AuthBase):
    """Sets the Authorization header; as an explicit auth it also turns off requests' .netrc lookup."""

    def __init__(self, value: str) -> None:
        self._value = value

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = self._value
        return request

    def __repr__(self) -> str:
        return "_HeaderAuth(<hidden>)"


def _safe_reason(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return text[:300] if text else "no detail"
