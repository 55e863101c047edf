"""The DashScope hook: the connection (form and settings) and every call to the API, sync and async."""

from __future__ import annotations

import asyncio
import os
import platform
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from airflow.providers.common.compat.sdk import AirflowNotFoundException, BaseHook

from airflow_provider_dashscope import __version__
from airflow_provider_dashscope._config import ClientConfig, build_config
from airflow_provider_dashscope._regions import DEFAULT_CONN_ID
from airflow_provider_dashscope.exceptions import DashScopeConfigError
from airflow_provider_dashscope.hooks._checkpoints import CheckpointsMixin
from airflow_provider_dashscope.hooks._deployments import DeploymentsMixin
from airflow_provider_dashscope.hooks._files import FilesMixin
from airflow_provider_dashscope.hooks._fine_tunes import FineTunesMixin

if TYPE_CHECKING:
    from airflow_provider_dashscope._http.api_request import ApiRequest
    from airflow_provider_dashscope._http.api_response import Parser
    from airflow_provider_dashscope._http.async_transport import AsyncTransport
    from airflow_provider_dashscope._http.sync_transport import SyncTransport

ENV_API_KEY = "DASHSCOPE_API_KEY"
ENV_BASE_URL = "DASHSCOPE_HTTP_BASE_URL"

#: Connection ids this process has said it replaced with the environment (said once per process).
_ANNOUNCED_FALLBACKS: set[str] = set()

#: How long triggers on one event loop reuse a connection lookup.
CONFIG_CACHE_SECONDS = 60.0

T = TypeVar("T")


def _user_agent() -> str:
    try:
        from airflow import __version__ as airflow_version
    except ImportError:  # pragma: no cover
        airflow_version = "unknown"
    return (
        f"airflow-provider-dashscope/{__version__} apache-airflow/{airflow_version} python/{platform.python_version()}"
    )


class DashScopeHook(FineTunesMixin, CheckpointsMixin, FilesMixin, DeploymentsMixin, BaseHook):
    """
    Talk to the DashScope (Alibaba Cloud Model Studio) API: fine-tunes (:class:`FineTunesMixin`), their
    checkpoints (:class:`CheckpointsMixin`), files (:class:`FilesMixin`) and deployments
    (:class:`DeploymentsMixin`); the hook itself holds the connection and the two transports.

    The connection (type ``dashscope``) holds the API key in its password and, optionally, the API base URL in
    its host (default ``https://dashscope-intl.aliyuncs.com/api/v1``). Extras: ``region``, ``workspace``,
    ``timeout``, ``connect_timeout``, ``max_retries``, ``retry_base_delay``, ``retry_max_delay``, ``time_zone``.
    When the connection does not exist, ``DASHSCOPE_API_KEY`` and ``DASHSCOPE_HTTP_BASE_URL`` are used.

    :param dashscope_conn_id: The Airflow connection id.
    :param timeout: Read timeout per request in seconds; overrides the connection's ``timeout`` extra.
    :param max_retries: Retries after the first attempt; overrides the connection's ``max_retries`` extra.
    """

    conn_name_attr = "dashscope_conn_id"
    default_conn_name = DEFAULT_CONN_ID
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
        self._overrides = {"timeout": timeout, "max_retries": max_retries}
        self._config: ClientConfig | None = None
        self._sync: SyncTransport | None = None
        self._async: AsyncTransport | None = None
        self.user_agent = _user_agent()
        # How retries wait; replaceable (tests record the sleeps instead of sleeping).
        self._sleep: Callable[[float], Any] = time.sleep
        self._asleep: Callable[[float], Awaitable[Any]] = asyncio.sleep

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
            from wtforms import BooleanField, IntegerField, StringField
            from wtforms.validators import NumberRange, Optional
        except ImportError:  # no Flask UI here (Airflow 3 reads the fields from the provider metadata)
            return {}

        return {
            "region": StringField(lazy_gettext("Region"), widget=BS3TextFieldWidget()),
            "workspace": StringField(lazy_gettext("Workspace ID"), widget=BS3TextFieldWidget()),
            "timeout": IntegerField(
                lazy_gettext("Read timeout (s)"), widget=BS3TextFieldWidget(), validators=[Optional(), NumberRange(1)]
            ),
            "ca_bundle": StringField(lazy_gettext("CA bundle (path)"), widget=BS3TextFieldWidget()),
            "verify": BooleanField(lazy_gettext("Verify TLS certificates"), default=True),
            "max_retries": IntegerField(
                lazy_gettext("Max retries"), widget=BS3TextFieldWidget(), validators=[Optional(), NumberRange(0)]
            ),
        }

    # ----------------------------------------------------------------------------------------------------------
    # Configuration
    # ----------------------------------------------------------------------------------------------------------
    def _config_from(self, conn: Any | None, extra: Mapping[str, Any] | None, *, blocking: bool = True) -> ClientConfig:
        """Settings from a connection, or from the environment when there is none.

        ``blocking=False`` (inside an event loop) keeps the error path from reading the DB or asking Airflow.
        """
        overrides = {key: value for key, value in self._overrides.items() if value is not None}
        if conn is None:
            return self._config_from_environment(overrides, blocking=blocking)
        settings = dict(extra or {})
        # Form widgets of Airflow < 3.2 store extras as extra__dashscope__<name>.
        prefix = f"extra__{self.conn_type}__"
        for key in [key for key in settings if key.startswith(prefix)]:
            settings.setdefault(key[len(prefix) :], settings[key])
        return build_config(
            api_key=conn.password,
            host=conn.host,
            port=conn.port,
            extra={**settings, **overrides},
            source=f"connection {self.dashscope_conn_id!r}",
            key_field="its password field (the DashScope API key)",
        )

    def _config_from_environment(self, overrides: Mapping[str, Any], *, blocking: bool) -> ClientConfig:
        """``DASHSCOPE_API_KEY`` (and ``DASHSCOPE_HTTP_BASE_URL``) when the connection does not exist."""
        from airflow_provider_dashscope._connection_lookup import similar_conn_id

        conn_id = self.dashscope_conn_id
        api_key = os.environ.get(ENV_API_KEY)
        similar = None
        if not api_key or conn_id != self.default_conn_name:  # the default id with the key set is the SDK's way
            similar = similar_conn_id(conn_id, look_in_db=blocking, lookup=self.get_connection if blocking else None)
        if similar is not None:  # a suspected typo stops, even with the key exported: it is not what was meant
            exported = f" ({ENV_API_KEY} is set, but a typo is not a request for it)" if api_key else ""
            raise DashScopeConfigError(
                f"connection {conn_id!r} does not exist; did you mean {similar!r}? It is a 'dashscope' "
                f"connection Airflow can see: set dashscope_conn_id={similar!r}{exported}"
            )
        if not api_key:
            raise DashScopeConfigError(
                f"connection {conn_id!r} does not exist and {ENV_API_KEY} is not set: create "
                f"the connection (type 'dashscope', API key in its password; e.g. AIRFLOW_CONN_"
                f'{conn_id.upper()}=\'{{"conn_type": "dashscope", "password": "<key>"}}\') '
                f"or export {ENV_API_KEY}"
            )
        _mask(api_key)
        config = build_config(
            api_key=api_key,
            host=os.environ.get(ENV_BASE_URL),
            extra=dict(overrides),
            source="the environment",
            key_field=ENV_API_KEY,
        )
        if conn_id not in _ANNOUNCED_FALLBACKS:  # once per process: a task has a hook for checks and one for polls
            _ANNOUNCED_FALLBACKS.add(conn_id)
            base = f"{ENV_BASE_URL} ({config.base_url})" if os.environ.get(ENV_BASE_URL) else config.base_url
            # The default id falling back to the key is the documented SDK-like set-up; another id is a mistake.
            level = self.log.info if conn_id == self.default_conn_name else self.log.warning
            level("Connection %r was not found: using %s and %s instead", conn_id, ENV_API_KEY, base)
        return config

    @property
    def config(self) -> ClientConfig:
        """The validated configuration (resolved once per hook)."""
        if self._config is None:
            try:
                conn = self.get_connection(self.dashscope_conn_id)
            except AirflowNotFoundException:
                conn = None  # handled below, outside the except: an error then has no "during handling" chain
            config = self._config_from(conn, None if conn is None else conn.extra_dejson)
            self._warn_if_unverified(config)
            self._config = config
        return self._config

    def _warn_if_unverified(self, config: ClientConfig) -> None:
        warning = config.verify_off_warning
        if warning:
            self.log.warning("%s", warning)

    async def aget_config(self) -> ClientConfig:
        """The configuration, read without blocking the event loop (safe inside a trigger).

        Triggers on one event loop that use the same connection share one lookup for a minute, so a triggerer
        holding thousands of waits does not fetch the same connection thousands of times.
        """
        if self._config is None:
            from airflow_provider_dashscope._http.async_transport import loop_cache

            cache = loop_cache()
            key = ("config", self.dashscope_conn_id, tuple(self._overrides.items()))
            entry = cache.get(key)
            if entry is None or entry[0] <= time.monotonic():
                # One lookup in flight per connection: concurrent triggers await the same future.
                future = asyncio.ensure_future(self._alookup_config())
                entry = cache[key] = (time.monotonic() + CONFIG_CACHE_SECONDS, future)

                def forget_failures(done: asyncio.Future[ClientConfig], key: Any = key) -> None:
                    if done.cancelled() or done.exception():
                        cache.pop(key, None)

                future.add_done_callback(forget_failures)
            config: ClientConfig = await asyncio.shield(entry[1])
            self._warn_if_unverified(config)
            self._config = config
        return self._config

    async def _alookup_config(self) -> ClientConfig:
        from airflow.providers.common.compat.connection import get_async_connection, get_async_extra_dejson

        try:
            conn = await get_async_connection(self.dashscope_conn_id, hook=self)
        except AirflowNotFoundException:
            return self._config_from(None, None, blocking=False)
        return self._config_from(conn, await get_async_extra_dejson(conn))

    @property
    def resolved_config(self) -> ClientConfig | None:
        """The configuration if it has been resolved already (never triggers a lookup)."""
        return self._config

    # ----------------------------------------------------------------------------------------------------------
    # Transports
    # ----------------------------------------------------------------------------------------------------------
    def get_conn(self) -> Any:
        """The hook's ``requests.Session`` (one per hook, reused for every call)."""
        return self._sync_transport().session

    def close(self) -> None:
        """Close the hook's HTTP session (its pooled connections); a later call on the hook opens a new one."""
        if self._sync is not None:
            self._sync.close()
            self._sync = None

    def _sync_transport(self) -> SyncTransport:
        if self._sync is None:
            from airflow_provider_dashscope._http.sync_transport import SyncTransport

            self._sync = SyncTransport(self.config, self.user_agent, self.log, sleep=lambda s: self._sleep(s))
        return self._sync

    def _send(self, request: ApiRequest, parse: Parser[T]) -> T:
        return self._sync_transport().send(request, parse)

    async def _asend(self, request: ApiRequest, parse: Parser[T]) -> T:
        if self._async is None:
            from airflow_provider_dashscope._http.async_transport import AsyncTransport

            config = await self.aget_config()
            self._async = AsyncTransport(config, self.user_agent, self.log, sleep=lambda s: self._asleep(s))
        return await self._async.send(request, parse)

    def test_connection(self) -> tuple[bool, str]:
        """One cheap authenticated call: list a single job."""
        try:
            page = self.list_fine_tune_jobs(page_no=1, page_size=1)
        except Exception as err:
            return False, str(err)
        visible = f"{page.total} fine-tune job(s) visible" if page.total is not None else "listing works"
        return True, f"Connected to {self.config.base_url}; {visible}."


def _mask(secret: str) -> None:
    try:
        from airflow.providers.common.compat.sdk import mask_secret

        mask_secret(secret)
    except Exception:  # masking is best effort outside a task
        pass
