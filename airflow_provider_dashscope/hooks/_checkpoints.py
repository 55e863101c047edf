"""The checkpoint methods of :class:`~airflow_provider_dashscope.hooks.dashscope.DashScopeHook`."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from airflow_provider_dashscope.resources import checkpoints

if TYPE_CHECKING:
    from airflow_provider_dashscope._http.api_request import ApiRequest
    from airflow_provider_dashscope._http.api_response import Parser
    from airflow_provider_dashscope.models.checkpoints import Checkpoint

T = TypeVar("T")


class CheckpointsMixin:
    """List a fine-tune job's checkpoints and export one as a deployable model."""

    if TYPE_CHECKING:

        def _send(self, request: ApiRequest, parse: Parser[T]) -> T: ...

        async def _asend(self, request: ApiRequest, parse: Parser[T]) -> T: ...

    def list_checkpoints(self, job_id: str) -> tuple[Checkpoint, ...]:
        """``GET /fine-tunes/{job_id}/checkpoints``: the job's checkpoints, newest step first."""
        return self._send(checkpoints.list_checkpoints_request(job_id), checkpoints.parse_checkpoints_for(job_id))

    async def alist_checkpoints(self, job_id: str) -> tuple[Checkpoint, ...]:
        """Async ``GET /fine-tunes/{job_id}/checkpoints``; never blocks the event loop."""
        request = checkpoints.list_checkpoints_request(job_id)
        return await self._asend(request, checkpoints.parse_checkpoints_for(job_id))

    def export_checkpoint(self, job_id: str, checkpoint: str, model_name: str) -> bool:
        """``GET /fine-tunes/{job_id}/export/{checkpoint}?model_name=``: start exporting a checkpoint as a model.

        ``model_name`` is the export's (unique) name; the deployable model name appears later in
        :meth:`list_checkpoints`. The call has a side effect, so it is retried only when the API certainly did not
        act (a refused connection, 429). Returns the API's ``output`` (``True``).
        """
        request = checkpoints.export_checkpoint_request(job_id, checkpoint, model_name)
        return self._send(request, checkpoints.parse_export)
