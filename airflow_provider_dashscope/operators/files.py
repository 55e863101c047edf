"""An operator that uploads a file (training data) and hands its ``file_id`` on through XCom."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from airflow_provider_dashscope._checks.arguments import config_error, is_templated
from airflow_provider_dashscope._checks.resources import MAX_FILE_BYTES, check_description, check_purpose
from airflow_provider_dashscope._regions import DEFAULT_CONN_ID
from airflow_provider_dashscope._sdk import BaseOperator
from airflow_provider_dashscope.lineage import LineageMixin

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

    from airflow_provider_dashscope._checks.training_file import LocalFile
    from airflow_provider_dashscope.hooks.dashscope import DashScopeHook
    from airflow_provider_dashscope.lineage.records import LineageRecord
    from airflow_provider_dashscope.models import DashScopeFile

__all__ = ["DashScopeUploadFileOperator"]

_COPY_CHUNK = 1024 * 1024


def _check_path(path: Any, *, rendered: bool) -> None:
    """At parse (``rendered=False``) a value of the wrong kind fails, and an XComArg waits for run time."""
    if isinstance(path, str):
        if not path.strip():
            raise config_error("path is empty; give the file to upload (a local path or a file:// URI)")
        return
    if isinstance(path, os.PathLike) or hasattr(path, "protocol"):  # os.PathLike, or an ObjectStoragePath
        return
    if rendered or path is None or isinstance(path, (int, float, bool, bytes, list, tuple, dict)):
        raise config_error(
            f"path must be a local path, a URI (file://, s3://...) or an ObjectStoragePath, got {type(path).__name__}"
        )


class DashScopeUploadFileOperator(LineageMixin, BaseOperator):
    """
    Upload a file (by default fine-tune training data) and return its ``file_id`` (the XCom ``return_value``),
    ready for ``training_file_ids`` of :class:`~airflow_provider_dashscope.operators.fine_tunes.
    DashScopeCreateFineTuneJobOperator`.

    Before any byte is sent, the file is checked: it exists, fits the size limit of ``purpose`` (300 MiB for
    ``fine-tune``) and, for ``fine-tune``, every line is a JSON object of the training format. A bad file fails
    the task at once with an error naming the file, the line and the problem. The file is streamed from disk.

    **Retries.** An upload is not idempotent. With ``reuse_on_retry`` (the default) the description sent carries
    a tag naming the task instance (``[airflow:<12 hex digits>]``, the same for every try of it), and a retry of the
    task first looks for the file the earlier try uploaded: same name, size and MD5, and that tag, among the newest
    1,000 files. When it is there, no second copy is uploaded and its ``file_id`` is returned.

    :param path: The file (templated): a local path, a ``file://`` URI, or any ``ObjectStoragePath`` URI (``s3://``
        and the like, with the Airflow provider of that storage installed; such a file is copied to a local
        temporary file first, then checked and uploaded from there).
    :param purpose: ``fine-tune`` (default), ``file-extract`` or ``batch``: which checks and size limit apply.
    :param description: Stored with the file (templated).
    :param dashscope_conn_id: The DashScope connection id (templated).
    :param reuse_on_retry: On a retry, return the file an earlier try uploaded instead of uploading it again.
    :param check_chat_turns: Refuse a chat sample without a ``user`` turn or whose last turn is not the
        ``assistant``'s (default ``True``; an inferred rule of the service, see docs/training-data.md).

    **Lineage** (with the OpenLineage provider): input the file read (``file`` + its absolute path, or object
    storage by scheme and bucket), output ``dashscope://<region>`` ``files/<file_id>``.
    """

    template_fields: Sequence[str] = ("path", "description", "dashscope_conn_id")
    ui_color = "#ff6a00"

    #: Files looked at, newest first, when searching for an earlier try's upload.
    REUSE_SCAN_LIMIT = 1000

    def __init__(
        self,
        *,
        path: Any,
        purpose: str = "fine-tune",
        description: str | None = None,
        dashscope_conn_id: str = DEFAULT_CONN_ID,
        reuse_on_retry: bool = True,
        check_chat_turns: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        _check_path(path, rendered=False)
        check_purpose(purpose)
        check_description(description)
        self.path = path
        self.purpose = purpose
        self.description = description
        self.dashscope_conn_id = dashscope_conn_id
        self.reuse_on_retry = reuse_on_retry
        self.check_chat_turns = bool(check_chat_turns)

    def _hook(self) -> DashScopeHook:
        from airflow_provider_dashscope.hooks.dashscope import DashScopeHook

        return DashScopeHook(self.dashscope_conn_id)

    def execute(self, context: Context) -> str:
        _check_path(self.path, rendered=True)
        if is_templated(self.path):
            raise config_error(f"path {self.path!r} is still a template after rendering")
        description = check_description(self.description)
        from airflow_provider_dashscope.tasks.identity import task_instance_token, try_number

        tag = f"[airflow:{task_instance_token(context)}]" if self.reuse_on_retry else None
        if tag is not None:
            description = f"{description} {tag}" if description else tag
        with self._local_file() as local:
            hook = self._hook()
            try:
                if tag is not None and try_number(context) > 1:
                    earlier = self._find_earlier_upload(hook, local, tag)
                    if earlier is not None:
                        self.log.info(
                            "Reusing file %s (%s) that an earlier try uploaded", earlier.file_id, earlier.name
                        )
                        self._keep_lineage(hook, earlier.file_id)
                        return earlier.file_id
                uploaded = hook.upload_checked_file(local, description=description)
                self._keep_lineage(hook, uploaded.file_id)
            finally:
                hook.close()
        return uploaded.file_id

    def _lineage_on_start(self) -> LineageRecord | None:
        if isinstance(self.path, str) and (not self.path.strip() or is_templated(self.path)):
            return None
        from airflow_provider_dashscope.lineage.records import LineageRecord, source_dataset

        return LineageRecord(inputs=[source_dataset(self.path)])

    def _keep_lineage(self, hook: DashScopeHook, file_id: str) -> None:
        from airflow_provider_dashscope.assets import region_of
        from airflow_provider_dashscope.lineage.records import LineageRecord, source_dataset

        self.lineage = LineageRecord(
            region=region_of(hook.config), inputs=[source_dataset(self.path)], outputs=[("files", file_id)]
        )

    @contextmanager
    def _local_file(self) -> Iterator[LocalFile]:
        """The checked local file to upload (a temporary local copy of a remote one, removed afterwards)."""
        from airflow_provider_dashscope._checks.training_file import inspect_file

        path = self.path
        if isinstance(path, str) and "://" not in path:
            yield inspect_file(path, purpose=self.purpose, check_chat_turns=self.check_chat_turns)
            return
        if isinstance(path, os.PathLike) and not hasattr(path, "protocol"):
            yield inspect_file(os.fspath(path), purpose=self.purpose, check_chat_turns=self.check_chat_turns)
            return
        from airflow.providers.common.compat.sdk import ObjectStoragePath

        remote = path if isinstance(path, ObjectStoragePath) else ObjectStoragePath(str(path))
        shown = path if isinstance(path, str) else str(remote)
        if remote.protocol in ("file", "local", ""):
            yield inspect_file(
                remote.path, purpose=self.purpose, shown_as=shown, check_chat_turns=self.check_chat_turns
            )
            return
        with tempfile.TemporaryDirectory(prefix="dashscope-upload-") as workdir:
            copy = os.path.join(workdir, remote.name or "upload")
            self._download(remote, copy, shown)
            yield inspect_file(
                copy,
                purpose=self.purpose,
                shown_as=shown,
                name=remote.name or None,
                check_chat_turns=self.check_chat_turns,
            )

    def _download(self, remote: Any, copy: str, shown: str) -> None:
        """Copy ``remote`` to the local file ``copy``, stopping once it is over the size limit (nothing to upload)."""
        from airflow_provider_dashscope.exceptions import TrainingFileError

        limit = MAX_FILE_BYTES[self.purpose]
        try:
            if not remote.exists():
                raise TrainingFileError(f"file {shown} does not exist; check the path", path=shown)
            copied = 0
            with remote.open("rb") as source, open(copy, "wb") as target:
                while chunk := source.read(_COPY_CHUNK):
                    copied += len(chunk)
                    target.write(chunk)
                    if copied > limit:
                        break  # inspect_file names the file and the limit
        except TrainingFileError:
            raise
        except Exception as err:
            raise TrainingFileError(f"file {shown} cannot be read: {type(err).__name__}: {err}", path=shown) from err
        self.log.info("Copied %s to a local file to check and upload it (%d bytes)", shown, copied)

    def _find_earlier_upload(self, hook: DashScopeHook, local: LocalFile, tag: str) -> DashScopeFile | None:
        for seen, item in enumerate(hook.iter_files(page_size=100)):
            if seen >= self.REUSE_SCAN_LIMIT:
                break
            if (
                item.name == local.name
                and item.size == local.size
                and (item.md5 or "").lower() == local.md5
                and (item.description or "").endswith(tag)
            ):
                return item
        return None
