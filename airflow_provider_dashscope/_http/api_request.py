"""What to send, with no I/O: a request, the ids in its path, its headers and its body.

Nothing here knows one API resource from another: a request names the resource it is about (``job_id=ft-...``,
``deployed_model=...``) only so that errors can say so. Reading the answers is :mod:`.api_response`, deciding on
another attempt :mod:`.retry`. The sync transport (``requests``) and the async one (``aiohttp``) call these
functions and only move bytes, so a fix here holds for both, and all of it is testable without a network.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

from airflow_provider_dashscope._checks.arguments import (  # where the id checks live (a DAG file runs them)
    MAX_ID_LENGTH as MAX_ID_LENGTH,
    check_int as check_int,
    validate_path_id as validate_path_id,
)

if TYPE_CHECKING:
    from airflow_provider_dashscope._config import ClientConfig


# --------------------------------------------------------------------------------------------------------------
# Requests
# --------------------------------------------------------------------------------------------------------------
class StreamedBody(Protocol):
    """A request body sent in chunks with a known length (a file upload), instead of a JSON ``body``.

    Iterating it again yields the same bytes again, so an attempt that is retried sends the whole body anew.
    """

    content_type: str

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[bytes]: ...


@dataclass(frozen=True, slots=True)  # a wait keeps its poll's request
class ApiRequest:
    """One API call, before any I/O.

    ``idempotent`` decides which failures may be retried; ``envelope`` is the key of the payload in a success
    answer (``output``, or ``data`` for the files API); ``resource_key``/``resource_id`` name what the call is about.
    ``stream`` is a body sent in chunks (an upload) in place of the JSON ``body``.
    """

    method: str
    path: str
    params: Mapping[str, Any] | None = None
    body: Mapping[str, Any] | None = None
    idempotent: bool = True
    resource_key: str = "id"
    resource_id: str | None = None
    envelope: str = "output"
    stream: StreamedBody | None = None

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def about(self) -> str:
        """`` (job_id=ft-...)`` for a call about one resource, else empty."""
        return f" ({self.resource_key}={self.resource_id})" if self.resource_id else ""

    def url(self, config: ClientConfig) -> str:
        return config.base_url + self.path


def path_segment(value: str) -> str:
    """A validated id, quoted for a URL path (``;``, ``=``, ``@`` and the like stay quoted)."""
    return quote(value, safe="")


def build_headers(config: ClientConfig, request: ApiRequest, user_agent: str) -> dict[str, str]:
    headers = {
        "Authorization": f"Bearer {config.api_key}",
        "Accept": "application/json",
        "User-Agent": user_agent,
    }
    if request.stream is not None:
        headers["Content-Type"] = request.stream.content_type
    elif request.body is not None:
        headers["Content-Type"] = "application/json"
    if config.workspace:
        headers["X-DashScope-WorkSpace"] = config.workspace
    return headers


def encode_body(request: ApiRequest) -> bytes | None:
    if request.body is None:
        return None
    return json.dumps(request.body, separators=(",", ":")).encode()
