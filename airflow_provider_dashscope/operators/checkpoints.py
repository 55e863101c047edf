"""Export a fine-tune job's checkpoint as a deployable model, chosen by name, as the last, or as the best by a
validation metric (a quality gate on the model before it is deployed)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow_provider_dashscope._checks.arguments import config_error, is_templated
from airflow_provider_dashscope._checks.resources import (
    CHECKPOINT_HINT,
    check_metric,
    validate_checkpoint_name,
    validate_export_model_name,
    validate_job_id,
)
from airflow_provider_dashscope.lineage import LineageMixin
from airflow_provider_dashscope.links import DashScopeFineTuneJobLink
from airflow_provider_dashscope.operators._wait import ResourceWaitOperator
from airflow_provider_dashscope.tasks.checkpoints import CHECKPOINT_EXPORT_WAIT

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context
    from airflow.triggers.base import BaseTrigger

    from airflow_provider_dashscope.models import FineTuneJob
    from airflow_provider_dashscope.models.checkpoints import Checkpoint
    from airflow_provider_dashscope.wait.evaluation import CheckpointChoice

__all__ = ["DashScopeExportCheckpointOperator"]

KEYWORDS = ("best", "last")


def check_checkpoint_arg(value: Any) -> str:
    """``"best"``, ``"last"`` or a checkpoint name; anything else is refused naming the field and the fix."""
    if isinstance(value, str) and value in KEYWORDS:
        return value
    if isinstance(value, str) and value.strip().lower() in KEYWORDS:
        raise config_error(f"checkpoint {value!r}: write it as {value.strip().lower()!r}; {CHECKPOINT_HINT}")
    if isinstance(value, str) and not value.startswith("checkpoint-") and "/" not in value and "\\" not in value:
        raise config_error(f"checkpoint {value!r} is neither 'best', 'last' nor a checkpoint name; {CHECKPOINT_HINT}")
    return validate_checkpoint_name(value)


def check_threshold(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, str) and not is_templated(value):
        try:
            value = float(value)
        except ValueError:
            raise config_error(f"{name} must be a number such as 0.9, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise config_error(f"{name} must be a finite number such as 0.9, got {value!r}")
    return float(value)


def default_model_name(job_id: str, checkpoint: str) -> str:
    """A name unique to the job and checkpoint (so a retry finds its own export): ``<job_id>-<checkpoint>``."""
    import re

    return re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{job_id}-{checkpoint}")[:128]


class DashScopeExportCheckpointOperator(LineageMixin, ResourceWaitOperator):
    """
    Export a checkpoint of a SUCCEEDED fine-tune job as a deployable model and wait until the model exists; the
    quality gate between training and deployment.

    The checkpoint is a name from the job's list (``"checkpoint-160"``), ``"last"`` (the highest step) or
    ``"best"``: the one whose evaluation in the training log has the best ``metric`` (the job must have been given
    validation files, so that it evaluates). With ``max_value`` (or ``min_value``) the chosen checkpoint's value
    must meet it: otherwise the task fails without retrying, naming the best value, its checkpoint and the
    threshold, and nothing is exported.

    XCom keys: ``checkpoint``, ``step``, ``metric``, ``metric_value`` (pushed once chosen), ``export_id``,
    ``job_url`` (pushed when the export starts), ``model_name`` (the deployable model, what
    :class:`~airflow_provider_dashscope.operators.deployments.DashScopeDeployModelOperator` deploys); the return
    value is a dict of ``job_id``, ``checkpoint``, ``step``, ``status``, ``model_name``, ``model_display_name``,
    ``metric`` and ``metric_value``. An export that ends FAILED or UNSUPPORTED fails the task without retries.

    On a retry the task re-attaches to the export an earlier try started (found by its ``model_name``, which by
    default is unique to the job and checkpoint) instead of exporting again.

    :param job_id: The fine-tune job (templated).
    :param checkpoint: ``"best"`` (default), ``"last"`` or a checkpoint name (templated).
    :param metric: The evaluation metric ``"best"`` ranks by (default ``eval_loss``).
    :param mode: ``"min"`` (default: lower is better) or ``"max"``.
    :param max_value: Fail unless the chosen checkpoint's metric is at most this (templated).
    :param min_value: Fail unless the chosen checkpoint's metric is at least this (templated).
    :param model_name: The export's name (templated; globally unique). Default ``<job_id>-<checkpoint>``.
    :param dashscope_conn_id: The DashScope connection id (templated).
    :param deferrable: Wait in the triggerer. Defaults to ``[operators] default_deferrable``.
    :param poll_interval: Seconds between checks of the export.
    :param timeout: Seconds to wait at most; ``None`` for no bound.
    :param max_consecutive_failures: Failed polls in a row (network, 429, 5xx) tolerated before failing.
    """

    resource = CHECKPOINT_EXPORT_WAIT
    operator_extra_links = (DashScopeFineTuneJobLink(),)
    template_fields: Sequence[str] = (
        "job_id",
        "checkpoint",
        "max_value",
        "min_value",
        "model_name",
        "dashscope_conn_id",
    )

    def __init__(
        self,
        *,
        job_id: str,
        checkpoint: Any = "best",
        metric: str = "eval_loss",
        mode: str = "min",
        max_value: float | str | None = None,
        min_value: float | str | None = None,
        model_name: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if isinstance(job_id, str) and not is_templated(job_id):
            validate_job_id(job_id)
        if (
            checkpoint is None
            or isinstance(checkpoint, (int, float, bool))
            or (isinstance(checkpoint, str) and not is_templated(checkpoint))
        ):
            check_checkpoint_arg(checkpoint)
        check_metric(metric)
        if mode not in ("min", "max"):
            raise config_error(f"mode must be 'min' (lower is better) or 'max', got {mode!r}")
        if max_value is not None and min_value is not None:
            raise config_error(
                "give max_value or min_value, not both: max_value for a metric where lower is better (a loss), "
                "min_value for one where higher is better (an accuracy)"
            )
        for name, value in (("max_value", max_value), ("min_value", min_value)):
            if not is_templated(value):
                check_threshold(name, value)
        if isinstance(model_name, str) and not is_templated(model_name):
            validate_export_model_name(model_name)
        self.job_id = job_id
        self.checkpoint = checkpoint
        self.metric = metric
        self.mode = mode
        self.max_value = max_value
        self.min_value = min_value
        self.model_name = model_name
        #: What this run chose and exported (kept for lineage: extraction must not look anything up).
        self.chosen: dict[str, Any] = {}

    # ------------------------------------------------------------------------------------------------ execute
    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_dashscope.exceptions import CheckpointNotFoundError, NotFoundError, request_id_note

        job_id = validate_job_id(self.job_id)
        wanted = check_checkpoint_arg(self.checkpoint)
        max_value = check_threshold("max_value", self.max_value)
        min_value = check_threshold("min_value", self.min_value)
        if self.model_name:
            validate_export_model_name(self.model_name)
        hook = self.hook
        job = hook.get_fine_tune_job(job_id)
        self._check_job(job)
        try:
            checkpoints = hook.list_checkpoints(job_id)
        except NotFoundError as err:  # the job is there (it was just read): the API keeps no checkpoints of it
            missing: CheckpointNotFoundError | None = CheckpointNotFoundError(
                f"fine-tune job {job_id} has no checkpoints (HTTP 404{request_id_note(err.request_id)}); a job "
                "keeps checkpoints only for a while after it SUCCEEDED",
                export_id=f"{job_id}:{wanted}",
            )
        else:
            missing = None
        if missing is not None:
            raise missing  # outside the except block: the error needs no "during handling" chain
        choice = self._choose(job_id, wanted, checkpoints, max_value, min_value)
        model_name = self.model_name or default_model_name(job_id, choice.checkpoint)
        self.chosen = {
            "job_id": job_id,
            "checkpoint": choice.checkpoint,
            "step": choice.step,
            "metric": choice.metric,
            "metric_value": choice.value,
            "model_display_name": model_name,
            "finetuned_output": job.finetuned_output,
            "base_model": job.base_model,
        }
        for key in ("checkpoint", "step", "metric", "metric_value"):
            self._push(context, key, self.chosen[key])
        value = "" if choice.value is None else f", {choice.metric}={choice.value:g}"
        self.log.info("Chose %s (step %s%s) of fine-tune job %s", choice.checkpoint, choice.step, value, job_id)
        listed = next(c for c in checkpoints if c.checkpoint == choice.checkpoint)
        self._export(job_id, listed, model_name)
        from airflow_provider_dashscope.wait.exports import export_id

        resource_id = export_id(job_id, choice.checkpoint)
        self._announce(context, resource_id)
        return self._hand_on(context, resource_id, self._check(context, resource_id))

    @staticmethod
    def _check_job(job: FineTuneJob) -> None:
        """Checkpoints exist once the job SUCCEEDED: an earlier status may still get there, a final one not."""
        from airflow_provider_dashscope.exceptions import CheckpointNotFoundError, DashScopeError
        from airflow_provider_dashscope.models import JobStatus

        if job.status == JobStatus.SUCCEEDED:
            return
        text = f"fine-tune job {job.job_id} is {job.status_text}: its checkpoints can be exported once it SUCCEEDED"
        if job.is_terminal:
            raise CheckpointNotFoundError(text, export_id=f"{job.job_id}:checkpoint-none", status=job.status_text)
        raise DashScopeError(text + "; wait for it first (e.g. with DashScopeFineTuneJobSensor)")

    def _choose(
        self,
        job_id: str,
        wanted: str,
        checkpoints: Sequence[Checkpoint],
        max_value: float | None,
        min_value: float | None,
    ) -> CheckpointChoice:
        from airflow_provider_dashscope.exceptions import CheckpointNotFoundError, QualityGateError
        from airflow_provider_dashscope.tasks.checkpoints import read_training_log
        from airflow_provider_dashscope.wait import evaluation

        try:
            evaluations = evaluation.read_evaluations(read_training_log(self.hook, job_id))
            return evaluation.choose_checkpoint(
                wanted,
                [(c.checkpoint, c.step) for c in checkpoints],
                evaluations,
                job_id=job_id,
                metric=self.metric,
                mode=self.mode,
                max_value=max_value,
                min_value=min_value,
            )
        except evaluation.QualityGateError as err:
            failure: Exception = QualityGateError(
                str(err),
                job_id=job_id,
                checkpoint=err.choice.checkpoint,
                metric=err.choice.metric,
                value=err.choice.value,
                threshold=err.threshold,
            )
        except evaluation.NoEvaluationsError as err:
            failure = QualityGateError(str(err), job_id=job_id, metric=self.metric)
        except evaluation.UnknownCheckpointError as err:
            failure = CheckpointNotFoundError(str(err), export_id=f"{job_id}:{wanted}")
        raise failure  # outside the except blocks: the error needs no "during handling" chain

    def _export(self, job_id: str, listed: Checkpoint, model_name: str) -> None:
        """Start the export, or re-attach to the one an earlier try started under the same name."""
        from airflow_provider_dashscope.exceptions import ConflictError
        from airflow_provider_dashscope.models.checkpoints import CheckpointStatus

        exporting = (CheckpointStatus.PENDING, CheckpointStatus.PROCESSING, CheckpointStatus.SUCCEEDED)
        if listed.model_display_name == model_name and listed.status in exporting:
            self.log.info("Re-attaching to the export of %s as %s (%s)", listed.checkpoint, model_name, listed.status)
            return
        try:
            self.hook.export_checkpoint(job_id, listed.checkpoint, model_name)
        except ConflictError:
            if listed.status not in exporting:
                raise
            # The name is unique to this job and checkpoint, and the checkpoint is being exported: an earlier
            # try's export, whose name the list does not show until it SUCCEEDED.
            self.log.info(
                "The export of %s as %s was started by an earlier try; re-attaching", listed.checkpoint, model_name
            )
            return
        self.log.info("Exporting %s of fine-tune job %s as %s", listed.checkpoint, job_id, model_name)

    def _trigger(self, resource_id: str, **kwargs: Any) -> BaseTrigger:
        trigger = super()._trigger(resource_id, **kwargs)
        trigger.chosen = dict(self.chosen)  # type: ignore[attr-defined]  # handed back in the event
        return trigger

    def execute_complete(self, context: Context, event: Any = None) -> dict[str, Any]:
        if isinstance(event, dict) and isinstance(event.get("chosen"), dict):
            self.chosen = dict(event["chosen"])
        return super().execute_complete(context, event)

    def _on_success(self, context: Context, result: dict[str, Any]) -> None:
        from airflow_provider_dashscope.assets import region_of
        from airflow_provider_dashscope.lineage.records import LineageRecord

        result["metric"] = self.chosen.get("metric")
        result["metric_value"] = self.chosen.get("metric_value")
        self.chosen.update(result)
        chosen = self.chosen
        job_id = str(result["job_id"])
        output = ("models", str(result["model_name"]))
        self.lineage = LineageRecord(
            region=region_of(self.hook.config),
            inputs=[("models", str(chosen["finetuned_output"]))] if chosen.get("finetuned_output") else [],
            outputs=[output],
            facets={
                "dashscope_checkpointExport": {
                    "jobId": job_id,
                    "checkpoint": result.get("checkpoint"),
                    "step": result.get("step"),
                    "metric": chosen.get("metric"),
                    "metricValue": chosen.get("metric_value"),
                    "exportName": result.get("model_display_name"),
                    "modelName": result.get("model_name"),
                },
                "externalQuery": {"id": job_id, "source": "dashscope"},
            },
            output_facets={
                output: {
                    "dashscope_model": {
                        "baseModel": chosen.get("base_model"),
                        "jobId": job_id,
                        "checkpoint": result.get("checkpoint"),
                    }
                }
            },
        )
