"""What the operators and sensors that wait on a resource share: the check, waiting or deferring, completing.

The flow of every such task: announce the resource (XComs and console URL at once, so the extra link works while it
waits), check it once with the hook's own retries, then either finish at once, defer to the trigger (the wait runs
in the triggerer) or wait on the worker through the same :class:`~.machine.WaitMachine`; and complete from the
ending event in one way, whichever path produced it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

from airflow_provider_dashscope._checks.arguments import check_id_arg, check_rendered_id, deadline_from, template_of

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context
    from airflow.triggers.base import BaseTrigger

    from airflow_provider_dashscope.exceptions import NotFoundError
    from airflow_provider_dashscope.hooks.dashscope import DashScopeHook
    from airflow_provider_dashscope.wait.machine import FetchLogs, Progress, WaitMachine
    from airflow_provider_dashscope.wait.outcomes import WaitEvent
    from airflow_provider_dashscope.wait.policy import WaitPolicy
    from airflow_provider_dashscope.wait.training_log import LogSlice


class WaitSpec:
    """What a task that waits on a resource needs to know of it, declared once per resource as data.

    The engine's policy and the trigger class are loaded when a task runs or defers (``policy()``, ``trigger()``),
    so a DAG file that names a task never imports the wait engine or the triggerer's HTTP stack. (A plain class
    with slots, neither a dataclass nor a ``Generic``: a DAG file loads it, and making either costs every parse of
    the file; the resource's type is ``Any`` here and exact in the engine's :class:`~.policy.WaitPolicy`.)
    """

    __slots__ = (
        "console_url", "fetch", "fetch_logs", "id_field", "id_hint", "on_failed", "policy", "progress", "trigger",
        "url_xcom_key", "validate_id",
    )  # fmt: skip

    #: The argument naming the resource (``job_id``): also its attribute, its template field and its XCom key.
    id_field: str
    #: Where a right id comes from, for the error when it renders to nothing.
    id_hint: str
    #: The XCom key of the resource's console URL.
    url_xcom_key: str
    #: The id, checked: an error naming :attr:`id_field` and the fix when it cannot be one.
    validate_id: Callable[[Any], str]
    #: One fetch of the resource through a hook.
    fetch: Callable[[DashScopeHook, str], Any]
    #: The resource's console URL.
    console_url: Callable[[DashScopeHook, str], str]
    #: What the resource's statuses mean (the wait engine's policy).
    policy: Callable[[], WaitPolicy[Any]]
    #: The trigger class the task defers to; built with the id as :attr:`id_field` and the wait's arguments.
    trigger: Callable[[], type[BaseTrigger]]
    #: A progress tracker for a worker-side wait, given the id and the polls between two log reads (``None``: the
    #: resource has no log to follow), and the read of a log slice it asks for.
    progress: Callable[[str, int], Progress[Any]] | None
    fetch_logs: Callable[[DashScopeHook, str, FetchLogs], LogSlice] | None
    #: Called with the task and the event before failing on a resource that ended badly (e.g. to quote its log).
    on_failed: Callable[[Any, WaitEvent], None] | None

    def __init__(
        self,
        *,
        id_field: str,
        id_hint: str,
        url_xcom_key: str,
        validate_id: Callable[[Any], str],
        fetch: Callable[[DashScopeHook, str], Any],
        console_url: Callable[[DashScopeHook, str], str],
        policy: Callable[[], WaitPolicy[Any]],
        trigger: Callable[[], type[BaseTrigger]],
        progress: Callable[[str, int], Progress[Any]] | None = None,
        fetch_logs: Callable[[DashScopeHook, str, FetchLogs], LogSlice] | None = None,
        on_failed: Callable[[Any, WaitEvent], None] | None = None,
    ) -> None:
        self.id_field, self.id_hint, self.url_xcom_key = id_field, id_hint, url_xcom_key
        self.validate_id, self.fetch, self.console_url = validate_id, fetch, console_url
        self.policy, self.trigger = policy, trigger
        self.progress, self.fetch_logs, self.on_failed = progress, fetch_logs, on_failed

    def replace(self, **changes: Any) -> WaitSpec:
        """A copy with ``changes`` (e.g. another policy and trigger for the same resource)."""
        return WaitSpec(**{**{name: getattr(self, name) for name in self.__slots__}, **changes})

    def __repr__(self) -> str:
        return f"WaitSpec(id_field={self.id_field!r})"


class ResourceWaitMixin:
    """Mixed into a ``BaseOperator`` or ``BaseSensorOperator`` that waits on one resource, described by
    :attr:`resource`.

    The instance has ``dashscope_conn_id``, ``poll_interval``, ``timeout``, ``max_consecutive_failures``,
    ``deferrable``, ``soft_fail`` and Airflow's ``execution_timeout`` and ``log``.
    """

    #: The resource this task waits on.
    resource: ClassVar[WaitSpec]
    #: Whether the trigger cancels the resource's work when a user kills the deferred task.
    cancel_on_kill: bool = False
    #: Log the progress read from the resource's log while waiting (for resources with a :attr:`WaitSpec.progress`).
    log_training_progress: bool = True
    #: The id argument's template, if it was one (to name it when it renders to a missing value).
    _id_template: str | None = None
    #: The clock and the sleep of the worker-side wait (replaceable, e.g. by a test's fake time).
    wait_clock: Callable[[], float] = staticmethod(time.time)
    wait_sleep: Callable[[float], Any] = staticmethod(time.sleep)
    #: What this run of the task knows of its console URL XCom, for the extra link (``links.CONSOLE_URL_ATTR``):
    #: ``False`` while it has pushed none (the link then asks Airflow for nothing), the URL once it has, ``None``
    #: when the run resumed after deferring (the URL was pushed before; the link reads the XCom).
    pushed_console_url: str | bool | None = False

    dashscope_conn_id: str
    poll_interval: float
    max_consecutive_failures: int
    deferrable: bool
    soft_fail: bool
    log: Any
    execution_timeout: Any

    @property
    def wait_policy(self) -> WaitPolicy[Any]:
        """What the resource's statuses mean (loaded when a task runs: a DAG file never loads the wait engine)."""
        return self.resource.policy()

    def _on_failed(self, event: WaitEvent) -> None:
        """Called before failing on a resource that ended badly."""
        if self.resource.on_failed is not None:
            self.resource.on_failed(self, event)

    def _on_timeout(self, event: WaitEvent) -> None:
        """Called before failing on a timed-out wait (e.g. to cancel work this task started)."""

    def _on_success(self, context: Context, result: dict[str, Any]) -> None:
        """Called when the wait ended well, with the result the task returns (e.g. to add asset events)."""

    def _wait_timeout(self) -> float | None:
        """Seconds the wait may take (the task's ``timeout``); ``None`` for no bound."""
        timeout = getattr(self, "timeout", None)
        return None if timeout is None else float(timeout)

    def _timeout_exception(self, error: Exception) -> Exception:
        """What a timed-out wait raises (a sensor raises ``AirflowSensorTimeout``)."""
        return error

    # ------------------------------------------------------------------------------------------------------------
    # Shared
    # ------------------------------------------------------------------------------------------------------------
    @cached_property
    def hook(self) -> DashScopeHook:
        """For the check before waiting and for actions: with the connection's retries."""
        from airflow_provider_dashscope.hooks.dashscope import DashScopeHook

        return DashScopeHook(self.dashscope_conn_id)

    @cached_property
    def poll_hook(self) -> DashScopeHook:
        """For the wait's polls: one attempt each, since the wait's failure budget owns the retrying."""
        from airflow_provider_dashscope.hooks.dashscope import DashScopeHook

        return DashScopeHook(self.dashscope_conn_id, max_retries=0)

    def _take_id(self, value: Any) -> None:
        """At DAG parse: keep the id argument (and its template); a literal id must be valid now."""
        spec = self.resource
        check_id_arg(value, spec.validate_id, field_name=spec.id_field, hint=spec.id_hint)
        setattr(self, spec.id_field, value)
        self._id_template = template_of(value)

    def _rendered_id(self) -> str:
        """At the start of ``execute``: the rendered id, refused before any request if it is unusable, and kept."""
        spec = self.resource
        resource_id = check_rendered_id(
            getattr(self, spec.id_field),
            spec.validate_id,
            field_name=spec.id_field,
            template=self._id_template,
            hint=spec.id_hint,
        )
        setattr(self, spec.id_field, resource_id)
        return resource_id

    @staticmethod
    def _push(context: Context, key: str, value: Any) -> None:
        context["ti"].xcom_push(key=key, value=value)

    def _announce(self, context: Context, resource_id: str) -> None:
        """Push the id and the console URL at once, so the extra link works while the task waits."""
        url = self.resource.console_url(self.hook, resource_id)
        self._push(context, self.resource.id_field, resource_id)
        self._push(context, self.resource.url_xcom_key, url)
        self.pushed_console_url = url
        self.log.info("%s %s: %s", self.wait_policy.kind, resource_id, url)

    def _check(self, context: Context, resource_id: str) -> Any:
        """Fetch the resource once (with the hook's retries); an unknown id ends the task at once."""
        from airflow_provider_dashscope.exceptions import NotFoundError

        try:
            return self.resource.fetch(self.hook, resource_id)
        except NotFoundError as err:
            event = self._not_found(resource_id, err)
        self._fail(context, event)  # outside the except block: the error needs no "during handling" chain

    @staticmethod
    def _not_found(resource_id: str, error: NotFoundError) -> WaitEvent:
        from airflow_provider_dashscope.wait.outcomes import Outcome, WaitEvent

        return WaitEvent(Outcome.ERROR, resource_id, str(error), http_status=404, request_id=error.request_id)

    def _machine(self, resource_id: str, *, deadline: float | None, started_at: float) -> WaitMachine[Any]:
        from airflow_provider_dashscope.wait.machine import WaitMachine

        return WaitMachine(
            self.wait_policy,
            resource_id,
            poll_interval=self.poll_interval,
            deadline=deadline,
            max_consecutive_failures=self.max_consecutive_failures,
            started_at=started_at,
            retry_after_cap=self.poll_hook.config.retry.max_delay,
            progress=None if self.deferrable else self._progress(resource_id),
        )

    def _progress(self, resource_id: str) -> Progress[Any] | None:
        """The tracker of the resource's log for a worker-side wait, if it has one and the task wants it."""
        if self.resource.progress is None or not self.log_training_progress:
            return None
        from airflow_provider_dashscope._settings import every_polls_setting

        return self.resource.progress(resource_id, every_polls_setting())

    def _log_reader(self, resource_id: str) -> Callable[[FetchLogs], Any] | None:
        fetch_logs = self.resource.fetch_logs
        if fetch_logs is None:
            return None
        return lambda read: fetch_logs(self.poll_hook, resource_id, read)

    def _trigger(
        self, resource_id: str, *, deadline: float | None, started_at: float, last_status: str | None
    ) -> BaseTrigger:
        """The trigger the task defers to: the resource's class, with only small primitives."""
        spec = self.resource
        extra = {"log_training_progress": self.log_training_progress} if spec.progress is not None else {}
        return spec.trigger()(
            **{spec.id_field: resource_id},
            dashscope_conn_id=self.dashscope_conn_id,
            poll_interval=self.poll_interval,
            deadline=deadline,
            max_consecutive_failures=self.max_consecutive_failures,
            cancel_on_kill=self.cancel_on_kill,
            started_at=started_at,
            last_status=last_status,
            **extra,
        )

    def _wait_on(self, context: Context, resource_id: str, resource: Any) -> dict[str, Any]:
        """Finish at once if the check says the wait is over; else defer, or wait here with the same rules."""
        from airflow_provider_dashscope.wait.drivers import emit, run_sync
        from airflow_provider_dashscope.wait.machine import Done

        started = self.wait_clock()
        deadline = deadline_from(self._wait_timeout(), self.execution_timeout, started)
        machine = self._machine(resource_id, deadline=deadline, started_at=started)
        emit(self.log, machine.observe(resource, started))
        action = machine.next_action(started)
        if isinstance(action, Done):
            return self._complete(context, action.event)
        if self.deferrable:
            self.log.info("Deferring: the triggerer polls every %g s", self.poll_interval)
            self.defer(  # type: ignore[attr-defined]
                trigger=self._trigger(resource_id, deadline=deadline, started_at=started, last_status=machine.status),
                method_name="execute_complete",
                timeout=None,  # the deadline travels in the trigger, so a timeout still completes the task
            )
        event = run_sync(
            machine,
            lambda: self.resource.fetch(self.poll_hook, resource_id),
            self.log,
            clock=self.wait_clock,
            sleep=self.wait_sleep,
            fetch_logs=self._log_reader(resource_id),
        )
        return self._complete(context, event)

    def execute_complete(self, context: Context, event: Any = None) -> dict[str, Any]:
        from airflow_provider_dashscope.wait.outcomes import WaitEvent

        self.pushed_console_url = None  # pushed by the run that deferred
        return self._complete(context, WaitEvent.from_payload(event, self.wait_policy.event_keys))

    def _complete(self, context: Context, event: WaitEvent) -> dict[str, Any]:
        """Hand the result on (XComs and return value), or fail (or skip) the way the event says."""
        policy = self.wait_policy
        if not event.succeeded:
            self._fail(context, event)
        self.log.info("%s", event.message)
        result = policy.result_of(event.resource)
        for key in policy.xcom_keys:
            self._push(context, key, result.get(key))
        self._on_success(context, result)
        return result

    def _fail(self, context: Context, event: WaitEvent) -> NoReturn:
        from airflow.providers.common.compat.sdk import AirflowFailException, AirflowSensorTimeout, AirflowSkipException

        from airflow_provider_dashscope.wait.outcomes import Outcome

        if event.resource_status is not None:
            self._push(context, "status", event.resource_status)
        if event.outcome is Outcome.FAILED:
            self._on_failed(event)
        if event.outcome is Outcome.TIMEOUT:
            self._on_timeout(event)
        error = self.wait_policy.error_of(event)
        if self.soft_fail and (isinstance(error, AirflowFailException) or event.outcome is Outcome.TIMEOUT):
            raise AirflowSkipException(f"{error} (soft_fail)")
        if event.outcome is Outcome.TIMEOUT:
            error = self._timeout_exception(error)
        if isinstance(error, (AirflowFailException, AirflowSensorTimeout)):
            self._say_why_retries_are_skipped(context, event)
        raise error

    def _say_why_retries_are_skipped(self, context: Context, event: WaitEvent) -> None:
        """One line naming the retries a final failure skips, and why (Airflow itself says nothing)."""
        from airflow_provider_dashscope.wait.outcomes import Outcome

        ti = context["ti"]
        try_number = getattr(ti, "try_number", None) or 1
        max_tries = getattr(ti, "max_tries", None)
        if not isinstance(max_tries, int):
            max_tries = getattr(self, "retries", 0) or 0
        remaining = max_tries - (try_number - 1)
        if remaining <= 0:
            return
        noun = self.wait_policy.kind.lower()
        what = f"{noun} {event.resource_id}"
        if event.outcome is Outcome.TIMEOUT:
            how, why = f"The wait for {what} timed out", "Airflow does not retry a sensor that timed out"
        elif event.outcome in (Outcome.FAILED, Outcome.CANCELLED):
            how, why = f"{what} ended {event.resource_status}", f"retrying cannot change a {noun} that has ended"
        elif event.http_status == 404:
            how, why = f"{what} was not found", f"retrying cannot find a {noun} the API does not know"
        else:
            how, why = f"The wait for {what} cannot succeed", "retrying cannot change the answer"
        retries = "retry" if remaining == 1 else "retries"
        self.log.warning(
            "%s, so the task fails without its %d remaining %s: %s", how[0].upper() + how[1:], remaining, retries, why
        )
