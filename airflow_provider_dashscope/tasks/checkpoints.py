"""What a task that waits on a checkpoint's export needs to know of it: :data:`CHECKPOINT_EXPORT_WAIT`.

The resource is one checkpoint of one job, named ``<job_id>:<checkpoint>`` (its ``export_id``); a poll lists the
job's checkpoints and reads that one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_dashscope._checks.resources import EXPORT_ID_HINT, validate_export_id
from airflow_provider_dashscope.links import XCOM_JOB_URL
from airflow_provider_dashscope.tasks.wait import WaitSpec

if TYPE_CHECKING:
    from airflow_provider_dashscope.hooks.dashscope import DashScopeHook
    from airflow_provider_dashscope.models.checkpoints import Checkpoint
    from airflow_provider_dashscope.triggers.checkpoints import DashScopeCheckpointExportTrigger
    from airflow_provider_dashscope.wait.policy import WaitPolicy


def _split(export_id: str) -> tuple[str, str]:
    job_id, _, checkpoint = export_id.rpartition(":")
    return job_id, checkpoint


def fetch_checkpoint(hook: DashScopeHook, export_id: str) -> Checkpoint:
    from airflow_provider_dashscope.wait.exports import find_checkpoint

    job_id, name = _split(export_id)
    return find_checkpoint(hook.list_checkpoints(job_id), job_id, name)


def _policy() -> WaitPolicy[Checkpoint]:
    from airflow_provider_dashscope.wait.exports import CHECKPOINT_EXPORT

    return CHECKPOINT_EXPORT


def _trigger() -> type[DashScopeCheckpointExportTrigger]:
    from airflow_provider_dashscope.triggers.checkpoints import DashScopeCheckpointExportTrigger

    return DashScopeCheckpointExportTrigger


#: A checkpoint's export, waited on until it SUCCEEDED with its deployable model listed (or FAILED, UNSUPPORTED).
CHECKPOINT_EXPORT_WAIT: WaitSpec = WaitSpec(
    id_field="export_id",
    id_hint=EXPORT_ID_HINT,
    url_xcom_key=XCOM_JOB_URL,
    validate_id=validate_export_id,
    fetch=fetch_checkpoint,
    console_url=lambda hook, export_id: hook.console_url(_split(export_id)[0]),
    policy=_policy,
    trigger=_trigger,
)


#: The most log lines read to find a job's evaluations (100 requests of 1000 lines).
MAX_LOG_LINES_READ = 100_000


def read_training_log(hook: DashScopeHook, job_id: str) -> list[str]:
    """A job's whole training log, page after page (1000 lines a request, up to :data:`MAX_LOG_LINES_READ`)."""
    from airflow_provider_dashscope.resources.fine_tunes import MAX_LOG_LINES

    lines: list[str] = []
    while len(lines) < MAX_LOG_LINES_READ:
        page = hook.get_fine_tune_job_logs(job_id, offset=len(lines), line=MAX_LOG_LINES)
        lines.extend(page.lines)
        if not page.lines or len(lines) >= page.total:
            break
    return lines
