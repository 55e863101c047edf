"""Reading a ``POST /files`` multipart body as the official SDKs send it, without keeping the content.

Parts named ``files`` are files (one per part, the multipart filename is the file's name, with
or without a Content-Type of their own); text parts ``descriptions`` and ``purpose`` may come
before or after them, any number of times. Each file is streamed in chunks through an MD5
and a byte counter and then dropped, so an upload costs memory for one chunk, whatever its
size; past ``max_file_bytes`` the hashing stops (the file will fail anyway) and only the
counting goes on.
"""

from __future__ import annotations

import hashlib

from aiohttp import BodyPartReader, web

from .errors import invalid
from .files import DEFAULT_PURPOSE, UploadedFile

CHUNK_BYTES = 256 * 1024
#: Longest text part (description or purpose) read.
MAX_TEXT_BYTES = 64 * 1024


async def _digest(part: BodyPartReader, hash_limit: int) -> tuple[int, str]:
    md5 = hashlib.md5(usedforsecurity=False)
    size = 0
    while True:
        chunk = await part.read_chunk(CHUNK_BYTES)
        if not chunk:
            return size, md5.hexdigest()
        size += len(chunk)
        if size <= hash_limit:
            md5.update(chunk)


async def _text(part: BodyPartReader) -> str:
    raw = bytearray()
    while True:
        chunk = await part.read_chunk(CHUNK_BYTES)
        if not chunk:
            break
        if len(raw) < MAX_TEXT_BYTES:
            raw += chunk
    return bytes(raw[:MAX_TEXT_BYTES]).decode(part.get_charset("utf-8"), "replace")


async def read_upload(request: web.Request, max_file_bytes: int) -> list[UploadedFile]:
    """The files of an upload request, paired with their descriptions and purposes."""
    if not request.content_type.startswith("multipart/"):
        raise invalid("Request body must be multipart/form-data with one or more 'files' parts")
    try:
        reader = await request.multipart()
    except (AssertionError, ValueError):  # a multipart type without a boundary
        raise invalid("Request body must be multipart/form-data with one or more 'files' parts") from None
    received: list[tuple[str, int, str]] = []
    descriptions: list[str] = []
    purposes: list[str] = []
    try:
        while True:
            part = await reader.next()
            if part is None:
                break
            if not isinstance(part, BodyPartReader):  # a nested multipart: not something the API takes
                raise invalid("Nested multipart bodies are not supported")
            if part.name == "files":
                size, md5 = await _digest(part, max_file_bytes)
                received.append((part.filename or "file", size, md5))
            elif part.name == "descriptions":
                descriptions.append(await _text(part))
            elif part.name == "purpose":
                purposes.append((await _text(part)).strip())
            else:
                await part.release()
    except ValueError as err:  # a malformed part (bad boundary, bad headers)
        raise invalid(f"Malformed multipart body: {err}") from None
    if not received:
        raise invalid("Missing files: the upload has no 'files' part")
    files = []
    for i, (name, size, md5) in enumerate(received):
        description = descriptions[i] if i < len(descriptions) else ""
        # One purpose applies to every file; several pair with the files by position.
        purpose = purposes[0] if len(purposes) == 1 else (purposes[i] if i < len(purposes) else "")
        files.append(UploadedFile(name, size, md5, description, purpose or DEFAULT_PURPOSE))
    return files
