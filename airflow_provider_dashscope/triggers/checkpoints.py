"""The trigger that waits, in the triggerer, until a checkpoint's export is done."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from airflow.triggers.base import TriggerEvent

from airflow_provider_dashscope.hooks.dashscope import DashScopeHook
from airflow_provider_dashscope.models.checkpoints import Checkpoint
from airflow_provider_dashscope.resources.checkpoints import validate_export_id
from airflow_provider_dashscope.triggers.base import DashScopeWaitTrigger
from airflow_provider_dashscope.wait.exports import CHECKPOINT_EXPORT, find_checkpoint, split_export_id


class DashScopeCheckpointExportTrigger(DashScopeWaitTrigger[Checkpoint]):
    """
    Poll a job's checkpoint list until one checkpoint's export SUCCEEDED with its deployable model listed (or
    ended FAILED / UNSUPPORTED), then fire one event.

    The event's payload: ``status`` (``success``, ``failed``, ``error`` or ``timeout``), ``export_id``
    (``<job_id>:<checkpoint>``), ``export_status``, ``message``, ``checkpoint`` (the checkpoint's summary),
    ``http_status``, ``request_id`` and ``chosen`` (the ``chosen`` argument, handed back to the task).
    An export is never cancelled (``cancel_on_kill`` is ignored).

    :param export_id: ``<job_id>:<checkpoint>``.
    :param chosen: What the task chose the checkpoint by (metric name and value; small JSON values only).
    :param dashscope_conn_id: The connection id (resolved in the triggerer, the async-safe way).
    :param poll_interval: Seconds between polls (jittered by +/-10 %).
    :param deadline: Absolute epoch seconds after which a ``timeout`` event fires; ``None`` waits forever.
    :param max_consecutive_failures: Failed polls in a row tolerated before an ``error`` event.
    :param started_at: Epoch seconds when the wait began, for the elapsed time in log lines.
    :param last_status: The status the task saw before deferring (spreads the first poll).
    """

    policy = CHECKPOINT_EXPORT
    id_kwarg = "export_id"

    def __init__(self, export_id: str, chosen: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(validate_export_id(export_id), **kwargs)
        self.cancel_on_kill = False
        self.chosen = {str(key): value for key, value in (chosen or {}).items()}

    def _extra_kwargs(self) -> dict[str, Any]:
        return {"chosen": self.chosen}

    async def run(self) -> AsyncIterator[TriggerEvent]:
        async for event in super().run():
            yield TriggerEvent({**event.payload, "chosen": self.chosen})

    @property
    def export_id(self) -> str:
        return self.resource_id

    async def _fetch(self, hook: DashScopeHook) -> Checkpoint:
        job_id, name = split_export_id(self.resource_id)
        return find_checkpoint(await hook.alist_checkpoints(job_id), job_id, name)

    def _console_url(self, hook: DashScopeHook) -> str:
        return hook.console_url(split_export_id(self.resource_id)[0])
