"""Run the emulator in a background thread, for tests and notebooks.

    from airflow_provider_dashscope.emulator.testing import EmulatorThread, FakeClock

    clock = FakeClock()
    with EmulatorThread(clock=clock, pending_seconds=5) as emu:
        ...  # talk to emu.base_url with "Authorization: Bearer " + emu.api_key
        clock.advance(6)

All helper methods are thread-safe: the state object guards itself with a lock.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .app import create_app, start_site
from .config import EmulatorConfig
from .faults import Fault
from .store import EmulatorState
from .tls import context_from

if TYPE_CHECKING:
    from typing import Self

DEFAULT_TEST_API_KEY = "sk-emulator-test-key"


class FakeClock:
    """Manually advanced clock (epoch seconds), usable as ``EmulatorConfig.clock``."""

    def __init__(self, start: float = 1_730_192_033.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        with self._lock:
            self._now += float(seconds)
            return self._now

    def set(self, epoch: float) -> None:
        with self._lock:
            self._now = float(epoch)


class EmulatorThread:
    """The emulator on 127.0.0.1 (port 0 by default) in a thread with its own event loop.

    ``EmulatorThread(state=None, *, api_key=DEFAULT_TEST_API_KEY, host="127.0.0.1", port=0,
    access_log=False, ssl_context=None, tls_cert=None, tls_key=None, **config)``: ``config`` are
    :class:`EmulatorConfig` fields (``clock``, ``pending_seconds``, ``running_seconds``,
    ``canceling_seconds``, ``quota``, ...). Pass ``api_key=None`` to accept any bearer token. A
    ready ``state`` may be given instead. With a server ``ssl_context`` (or certificate files
    ``tls_cert``/``tls_key``) it serves HTTPS and its URLs start with ``https://``.
    """

    def __init__(
        self,
        state: EmulatorState | None = None,
        *,
        api_key: str | None = DEFAULT_TEST_API_KEY,
        host: str = "127.0.0.1",
        port: int = 0,
        access_log: bool = False,
        start_timeout: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
        tls_cert: str | None = None,
        tls_key: str | None = None,
        **config: Any,
    ) -> None:
        self.ssl_context = context_from(ssl_context, tls_cert, tls_key)
        if state is None:
            state = EmulatorState(EmulatorConfig(api_key=api_key, **config))
        elif config:
            raise TypeError("pass either a state or config keywords, not both")
        self.state = state
        self.host = host
        self._requested_port = port
        self._access_log = access_log
        self._start_timeout = start_timeout
        self.port: int = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    # ------------------------------------------------------------ lifecycle
    @property
    def api_key(self) -> str | None:
        return self.state.config.api_key

    @property
    def scheme(self) -> str:
        return "https" if self.ssl_context is not None else "http"

    @property
    def root_url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.root_url}/api/v1"

    @property
    def admin_url(self) -> str:
        return f"{self.root_url}/_emulator"

    def start(self) -> Self:
        if self._thread is not None:
            raise RuntimeError("emulator already started")
        self._thread = threading.Thread(target=self._run, name="dashscope-emulator", daemon=True)
        self._thread.start()
        if not self._ready.wait(self._start_timeout):
            raise RuntimeError("emulator did not start in time")
        if self._error is not None:
            raise RuntimeError(f"emulator failed to start: {self._error!r}") from self._error
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        runner = None
        try:
            app = create_app(self.state)
            runner, self.port = loop.run_until_complete(
                start_site(
                    app, self.host, self._requested_port, access_log=self._access_log, ssl_context=self.ssl_context
                )
            )
        except Exception as exc:
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            try:
                loop.run_until_complete(asyncio.wait_for(runner.cleanup(), 10))
            finally:
                loop.close()

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if thread.is_alive() and not loop.is_closed():
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=15)
        self._thread = None
        self._loop = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -------------------------------------------------------------- helpers
    def add_fault(self, fault: Fault | dict[str, Any] | str | None = None, **kwargs: Any) -> Fault:
        """Add a fault from a Fault, a dict, a CLI spec string, or keyword arguments."""
        if fault is None:
            fault = dict(kwargs)
        elif kwargs:
            raise TypeError("pass a fault or keyword arguments, not both")
        return self.state.faults.add(fault)

    def clear_faults(self) -> None:
        self.state.faults.clear()

    def faults(self) -> list[dict[str, Any]]:
        return self.state.faults.list()

    def seed(self, jobs: Iterable[dict[str, Any]] | dict[str, Any]) -> list[str]:
        return self.state.seed(jobs)

    def plan_next(self, *settings: dict[str, Any]) -> list[str]:
        return self.state.plan_next(*settings)

    def stats(self) -> dict[str, Any]:
        return self.state.stats()

    def request_count(self, method: str | None = None, route: str | None = None, job_id: str | None = None) -> int:
        return self.state.request_count(method, route, job_id)

    def reset(self) -> None:
        self.state.reset()
