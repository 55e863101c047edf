"""Waiting on a checkpoint's export: done when SUCCEEDED with its model listed; FAILED and UNSUPPORTED fail it.

The wait polls the job's checkpoint list and reads the one checkpoint (:data:`CHECKPOINT_EXPORT`). Its resource
id is ``<job_id>:<checkpoint>`` (:func:`export_id`). A SUCCEEDED export whose deployable ``model_name`` is not
listed yet keeps the wait going; so does any status that is not an export's (a checkpoint not exported yet).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_dashscope.exceptions import CHECKPOINT_EXPORT as EXPORT_KIND, NotFoundError, request_id_note
from airflow_provider_dashscope.models.checkpoints import Checkpoint, CheckpointStatus
from airflow_provider_dashscope.wait.outcomes import EventKeys, Outcome
from airflow_provider_dashscope.wait.policy import WaitPolicy

if TYPE_CHECKING:
    from collections.abc import Sequence

EXPORT_EVENT_KEYS = EventKeys("export_id", "export_status", "checkpoint")
#: What the status of a SUCCEEDED export reads as while its model is not listed yet.
SUCCEEDED_WITHOUT_MODEL = "SUCCEEDED (model not listed yet)"
#: A checkpoint that has no status at all.
NO_STATUS = "NOT_EXPORTED"

RESULT_KEYS = ("job_id", "checkpoint", "step", "status", "model_name", "model_display_name")
XCOM_KEYS = ("checkpoint", "step", "model_name")

_OUTCOMES = {
    CheckpointStatus.SUCCEEDED.value: Outcome.SUCCESS,
    CheckpointStatus.FAILED.value: Outcome.FAILED,
    CheckpointStatus.UNSUPPORTED.value: Outcome.FAILED,
}


def export_id(job_id: str, checkpoint: str) -> str:
    return f"{job_id}:{checkpoint}"


def split_export_id(value: str) -> tuple[str, str]:
    job_id, sep, checkpoint = value.rpartition(":")
    if not sep or not job_id or not checkpoint:
        raise ValueError(f"export_id must be '<job_id>:<checkpoint>', got {value!r}")
    return job_id, checkpoint


def find_checkpoint(
    checkpoints: Sequence[Checkpoint], job_id: str, name: str, request_id: str | None = None
) -> Checkpoint:
    """The named checkpoint of a list answer, or a 404-like error (it went away, or never was)."""
    for checkpoint in checkpoints:
        if checkpoint.checkpoint == name:
            return checkpoint
    raise NotFoundError(
        f"fine-tune job {job_id} lists no checkpoint {name!r}",
        status_code=404,
        code="NotFound",
        request_id=request_id,
        resource_id=job_id,
        resource_key="job_id",
    )


def _status_of(checkpoint: Checkpoint) -> str:
    if checkpoint.status == CheckpointStatus.SUCCEEDED and not checkpoint.model_name:
        return SUCCEEDED_WITHOUT_MODEL
    return checkpoint.status_text or NO_STATUS


def _end_message(checkpoint: Checkpoint, outcome: Outcome) -> str:
    name = export_id(checkpoint.job_id or "?", checkpoint.checkpoint)
    if outcome is Outcome.SUCCESS:
        return f"Checkpoint {name} is exported: model_name={checkpoint.model_name}"
    return f"Export of checkpoint {name} ended {checkpoint.status_text}" + request_id_note(checkpoint.request_id)


CHECKPOINT_EXPORT: WaitPolicy[Checkpoint] = WaitPolicy(
    kind=EXPORT_KIND.name,
    event_keys=EXPORT_EVENT_KEYS,
    status_of=_status_of,
    outcome_of=_OUTCOMES.get,
    summary_of=Checkpoint.summary,
    end_message=_end_message,
    request_id_of=lambda checkpoint: checkpoint.request_id,
    result_keys=RESULT_KEYS,
    xcom_keys=XCOM_KEYS,
)
