"""The body of a file upload: ``multipart/form-data`` streamed from disk, with its length known in advance.

The parts are the ones the official SDK sends, in its order: a ``descriptions`` text part (only when there is a
description), then the file in a ``files`` part named by its file name, with no ``Content-Type`` of its own. The
SDK sends no ``purpose`` part (the documentation pages disagree on whether it is needed; an upload without it is
accepted), and neither does this body. Header parameters are written as ``requests``/``urllib3`` write them
(UTF-8, with ``"``, CR and LF percent-encoded), so a server sees the same bytes from both.

The file is read in chunks while it is sent, never whole; iterating the body again reads the file again (a retried
attempt sends it anew). Reading exactly the length measured beforehand is checked: a file that changed in between
fails the upload instead of sending a body whose length does not match its ``Content-Length``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from airflow_provider_dashscope.exceptions import TrainingFileError

CHUNK_BYTES = 256 * 1024


def _param(name: str, value: str) -> str:
    return f'{name}="{value.translate({10: "%0A", 13: "%0D", 34: "%22"})}"'


class MultipartUpload:
    """One file (and its optional description) as a ``multipart/form-data`` body.

    :param path: The local file to send.
    :param filename: The file name the API records (the SDK sends the base name of the path).
    :param size: The file's size in bytes, as measured by the check before the upload.
    :param description: The file's description, or ``None`` for no ``descriptions`` part.
    :param boundary: The multipart boundary (default: 32 random hex digits, as ``urllib3`` makes them).
    """

    def __init__(
        self, path: str, filename: str, size: int, description: str | None = None, boundary: str | None = None
    ) -> None:
        self.path = path
        self.filename = filename
        self.size = size
        self.boundary = boundary or os.urandom(16).hex()
        self.content_type = f"multipart/form-data; boundary={self.boundary}"
        head = ""
        if description is not None:
            head += (
                f"--{self.boundary}\r\nContent-Disposition: form-data; {_param('name', 'descriptions')}\r\n\r\n"
                f"{description}\r\n"
            )
        head += (
            f"--{self.boundary}\r\n"
            f"Content-Disposition: form-data; {_param('name', 'files')}; {_param('filename', filename)}\r\n\r\n"
        )
        self._head = head.encode("utf-8")
        self._tail = f"\r\n--{self.boundary}--\r\n".encode()

    def __len__(self) -> int:
        return len(self._head) + self.size + len(self._tail)

    def __iter__(self) -> Iterator[bytes]:
        yield self._head
        left = self.size
        with open(self.path, "rb") as stream:
            while left > 0:
                chunk = stream.read(min(CHUNK_BYTES, left))
                if not chunk:
                    raise TrainingFileError(
                        f"file {self.path} shrank while it was uploaded ({self.size - left} of {self.size} bytes "
                        "sent); upload it again once it no longer changes",
                        path=self.path,
                    )
                left -= len(chunk)
                yield chunk
            if stream.read(1):
                raise TrainingFileError(
                    f"file {self.path} grew while it was uploaded (it had {self.size} bytes when it was checked); "
                    "upload it again once it no longer changes",
                    path=self.path,
                )
        yield self._tail

    def __repr__(self) -> str:
        return f"MultipartUpload({self.filename!r}, {self.size} bytes)"
