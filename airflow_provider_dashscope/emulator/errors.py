"""The API error the emulator answers with: ``{request_id, code, message}`` and an HTTP status."""

from __future__ import annotations


class ApiError(Exception):
    """A DashScope error to be rendered as ``{request_id, code, message}``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def not_found(message: str = "Not found!") -> ApiError:
    """404 ``NotFound``; fine-tune jobs say "Not found!", deployments "Not found."."""
    return ApiError(404, "NotFound", message)


def invalid(message: str) -> ApiError:
    """400 ``InvalidParameter``."""
    return ApiError(400, "InvalidParameter", message)


def unsupported(message: str) -> ApiError:
    """400 ``UnsupportedOperation``: the resource exists but its status forbids the operation."""
    return ApiError(400, "UnsupportedOperation", message)
