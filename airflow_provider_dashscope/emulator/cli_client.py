"""What the client commands of ``dashscope-emulator`` share: a small HTTP client of a running emulator, the
connection options (``--url``, ``--api-key``, ``--cacert``, ``--insecure``, ``--json``) and how a command runs.

The commands (:mod:`.jobs_cli`, :mod:`.resources_cli`) are HTTP clients of an emulator that is already serving
(``--url``, default ``http://127.0.0.1:8089``), speaking its public API as any client would.
"""

from __future__ import annotations

import argparse
import json
import os
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .routes import API_PREFIX

DEFAULT_URL = "http://127.0.0.1:8089"


class CliError(Exception):
    """A failure to report in one line on stderr (exit status 1)."""


class Client:
    """A small HTTP client of one emulator: the public API with a bearer key, and the admin routes."""

    def __init__(self, url: str, api_key: str, context: ssl.SSLContext | None = None, timeout: float = 30.0) -> None:
        root = url.rstrip("/")
        self.root = root.removesuffix(API_PREFIX)
        self.api_key = api_key
        self.context = context
        self.timeout = timeout

    def _send(self, method: str, url: str, data: bytes | None, headers: dict[str, str]) -> tuple[int, Any]:
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=self.context) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as err:
            with err:
                raw = err.read()
            try:
                return err.code, json.loads(raw)
            except ValueError:
                return err.code, {"code": "Unknown", "message": raw.decode("utf-8", "replace")[:200]}
        except (urllib.error.URLError, OSError) as err:
            reason = getattr(err, "reason", err)
            raise CliError(f"cannot reach the emulator at {self.root}: {reason}") from None

    def api(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        raw: tuple[bytes, str] | None = None,
    ) -> Any:
        """``output`` (or a file route's ``data``) of a public API call; an API error becomes a :class:`CliError`.

        ``raw`` is a body sent as is, with its content type.
        """
        url = f"{self.root}{API_PREFIX}{path}"
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        sent = {"Authorization": f"Bearer {self.api_key}", **(headers or {})}
        data = None
        if raw is not None:
            data, sent["Content-Type"] = raw
        elif body is not None:
            data, sent["Content-Type"] = json.dumps(body).encode(), "application/json"
        status, payload = self._send(method, url, data, sent)
        if status != 200:
            code = payload.get("code") if isinstance(payload, dict) else None
            message = payload.get("message") if isinstance(payload, dict) else None
            raise CliError(f"{method} {path}: HTTP {status} {code}: {message}")
        if not isinstance(payload, dict):
            return None
        return payload["output"] if "output" in payload else payload.get("data")

    def admin(self, method: str, name: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = {} if body is None else {"Content-Type": "application/json"}
        status, payload = self._send(method, f"{self.root}/_emulator/{name}", data, headers)
        if status != 200:
            raise CliError(f"{method} /_emulator/{name}: HTTP {status}: {payload}")
        return payload


def connection_options() -> argparse.ArgumentParser:
    """The options every client command takes (a parent parser)."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", default=DEFAULT_URL, help="the running emulator (default %(default)s)")
    common.add_argument(
        "--api-key",
        default=None,
        help="bearer key (default: env DASHSCOPE_API_KEY, else any key, which an emulator without --api-key takes)",
    )
    common.add_argument("--cacert", help="trust this CA certificate file (an emulator serving HTTPS)")
    common.add_argument("--insecure", action="store_true", help="do not verify the emulator's certificate")
    common.add_argument("--json", action="store_true", help="print the API's JSON output instead of a summary")
    return common


def ssl_context(args: argparse.Namespace) -> ssl.SSLContext | None:
    if args.insecure:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if args.cacert:
        return ssl.create_default_context(cafile=args.cacert)
    return None


Command = Callable[[Client, argparse.Namespace], Any]


def run(
    prog: str,
    parser: argparse.ArgumentParser,
    commands: Mapping[str, Command],
    render: Callable[[str, Any], str],
    argv: Sequence[str],
) -> int:
    """Parse ``argv``, run its command against the emulator, print the summary (or ``--json``); the exit status."""
    args = parser.parse_args(argv)
    api_key = args.api_key or os.environ.get("DASHSCOPE_API_KEY") or "sk-emulator"
    try:
        client = Client(args.url, api_key, ssl_context(args))
        output = commands[args.command](client, args)
    except (CliError, OSError) as exc:
        print(f"{prog} {args.command}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(output, indent=2, ensure_ascii=False) if args.json else render(args.command, output))
    return 0


def table(items: list[dict[str, Any]], columns: Sequence[str]) -> str:
    """Aligned columns, headers in upper case."""
    rows = [["" if item.get(c) is None else str(item.get(c)) for c in columns] for item in items]
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def key_values(item: Mapping[str, Any]) -> str:
    """One object as ``key  value`` lines (strings plain, the rest as JSON)."""
    if not item:
        return "(nothing)"
    width = max(len(k) for k in item)
    return "\n".join(f"{k:<{width}}  {json.dumps(v) if not isinstance(v, str) else v}" for k, v in item.items())
