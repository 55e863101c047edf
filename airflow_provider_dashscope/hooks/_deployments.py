"""The deployments API methods of :class:`~airflow_provider_dashscope.hooks.dashscope.DashScopeHook`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from airflow_provider_dashscope._console import deployment_console_url
from airflow_provider_dashscope.hooks._paging import iter_pages
from airflow_provider_dashscope.resources import deployments

if TYPE_CHECKING:
    from airflow_provider_dashscope._config import ClientConfig
    from airflow_provider_dashscope._http.api_request import ApiRequest
    from airflow_provider_dashscope._http.api_response import Parser
    from airflow_provider_dashscope.models import Deployment, DeploymentPage

T = TypeVar("T")


class DeploymentsMixin:
    """Create, read, scale and delete deployments (a model served for calls)."""

    if TYPE_CHECKING:

        @property
        def config(self) -> ClientConfig: ...

        def _send(self, request: ApiRequest, parse: Parser[T]) -> T: ...

        async def _asend(self, request: ApiRequest, parse: Parser[T]) -> T: ...

    def deployment_console_url(self, deployed_model: str) -> str:
        """Link to a deployment in the Model Studio console of the connection's region."""
        config = self.config
        return deployment_console_url(deployed_model, region=config.region, base_url=config.base_url)

    def create_deployment(
        self,
        model_name: str,
        *,
        capacity: int = 1,
        plan: str | None = None,
        suffix: str | None = None,
        **api_fields: Any,
    ) -> Deployment:
        """``POST /deployments``: deploy ``model_name`` (a base model or a fine-tune's ``finetuned_output``).

        The answer is the new deployment, usually ``PENDING``; it serves once ``RUNNING``. ``api_fields`` are sent
        as they are (``deploy_spec``, ``billing_method``, ``rpm_limit``...). Retried only when the API certainly
        did not create it (refused, 429), so a retry never pays for a second deployment. A second deployment of
        the same model without a new ``suffix`` is refused by the API (``ConflictError``).
        """
        request = deployments.create_deployment_request(
            model_name, capacity=capacity, plan=plan, suffix=suffix, api_fields=api_fields
        )
        return self._send(request, deployments.parse_deployment)

    def get_deployment(self, deployed_model: str) -> Deployment:
        """``GET /deployments/{deployed_model}``; an unknown (or deleted) deployment raises ``NotFoundError``."""
        return self._send(deployments.get_deployment_request(deployed_model), deployments.parse_deployment)

    async def aget_deployment(self, deployed_model: str) -> Deployment:
        """Async ``GET /deployments/{deployed_model}``; never blocks the event loop."""
        return await self._asend(deployments.get_deployment_request(deployed_model), deployments.parse_deployment)

    def list_deployments(self, page_no: int = 1, page_size: int = 50) -> DeploymentPage:
        """``GET /deployments``: one page (``page_size`` 1..200)."""
        return self._send(deployments.list_deployments_request(page_no, page_size), deployments.parse_page)

    def iter_deployments(self, page_size: int = 100) -> Iterator[Deployment]:
        """Every deployment, page after page, each once."""
        deployments.list_deployments_request(1, page_size)  # checks the arguments before the first request

        def fetch(page_no: int) -> tuple[tuple[Deployment, ...], int | None]:
            page = self.list_deployments(page_no=page_no, page_size=page_size)
            return page.deployments, page.total

        return iter_pages(fetch, page_size, key=lambda item: item.deployed_model)

    def scale_deployment(self, deployed_model: str, capacity: int) -> Deployment:
        """``PUT /deployments/{deployed_model}/scale``: the deployment becomes ``UPDATING``, then ``RUNNING``."""
        return self._send(deployments.scale_deployment_request(deployed_model, capacity), deployments.parse_deployment)

    def delete_deployment(self, deployed_model: str) -> Deployment:
        """``DELETE /deployments/{deployed_model}``: the answer is the deployment, ``DELETING``; once deleted, a get
        is a 404. An unknown deployment raises ``NotFoundError``."""
        request = deployments.delete_deployment_request(deployed_model)
        return self._send(request, deployments.deletion_parser(deployed_model))
