"""The files resource (``/files``): requests to build and answers to parse, with no I/O.

The files API differs from the others in two ways this module handles:

* its payload is under ``data``, not ``output`` (``ApiRequest(envelope="data")``); a delete answers with the
  request id alone;
* an unknown file id is a **400** ``InvalidParameter`` "File not found." (not a 404). As the official SDK (2.x)
  does, :func:`as_not_found` turns that answer into a :class:`~airflow_provider_dashscope.exceptions.NotFoundError`
  (keeping the real status, 400), so callers handle one "not found" for every resource.

An upload reports each file it refused in ``failed_uploads`` inside a success answer; :func:`parse_upload` raises
:class:`~airflow_provider_dashscope.exceptions.FileUploadError` with that entry's code and message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from airflow_provider_dashscope._checks.training_file import LocalFile
from airflow_provider_dashscope._http.api_request import ApiRequest, check_int, path_segment, validate_path_id
from airflow_provider_dashscope._http.multipart import MultipartUpload
from airflow_provider_dashscope.exceptions import (
    DashScopeAPIError,
    DashScopeConfigError,
    FileUploadError,
    InvalidResponseError,
    NotFoundError,
)

if TYPE_CHECKING:
    from airflow_provider_dashscope._config import ClientConfig
    from airflow_provider_dashscope.models import DashScopeFile, DashScopeFilePage

EXAMPLE_FILE_ID = "9G2EaQtq7p1fw7oRhYXdHTtDFYAMVQSh95432B38CAB211EDB8F952C2E8001733"
_FILE_NOT_FOUND = re.compile(r"file\s+not\s+found", re.IGNORECASE)


def validate_file_id(file_id: Any, *, field_name: str = "file_id") -> str:
    """Return ``file_id`` if it can safely go into a URL path, else raise a ``ValueError`` that shows it."""
    hint = "pass the file_id an upload returned (DashScopeUploadFileOperator's XCom)"
    return validate_path_id(file_id, field_name=field_name, noun="file id", hint=hint)


def _file_request(method: str, file_id: str) -> ApiRequest:
    path = f"/files/{path_segment(validate_file_id(file_id))}"
    return ApiRequest(method, path, resource_key="file_id", resource_id=file_id, envelope="data")


def get_file_request(file_id: str) -> ApiRequest:
    return _file_request("GET", file_id)


def delete_file_request(file_id: str) -> ApiRequest:
    return _file_request("DELETE", file_id)


def list_files_request(page_no: int = 1, page_size: int = 10) -> ApiRequest:
    params = {"page_no": check_int("page_no", page_no, 1), "page_size": check_int("page_size", page_size, 1, 100)}
    return ApiRequest("GET", "/files", params=params, envelope="data")


def check_description(description: Any) -> str | None:
    if description is not None and not isinstance(description, str):
        raise DashScopeConfigError(f"description must be a string or None, got {type(description).__name__}")
    return description


def upload_request(local: LocalFile, description: str | None = None) -> ApiRequest:
    """``POST /files`` with one checked local file. Not idempotent: retried only when the API certainly did not act."""
    body = MultipartUpload(local.path, local.name, local.size, check_description(description))
    return ApiRequest(
        "POST",
        "/files",
        idempotent=False,
        resource_key="file_name",
        resource_id=local.name,
        envelope="data",
        stream=body,
    )


def as_not_found(error: DashScopeAPIError) -> DashScopeAPIError:
    """The files API's "File not found." (a 400 ``InvalidParameter``) as a :class:`NotFoundError`; else ``error``."""
    if isinstance(error, NotFoundError) or error.status_code != 400 or not _FILE_NOT_FOUND.search(error.message):
        return error
    return NotFoundError(
        error.message,
        status_code=error.status_code,
        code=error.code,
        request_id=error.request_id,
        resource_id=error.resource_id,
        resource_key=error.resource_key,
    )


def parse_file(data: Any, request_id: str | None, config: ClientConfig) -> DashScopeFile:
    from airflow_provider_dashscope.models import DashScopeFile  # at run time only: a DAG file never loads models

    return DashScopeFile.from_api(data, request_id, time_zone=config.time_zone)


def parse_page(data: Any, request_id: str | None, config: ClientConfig) -> DashScopeFilePage:
    from airflow_provider_dashscope.models import DashScopeFilePage

    return DashScopeFilePage.from_api(data, request_id, time_zone=config.time_zone)


def parse_deleted(data: Any, request_id: str | None, config: ClientConfig) -> str | None:
    """A delete answers with its request id alone."""
    return request_id


def parse_upload(data: Any, request_id: str | None, config: ClientConfig) -> DashScopeFile:
    """The one file of an upload answer; :class:`FileUploadError` when the API listed it in ``failed_uploads``."""
    if not isinstance(data, Mapping):
        raise _bad_upload(f"expected the upload result in 'data', got {type(data).__name__}", request_id)
    failed = data.get("failed_uploads") or []
    uploaded = data.get("uploaded_files") or []
    if not isinstance(failed, list) or not isinstance(uploaded, list):
        raise _bad_upload("'uploaded_files' and 'failed_uploads' must be lists", request_id)
    for entry in failed:
        entry = entry if isinstance(entry, Mapping) else {}
        raise FileUploadError(
            str(entry.get("message") or "the API did not say why"),
            status_code=200,
            code=str(entry["code"]) if entry.get("code") else None,
            request_id=request_id,
            resource_id=str(entry.get("name") or "the file"),
            resource_key="file_name",
        )
    if len(uploaded) != 1:
        raise _bad_upload(f"expected one uploaded file, got {len(uploaded)}", request_id)
    from airflow_provider_dashscope.models import DashScopeFile

    return DashScopeFile.from_api(uploaded[0], request_id, time_zone=config.time_zone)


def uploaded_file(answer: DashScopeFile, local: LocalFile, description: str | None) -> DashScopeFile:
    """The upload answer (``file_id``, ``name``) completed with what was sent: size, MD5, description, purpose."""
    return replace(
        answer,
        name=answer.name or local.name,
        size=local.size,
        md5=local.md5,
        description=description if description is not None else answer.description,
        purpose=local.purpose,
    )


def _bad_upload(what: str, request_id: str | None) -> InvalidResponseError:
    return InvalidResponseError(what, status_code=200, code="InvalidResponse", request_id=request_id)
