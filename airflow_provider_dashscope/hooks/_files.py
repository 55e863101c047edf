"""The files API methods of :class:`~airflow_provider_dashscope.hooks.dashscope.DashScopeHook` (``/files``)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from airflow_provider_dashscope._checks.training_file import LocalFile, inspect_file
from airflow_provider_dashscope.exceptions import DashScopeAPIError
from airflow_provider_dashscope.hooks._paging import iter_pages
from airflow_provider_dashscope.resources import files

if TYPE_CHECKING:
    from airflow_provider_dashscope._http.api_request import ApiRequest
    from airflow_provider_dashscope._http.api_response import Parser
    from airflow_provider_dashscope.models import DashScopeFile, DashScopeFilePage

T = TypeVar("T")


class FilesMixin:
    """Upload, list, get and delete files (training data for fine-tunes)."""

    if TYPE_CHECKING:
        log: Any

        def _send(self, request: ApiRequest, parse: Parser[T]) -> T: ...

    def upload_file(
        self,
        path: str | os.PathLike[str],
        *,
        purpose: str = "fine-tune",
        description: str | None = None,
        check_chat_turns: bool = True,
    ) -> DashScopeFile:
        """``POST /files``: upload one local file; return it with its ``file_id``.

        Before any byte is sent, the file is checked (it exists, fits the size limit of ``purpose`` and, for
        ``fine-tune``, every line is a JSON object of the training format): a bad file raises
        :class:`~airflow_provider_dashscope.exceptions.TrainingFileError` naming the file, the line and the
        problem. The file is streamed from disk. A file the API refuses (an entry of ``failed_uploads``, e.g. a
        storage quota) raises :class:`~airflow_provider_dashscope.exceptions.FileUploadError` with its code and
        message. Not retried unless the API certainly did not receive it (connection refused, 429).

        :param purpose: ``fine-tune`` (default), ``file-extract`` or ``batch``: which checks and size limit apply.
            The API is not sent it (the official SDK does not send it either).
        :param description: Stored with the file.
        :param check_chat_turns: Refuse a chat sample without a ``user`` turn or not ending with an ``assistant``
            turn (default ``True``).
        """
        files.check_description(description)
        local = inspect_file(path, purpose=purpose, check_chat_turns=check_chat_turns)
        return self.upload_checked_file(local, description=description)

    def upload_checked_file(self, local: LocalFile, *, description: str | None = None) -> DashScopeFile:
        """Upload a file that :func:`~airflow_provider_dashscope._checks.training_file.inspect_file` checked and
        measured.

        The result carries the ``file_id`` and ``name`` the API gave, and the size, MD5, description and purpose
        that were sent.
        """
        answer = self._send(files.upload_request(local, description), files.parse_upload)
        uploaded = files.uploaded_file(answer, local, description)
        self.log.info(
            "Uploaded %s (%d bytes, md5 %s) as file %s (request_id=%s)",
            local.name,
            local.size,
            local.md5,
            uploaded.file_id,
            uploaded.request_id,
        )
        return uploaded

    def _send_file_call(self, request: ApiRequest, parse: Callable[..., T]) -> T:
        try:
            return self._send(request, parse)
        except DashScopeAPIError as err:
            found = files.as_not_found(err)
            if found is err:
                raise
            raise found from None

    def get_file(self, file_id: str) -> DashScopeFile:
        """``GET /files/{file_id}``. An unknown id (the API's 400 "File not found.") raises ``NotFoundError``."""
        return self._send_file_call(files.get_file_request(file_id), files.parse_file)

    def list_files(self, page_no: int = 1, page_size: int = 10) -> DashScopeFilePage:
        """``GET /files``: one page (``page_size`` 1..100)."""
        return self._send(files.list_files_request(page_no, page_size), files.parse_page)

    def iter_files(self, page_size: int = 100) -> Iterator[DashScopeFile]:
        """Every file, page after page, each once."""
        files.list_files_request(1, page_size)  # checks the arguments before the first request

        def fetch(page_no: int) -> tuple[tuple[DashScopeFile, ...], int | None]:
            page = self.list_files(page_no=page_no, page_size=page_size)
            return page.files, page.total

        return iter_pages(fetch, page_size, key=lambda item: item.file_id)

    def delete_file(self, file_id: str) -> str | None:
        """``DELETE /files/{file_id}``; returns the request id. An unknown id raises ``NotFoundError``."""
        return self._send_file_call(files.delete_file_request(file_id), files.parse_deleted)
