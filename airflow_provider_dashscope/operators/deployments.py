"""Operators that deploy a model (and wait until it serves) and delete a deployment (and wait until it is gone)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_dashscope._checks.arguments import check_id_arg, check_rendered_id, is_templated, template_of
from airflow_provider_dashscope._checks.resources import (
    MODEL_NAME_HINT,
    check_api_fields,
    check_capacity,
    check_plan,
    check_suffix,
    validate_model_name,
)
from airflow_provider_dashscope.lineage import LineageMixin
from airflow_provider_dashscope.links import DashScopeDeploymentLink
from airflow_provider_dashscope.operators._wait import ResourceWaitOperator
from airflow_provider_dashscope.tasks.deployments import DEPLOYMENT_DELETION_WAIT, DEPLOYMENT_WAIT

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_dashscope.hooks.dashscope import DashScopeHook
    from airflow_provider_dashscope.models import Deployment
    from airflow_provider_dashscope.wait.outcomes import WaitEvent

__all__ = ["DashScopeDeleteDeploymentOperator", "DashScopeDeployModelOperator", "DashScopeDeploymentLink"]


class DashScopeDeployModelOperator(LineageMixin, ResourceWaitOperator):
    """
    Deploy a model (typically a fine-tune's ``finetuned_output``), push its ``deployed_model`` at once, then wait
    until it is RUNNING (deferrable or not) and push ``status``.

    A deployment that ends ``FAILED``, or in another status from which it does not become RUNNING (``STOPPED``,
    ``DELETING``...), fails the task without retries; the message names the status and the request id. The
    return value is ``{"deployed_model", "model_name", "base_model", "status", "capacity", "ready_capacity",
    "plan", "gmt_create", "gmt_modified"}``. When the task's ``outlets`` include an asset alias, it adds an asset
    event ``dashscope://<region>/deployments/<deployed_model>`` (see :mod:`airflow_provider_dashscope.assets`)
    once the deployment serves.

    **Retries.** On a retry of the task (``reattach_on_retry``, the default), the deployment the earlier try
    created is re-attached instead of paying for a second one: a deployment of this ``model_name`` (named
    ``<model_name>-<suffix>`` when a ``suffix`` is given) created since this DAG run started (the API's
    ``gmt_create``, read in the connection's ``time_zone``, with 5 minutes' margin) that can still serve (not
    ``FAILED``, ``STOPPED``, ``DELETING``...). A deployment is never deleted by this operator (not on kill, not on
    timeout): use :class:`DashScopeDeleteDeploymentOperator`.

    :param model_name: The model to deploy (templated): a base model id or a fine-tune's ``finetuned_output``.
    :param capacity: Capacity units (an integer from 1 to 999, a multiple of the model's base capacity).
    :param plan: The billing plan, e.g. ``lora``, ``mu``, ``ptu`` (templated); the API's default when ``None``.
    :param suffix: Up to 8 lower-case letters or digits added to the deployed model's name (templated); needed to
        deploy a model that is deployed already.
    :param api_fields: Further fields of the create call, e.g. ``{"deploy_spec": "MU1", "billing_method":
        "POST_PAY"}`` (templated, shown as JSON).
    :param wait_for_completion: Wait until it serves (default); ``False`` returns once it is created.
    :param deferrable: Wait in the triggerer. Defaults to ``[operators] default_deferrable``.
    :param poll_interval: Seconds between checks.
    :param timeout: Seconds to wait at most (also bounded by ``execution_timeout``); ``None`` for no bound.
    :param max_consecutive_failures: Failed polls in a row (network, 429, 5xx) tolerated before failing.
    :param soft_fail: Skip instead of failing when the deployment fails or the wait times out.
    :param reattach_on_retry: Re-attach to the earlier try's deployment instead of creating another.
    """

    resource = DEPLOYMENT_WAIT
    operator_extra_links = (DashScopeDeploymentLink(),)
    template_fields: Sequence[str] = ("model_name", "plan", "suffix", "api_fields", "dashscope_conn_id")
    template_fields_renderers: ClassVar[dict[str, str]] = {"api_fields": "json"}

    #: Deployments looked at, newest first, when searching for an earlier try's deployment.
    REATTACH_SCAN_LIMIT = 500
    #: How long before the DAG run's start a deployment may have been created and still be an earlier try's.
    REATTACH_MARGIN = timedelta(minutes=5)

    def __init__(
        self,
        *,
        model_name: str,
        capacity: int = 1,
        plan: str | None = None,
        suffix: str | None = None,
        api_fields: dict[str, Any] | None = None,
        reattach_on_retry: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        check_id_arg(model_name, validate_model_name, field_name="model_name", hint=MODEL_NAME_HINT)
        check_capacity(capacity)
        if not is_templated(suffix):
            check_suffix(suffix)
        if not is_templated(plan):
            check_plan(plan)
        if api_fields is None or isinstance(api_fields, dict):
            check_api_fields(api_fields)
        self.model_name = model_name
        self._model_name_template = template_of(model_name)
        self.capacity = capacity
        self.plan = plan
        self.suffix = suffix
        self.api_fields = api_fields
        self.reattach_on_retry = reattach_on_retry

    def execute(self, context: Context) -> dict[str, Any]:
        self.model_name = check_rendered_id(
            self.model_name,
            validate_model_name,
            field_name="model_name",
            template=self._model_name_template,
            hint=MODEL_NAME_HINT,
        )
        suffix = self.suffix or None  # a template that rendered to nothing means no suffix
        plan = self.plan or None
        from airflow_provider_dashscope.resources.deployments import create_deployment_request

        request = create_deployment_request(  # validates the rendered arguments before any request
            self.model_name, capacity=self.capacity, plan=plan, suffix=suffix, api_fields=self.api_fields
        )
        assert request.body is not None
        hook = self.hook
        deployment = self._find_earlier_deployment(context, hook, suffix) if self.reattach_on_retry else None
        if deployment is not None:
            self.log.info(
                "Re-attaching to deployment %s (%s) from an earlier try", deployment.deployed_model, deployment.status
            )
        else:
            body = dict(request.body)
            model_name = body.pop("model_name")
            deployment = hook.create_deployment(model_name, **body)
            self.log.info(
                "Created deployment %s of model %s (capacity %s, %s; request_id=%s)",
                deployment.deployed_model,
                deployment.model_name or self.model_name,
                deployment.capacity,
                deployment.status_text,
                deployment.request_id,
            )
        self._announce(context, deployment.deployed_model)
        return self._hand_on(context, deployment.deployed_model, deployment)

    def _find_earlier_deployment(self, context: Context, hook: DashScopeHook, suffix: str | None) -> Deployment | None:
        from airflow_provider_dashscope.tasks.identity import run_start, try_number

        if try_number(context) <= 1:
            return None
        started = run_start(context)
        if started is None:
            self.log.info("No DAG run start time in the context: not looking for an earlier try's deployment")
            return None
        from airflow_provider_dashscope.wait.deployments import NEVER_RUNNING

        created_after = started - self.REATTACH_MARGIN
        for seen, deployment in enumerate(hook.iter_deployments(page_size=100)):
            if seen >= self.REATTACH_SCAN_LIMIT:
                break
            if deployment.model_name != self.model_name:
                continue
            if suffix is not None and not deployment.deployed_model.endswith(f"-{suffix}"):
                continue
            if deployment.gmt_create is None or deployment.gmt_create < created_after:
                continue
            if deployment.status not in NEVER_RUNNING:
                return deployment
        return None

    def _on_success(self, context: Context, result: dict[str, Any]) -> None:
        from airflow_provider_dashscope.assets import add_asset_events, deployment_uri, region_of
        from airflow_provider_dashscope.lineage.records import LineageRecord

        region = region_of(self.hook.config)
        extra = {
            "deployed_model": result.get("deployed_model"),
            "model_name": result.get("model_name"),
            "base_model": result.get("base_model"),
            "status": result.get("status"),
            "capacity": result.get("capacity"),
            "region": region,
        }
        add_asset_events(self, context, deployment_uri(region, str(result["deployed_model"])), extra)
        output = ("deployments", str(result["deployed_model"]))
        self.lineage = LineageRecord(
            region=region,
            inputs=[("models", str(result["model_name"]))] if result.get("model_name") else [],
            outputs=[output],
            output_facets={
                output: {
                    "dashscope_deployment": {
                        "modelName": result.get("model_name"),
                        "baseModel": result.get("base_model"),
                        "capacity": result.get("capacity"),
                        "status": result.get("status"),
                    }
                }
            },
        )


class DashScopeDeleteDeploymentOperator(ResourceWaitOperator):
    """
    Delete (undeploy) a deployment and, by default, wait until it is gone (a get answers 404).

    A deployment that is already gone (404) is a success, so the task is idempotent: running it again, or a retry
    after the delete went through, succeeds. The return value is ``{"deployed_model", "model_name", "status",
    "deleted"}``: ``status`` is the last status seen (``DELETING``, or ``None`` when it was gone already) and
    ``deleted`` is ``True`` once the deployment is confirmed gone (``False`` with ``wait_for_completion=False``).

    :param deployed_model: The deployment's ``deployed_model`` name (templated).
    :param wait_for_completion: Wait until it is gone (default); ``False`` returns once the delete is accepted.
    :param deferrable: Wait in the triggerer. Defaults to ``[operators] default_deferrable``.
    :param poll_interval: Seconds between checks.
    :param timeout: Seconds to wait at most; ``None`` for no bound.
    """

    resource = DEPLOYMENT_DELETION_WAIT  # a 404 ends the wait well
    operator_extra_links = (DashScopeDeploymentLink(),)
    template_fields: Sequence[str] = ("deployed_model", "dashscope_conn_id")

    def __init__(self, *, deployed_model: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._take_id(deployed_model)

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow_provider_dashscope.exceptions import NotFoundError

        name = self._rendered_id()
        try:
            deployment = self.hook.delete_deployment(name)
        except NotFoundError as err:
            self.log.info("Deployment %s is gone already (HTTP 404, request_id=%s)", name, err.request_id)
            return {"deployed_model": name, "model_name": None, "status": None, "deleted": True}
        self.log.info("Deleting deployment %s (%s; request_id=%s)", name, deployment.status_text, deployment.request_id)
        self._announce(context, name)
        if self.wait_for_completion:
            return self._wait_on(context, name, deployment)
        return {**self.wait_policy.result_of(deployment.summary()), "deleted": False}

    def _complete(self, context: Context, event: WaitEvent) -> dict[str, Any]:
        result = super()._complete(context, event)
        # A wait whose first poll found it gone saw no deployment: the name is still the one this task deleted.
        return {**result, "deployed_model": result.get("deployed_model") or event.resource_id, "deleted": True}
