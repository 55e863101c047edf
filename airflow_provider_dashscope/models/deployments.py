"""Typed, deeply immutable models of deployments and pages of deployments (no I/O).

:meth:`Deployment.from_api` turns the ``output`` of a deployment answer (create, get, scale, delete, and the items
of a list) into a frozen dataclass with every documented field; the whole object stays in :attr:`Deployment.raw`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

from airflow_provider_dashscope._config import DEFAULT_API_TIME_ZONE
from airflow_provider_dashscope.exceptions import InvalidResponseError
from airflow_provider_dashscope.models._fields import FrozenDict, fields_from_api, opt_int, warn_unknown_status_once

if TYPE_CHECKING:
    import pendulum

__all__ = ["Deployment", "DeploymentPage", "DeploymentStatus"]


class DeploymentStatus(str, Enum):
    """Status of a deployment, spelled as the API spells it.

    The documentation pages list different sets; this is their union. A deployment serves when ``RUNNING``.
    """

    PENDING = "PENDING"
    DEPLOYING = "DEPLOYING"
    RUNNING = "RUNNING"
    UPDATING = "UPDATING"
    UPDATING_FAILED = "UPDATING_FAILED"
    STOPPED = "STOPPED"
    OFFLINING = "OFFLINING"
    ARREARS_DOWN = "ARREARS_DOWN"
    ARREARS_RECOVERING = "ARREARS_RECOVERING"
    DELETING = "DELETING"
    FAILED = "FAILED"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, value: str) -> DeploymentStatus | str:
        """Return the enum member, or the text itself for a status this provider does not know yet."""
        try:
            return cls(value)
        except ValueError:
            warn_unknown_status_once("deployment", value)
            return value


def _bad(what: str, request_id: str | None, deployed_model: str | None = None) -> InvalidResponseError:
    return InvalidResponseError(
        what,
        status_code=200,
        code="InvalidResponse",
        request_id=request_id,
        resource_id=deployed_model,
        resource_key="deployed_model",
    )


@dataclass(frozen=True)
class Deployment:
    """One deployment of a model, as ``GET /deployments/{deployed_model}`` returns it.

    ``deployed_model`` is the name to call the model by (and the id of the deployment); ``model_name`` the model
    deployed (a base model or a fine-tune's ``finetuned_output``). Times are ``gmt_create``/``gmt_modified``
    (the API sends them without a zone; they are read in the connection's ``time_zone``).
    """

    deployed_model: str
    status: DeploymentStatus | str
    model_name: str | None = None
    base_model: str | None = None
    capacity: int | None = None
    ready_capacity: int | None = None
    base_capacity: int | None = None
    plan: str | None = None
    charge_type: str | None = None
    gmt_create: pendulum.DateTime | None = None
    gmt_modified: pendulum.DateTime | None = None
    workspace_id: str | None = None
    creator: str | None = None
    modifier: str | None = None
    model_unit_spec: str | None = None
    enable_thinking: bool | None = None
    max_context_length: int | None = None
    rpm_limit: int | None = None
    tpm_limit: int | None = None
    request_id: str | None = None
    raw: Mapping[str, Any] = field(default_factory=FrozenDict, repr=False, compare=False, hash=False)

    @property
    def status_text(self) -> str:
        return str(self.status)

    @property
    def is_running(self) -> bool:
        return self.status == DeploymentStatus.RUNNING

    @classmethod
    def from_api(
        cls, output: Any, request_id: str | None = None, *, time_zone: str = DEFAULT_API_TIME_ZONE
    ) -> Deployment:
        """Build a deployment from an answer's ``output``; :class:`InvalidResponseError` if it is not one."""
        if not isinstance(output, Mapping):
            raise _bad(f"expected a deployment object in 'output', got {type(output).__name__}", request_id)
        name = output.get("deployed_model")
        status = output.get("status")
        if not isinstance(name, str) or not name:
            raise _bad("the deployment object has no 'deployed_model'", request_id)
        if not isinstance(status, str) or not status:
            raise _bad("the deployment object has no 'status'", request_id, name)
        raw = FrozenDict(output)  # frozen once; the fields read from it
        return cls(
            **fields_from_api(
                cls,
                raw,
                time_zone=time_zone,
                deployed_model=name,
                status=DeploymentStatus.parse(status),
                request_id=request_id,
                raw=raw,
            )
        )

    def summary(self) -> dict[str, Any]:
        """A small JSON-safe dict for XCom and trigger events; never the raw answer."""
        return {
            "deployed_model": self.deployed_model,
            "model_name": self.model_name,
            "base_model": self.base_model,
            "status": self.status_text,
            "capacity": self.capacity,
            "ready_capacity": self.ready_capacity,
            "plan": self.plan,
            "gmt_create": self.gmt_create.isoformat() if self.gmt_create else None,
            "gmt_modified": self.gmt_modified.isoformat() if self.gmt_modified else None,
            "request_id": self.request_id,
        }


@dataclass(frozen=True)
class DeploymentPage:
    """One page of ``GET /deployments``."""

    page_no: int
    page_size: int
    #: Deployments across all pages, or ``None`` when the API did not say.
    total: int | None
    deployments: tuple[Deployment, ...]
    request_id: str | None = None

    @classmethod
    def from_api(
        cls, output: Any, request_id: str | None = None, *, time_zone: str = DEFAULT_API_TIME_ZONE
    ) -> DeploymentPage:
        if not isinstance(output, Mapping) or not isinstance(output.get("deployments", []), list):
            raise _bad("expected a page of deployments in 'output'", request_id)
        items = tuple(
            Deployment.from_api(item, request_id, time_zone=time_zone) for item in output.get("deployments") or []
        )
        return cls(
            page_no=opt_int(output.get("page_no")) or 1,
            page_size=opt_int(output.get("page_size")) or len(items),
            total=opt_int(output.get("total")),
            deployments=items,
            request_id=request_id,
        )
