"""Operators that wait on (or submit and wait on) a fine-tune job and hand its result on through XCom."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_dashscope._checks.arguments import config_error, is_templated
from airflow_provider_dashscope.lineage import LineageMixin
from airflow_provider_dashscope.links import DashScopeFineTuneJobLink
from airflow_provider_dashscope.operators._wait import ResourceWaitOperator
from airflow_provider_dashscope.tasks.fine_tunes import FINE_TUNE_JOB_WAIT

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_dashscope.hooks.dashscope import DashScopeHook
    from airflow_provider_dashscope.lineage.records import LineageRecord
    from airflow_provider_dashscope.models import FineTuneJob
    from airflow_provider_dashscope.wait.outcomes import WaitEvent

__all__ = ["DashScopeCreateFineTuneJobOperator", "DashScopeFineTuneJobLink", "DashScopeFineTuneJobOperator"]


class _FineTuneJobResult(LineageMixin):
    """What the two operators do with a job that succeeded: the asset event of its model, and its lineage (inputs:
    the job's training and validation files; output: its model; run facets: the job).

    A plain mixin, not an operator class: each operator takes ``log_training_progress`` in its own ``__init__``
    (where Airflow applies ``default_args``), so building a task runs no extra ``__init__`` through Airflow.
    """

    hook: DashScopeHook
    lineage: LineageRecord | None
    log: Any

    def _on_success(self, context: Context, result: dict[str, Any]) -> None:
        """When ``outlets`` include an asset alias: an asset event for the model the job produced."""
        if not result.get("finetuned_output"):
            return
        from airflow_provider_dashscope.assets import add_asset_events, model_uri, region_of

        region = region_of(self.hook.config)
        extra = {key: result.get(key) for key in ("job_id", "model", "base_model", "finetuned_output", "usage")}
        extra.update(status=result.get("status"), region=region)
        add_asset_events(self, context, model_uri(region, str(result["finetuned_output"])), extra)
        self._keep_lineage(region, result)

    def _keep_lineage(self, region: str, result: dict[str, Any]) -> None:
        """The job's lineage, read once more from the API only when OpenLineage will emit it (best effort)."""
        from airflow_provider_dashscope.lineage.records import LineageRecord, lineage_enabled

        if not lineage_enabled():
            return
        from airflow_provider_dashscope.exceptions import DashScopeError

        job_id = str(result["job_id"])
        try:
            job: FineTuneJob | None = self.hook.get_fine_tune_job(job_id)
        except DashScopeError as err:
            self.log.warning("Could not read fine-tune job %s for its lineage: %s", job_id, err)
            job = None
        training = list(job.training_file_ids) if job else []
        validation = list(job.validation_file_ids) if job else []
        output = ("models", str(result["finetuned_output"]))
        self.lineage = LineageRecord(
            region=region,
            inputs=[("files", file_id) for file_id in training + validation],
            outputs=[output],
            facets={
                "dashscope_fineTune": {
                    "jobId": job_id,
                    "consoleUrl": self.hook.console_url(job_id),
                    "model": result.get("model"),
                    "baseModel": result.get("base_model"),
                    "trainingType": job.training_type if job else None,
                    "hyperParameters": dict(job.raw_dict().get("hyper_parameters") or {}) if job else {},
                    "usageTokens": result.get("usage"),
                    "status": result.get("status"),
                    "trainingFileIds": training,
                    "validationFileIds": validation,
                },
                "externalQuery": {"id": job_id, "source": "dashscope"},
            },
            output_facets={output: {"dashscope_model": {"baseModel": result.get("base_model"), "jobId": job_id}}},
        )


class DashScopeFineTuneJobOperator(_FineTuneJobResult, ResourceWaitOperator):
    """
    Wait for an existing fine-tune job and push its result to XCom.

    XCom keys: ``job_id``, ``job_url`` (pushed at once), ``status``, ``finetuned_output`` and ``usage``; the
    return value is a small dict (``job_id``, ``status``, ``finetuned_output``, ``usage``, ``model``,
    ``base_model``, ``create_time``, ``end_time``). A FAILED or CANCELED job, or an unknown job id, fails the
    task without retries (``soft_fail=True`` skips instead).

    :param job_id: The fine-tune job id (templated).
    :param dashscope_conn_id: The DashScope connection id (templated).
    :param wait_for_completion: Wait until the job ends (default); ``False`` reports the job as it is now.
    :param deferrable: Wait in the triggerer. Defaults to ``[operators] default_deferrable``.
    :param poll_interval: Seconds between checks.
    :param timeout: Seconds to wait at most (also bounded by ``execution_timeout``); ``None`` for no bound.
    :param max_consecutive_failures: Failed polls in a row (network, 429, 5xx) tolerated before failing.
    :param soft_fail: Skip instead of failing when the job fails, is cancelled, is unknown or the wait times out.
    :param log_training_progress: While waiting and the job is RUNNING, log its training progress (epoch, step,
        loss, time left) every few polls, and a summary on success (default ``True``; best effort).
    """

    resource = FINE_TUNE_JOB_WAIT
    operator_extra_links = (DashScopeFineTuneJobLink(),)
    template_fields: Sequence[str] = ("job_id", "dashscope_conn_id")

    def __init__(self, *, job_id: str, log_training_progress: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._take_id(job_id)
        self.log_training_progress = bool(log_training_progress)

    def execute(self, context: Context) -> dict[str, Any]:
        job_id = self._rendered_id()
        self._announce(context, job_id)
        return self._hand_on(context, job_id, self._check(context, job_id))


class DashScopeCreateFineTuneJobOperator(_FineTuneJobResult, ResourceWaitOperator):
    """
    Submit a fine-tune job, push its ``job_id`` at once, then wait and push results like
    :class:`DashScopeFineTuneJobOperator`.

    On a retry of the task, the job an earlier try submitted is found again by its ``job_name`` (by default a
    name unique to the task instance) and re-attached when it is still running or has succeeded, so a retry never
    pays for a duplicate. ``cancel_on_kill`` cancels the job when the task is killed, and when the wait times out.

    :param model: The base model (or an earlier fine-tune's output model) to train (templated).
    :param training_file_ids: Uploaded training file ids (templated).
    :param validation_file_ids: Uploaded validation file ids (templated).
    :param hyper_parameters: Hyperparameters, e.g. ``{"n_epochs": 3}`` (templated, rendered as JSON). A dict: a
        string is refused at DAG parse; a key that is not a documented hyper-parameter is sent with a WARNING
        (with "did you mean" for a near miss).
    :param training_type: ``sft``, ``efficient_sft``, ``dpo_full``... (templated; the API defaults to ``sft``).
    :param job_name: Name of the job (templated). Default: ``<task_id>-<hash of dag, task, run, map index>``.
    :param cancel_on_kill: Cancel the job when the task is killed or times out (default ``True``).
    :param reattach_on_retry: Re-attach to the earlier try's job instead of submitting again (default ``True``).
    """

    resource = FINE_TUNE_JOB_WAIT
    operator_extra_links = (DashScopeFineTuneJobLink(),)
    template_fields: Sequence[str] = (
        "model",
        "training_file_ids",
        "validation_file_ids",
        "hyper_parameters",
        "training_type",
        "job_name",
        "dashscope_conn_id",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {
        "hyper_parameters": "json",
        "training_file_ids": "json",
        "validation_file_ids": "json",
    }

    #: Jobs looked at, newest first, when searching for an earlier try's job.
    REATTACH_SCAN_LIMIT = 500

    def __init__(
        self,
        *,
        model: str,
        training_file_ids: list[str] | str,
        validation_file_ids: list[str] | str | None = None,
        hyper_parameters: dict[str, Any] | None = None,
        training_type: str | None = None,
        job_name: str | None = None,
        cancel_on_kill: bool = True,
        reattach_on_retry: bool = True,
        log_training_progress: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.log_training_progress = bool(log_training_progress)
        if model is None or (isinstance(model, str) and not model.strip()):
            raise config_error(f"model must be a model id such as 'qwen3-14b', got {model!r}")
        if training_file_ids is None or training_file_ids == [] or training_file_ids == "":
            raise config_error("training_file_ids must list at least one uploaded training file id")
        if hyper_parameters is not None and not is_templated(hyper_parameters):
            # a literal is checked at DAG parse; a template's value in execute
            from airflow_provider_dashscope._checks.hyper_parameters import check_hyper_parameters

            for warning in check_hyper_parameters(hyper_parameters):
                self.log.warning("%s", warning)
        self.model = model
        self.training_file_ids = training_file_ids
        self.validation_file_ids = validation_file_ids
        self.hyper_parameters = hyper_parameters
        self.training_type = training_type
        self.job_name = job_name
        self.cancel_on_kill = cancel_on_kill
        self.reattach_on_retry = reattach_on_retry
        self._job_id: str | None = None

    def _default_job_name(self, context: Context) -> str:
        import re

        from airflow_provider_dashscope.tasks.identity import task_instance_token

        return f"{re.sub(r'[^A-Za-z0-9_-]+', '-', context['ti'].task_id)[:40]}-{task_instance_token(context)}"

    def execute(self, context: Context) -> dict[str, Any]:
        job_name = self.job_name or self._default_job_name(context)
        from airflow_provider_dashscope._checks.hyper_parameters import check_hyper_parameters

        for warning in check_hyper_parameters(self.hyper_parameters):
            self.log.warning("%s", warning)
        from airflow_provider_dashscope.resources.fine_tunes import create_job_request

        request = create_job_request(  # validates the rendered arguments before any request
            model=self.model,
            training_file_ids=self.training_file_ids,
            validation_file_ids=self.validation_file_ids,
            hyper_parameters=self.hyper_parameters,
            training_type=self.training_type,
            job_name=job_name,
        )
        hook = self.hook
        job = self._find_earlier_job(context, hook, job_name) if self.reattach_on_retry else None
        if job is not None:
            self.log.info("Re-attaching to fine-tune job %s (%s) from an earlier try", job.job_id, job.status_text)
        else:
            assert request.body is not None
            job = hook.create_fine_tune_job(**request.body)
            self.log.info("Submitted fine-tune job %s (name %s, model %s)", job.job_id, job_name, job.model)
        self._job_id = job.job_id
        self._announce(context, job.job_id)
        return self._hand_on(context, job.job_id, job)

    def _find_earlier_job(self, context: Context, hook: DashScopeHook, job_name: str) -> FineTuneJob | None:
        from airflow_provider_dashscope.models import JobStatus
        from airflow_provider_dashscope.tasks.identity import run_start, try_number

        if try_number(context) <= 1:
            return None
        started = run_start(context)
        # Jobs created before the DAG run started cannot be an earlier try's. The margin covers clock skew and a
        # wrong guess of the zone the API's zone-less create_time is in.
        created_after = started - timedelta(days=1) if started is not None else None
        jobs = hook.iter_fine_tune_jobs(page_size=100, model=self.model, created_after=created_after)
        # The default name is unique to this task instance; a name the DAG author chose may repeat from run to
        # run, so then only a job created since this DAG run started can be an earlier try's.
        started_after = started - timedelta(minutes=5) if (self.job_name and started is not None) else None
        for seen, job in enumerate(jobs):
            if seen >= self.REATTACH_SCAN_LIMIT:
                break
            if started_after is not None and job.create_time is not None and job.create_time < started_after:
                continue
            if job.job_name == job_name and job.status not in (
                JobStatus.FAILED,
                JobStatus.CANCELED,
                JobStatus.CANCELING,
            ):
                return job
        return None

    def _cancel(self, job_id: str, why: str) -> None:
        from airflow_provider_dashscope.exceptions import DashScopeError, UnsupportedOperationError

        try:
            self.hook.cancel_fine_tune_job(job_id)
        except UnsupportedOperationError:
            self.log.info("Fine-tune job %s already ended; nothing to cancel.", job_id)
        except DashScopeError as err:
            self.log.warning("Could not cancel fine-tune job %s (%s): %s", job_id, why, err)
        else:
            self.log.info("Requested cancellation of fine-tune job %s (%s).", job_id, why)

    def on_kill(self) -> None:
        if self.cancel_on_kill and self._job_id:
            self._cancel(self._job_id, "the task was killed")

    def _on_timeout(self, event: WaitEvent) -> None:
        if self.cancel_on_kill:
            self._cancel(event.resource_id, "the wait timed out")
