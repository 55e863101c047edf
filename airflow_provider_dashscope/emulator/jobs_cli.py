"""``dashscope-emulator jobs create|list|get|cancel``: look at and make jobs in a running emulator.

These commands are HTTP clients of an emulator that is already serving (``--url``, default
``http://127.0.0.1:8089``). ``create`` sends the job's life-cycle settings (``--outcome``,
durations, usage, failure text) to the admin plan route first, so they apply to the next job
created, then creates the job through the public API as any client would.
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
from collections.abc import Sequence
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

    def _send(self, method: str, url: str, body: Any, headers: dict[str, str]) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        if data is not None:
            headers = {**headers, "Content-Type": "application/json"}
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

    def api(self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None) -> Any:
        """``output`` of a public API call; an API error becomes a :class:`CliError`."""
        url = f"{self.root}{API_PREFIX}{path}"
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        status, payload = self._send(method, url, body, {"Authorization": f"Bearer {self.api_key}"})
        if status != 200:
            code = payload.get("code") if isinstance(payload, dict) else None
            message = payload.get("message") if isinstance(payload, dict) else None
            raise CliError(f"{method} {path}: HTTP {status} {code}: {message}")
        return payload.get("output")

    def admin(self, method: str, name: str, body: Any = None) -> Any:
        status, payload = self._send(method, f"{self.root}/_emulator/{name}", body, {})
        if status != 200:
            raise CliError(f"{method} /_emulator/{name}: HTTP {status}: {payload}")
        return payload


# ----------------------------------------------------------------------------------------------- commands
_PLAN_OPTIONS = ("outcome", "pending_seconds", "running_seconds", "canceling_seconds", "usage")


def _hyper_parameter(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(value)
    except ValueError:
        return key, value


def cmd_create(client: Client, args: argparse.Namespace) -> Any:
    plan = {name: getattr(args, name) for name in _PLAN_OPTIONS if getattr(args, name) is not None}
    if args.failure_code is not None:
        plan["failure_code"] = args.failure_code
    if args.failure_message is not None:
        plan["failure_message"] = args.failure_message
    if plan:
        client.admin("POST", "plans", plan)
    body: dict[str, Any] = {
        "model": args.model,
        "training_file_ids": args.training_file_ids,
        "hyper_parameters": dict(args.hyper_parameter),
    }
    if args.validation_file_ids:
        body["validation_file_ids"] = args.validation_file_ids
    for name in ("job_name", "training_type", "model_name"):
        if getattr(args, name):
            body[name] = getattr(args, name)
    if args.suffix:
        body["finetuned_output_suffix"] = args.suffix
    return client.api("POST", "/fine-tunes", body)


def cmd_list(client: Client, args: argparse.Namespace) -> Any:
    query = {"page_no": args.page_no, "page_size": args.page_size, "model": args.model}
    return client.api("GET", "/fine-tunes", query=query)


def cmd_get(client: Client, args: argparse.Namespace) -> Any:
    return client.api("GET", f"/fine-tunes/{args.job_id}")


def cmd_cancel(client: Client, args: argparse.Namespace) -> Any:
    client.api("POST", f"/fine-tunes/{args.job_id}/cancel")
    return client.api("GET", f"/fine-tunes/{args.job_id}")


# ------------------------------------------------------------------------------------------------ output
_COLUMNS = ("job_id", "status", "model", "create_time", "end_time", "usage")


def _table(jobs: list[dict[str, Any]]) -> str:
    rows = [[str(job.get(c, "")) for c in _COLUMNS] for job in jobs]
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(_COLUMNS)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(_COLUMNS, widths, strict=True)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def render(command: str, output: Any) -> str:
    """What a person reads: a table for ``list``, ``key: value`` lines for one job."""
    if command == "list":
        footer = f"page {output['page_no']} ({len(output['jobs'])} of {output['total']} jobs)"
        return _table(output["jobs"]) + "\n" + footer
    width = max(len(k) for k in output)
    return "\n".join(f"{k:<{width}}  {json.dumps(v) if not isinstance(v, str) else v}" for k, v in output.items())


# ------------------------------------------------------------------------------------------------ parser
def _connection_options() -> argparse.ArgumentParser:
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


def build_parser() -> argparse.ArgumentParser:
    common = _connection_options()
    parser = argparse.ArgumentParser(
        prog="dashscope-emulator jobs",
        description="Create and inspect fine-tune jobs in a running emulator, over HTTP.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{create,list,get,cancel}")
    create = sub.add_parser(
        "create",
        parents=[common],
        help="create a job (optionally with its outcome and durations)",
        description="Create a fine-tune job. --outcome, the durations, --usage and the failure text go to the "
        "admin plan route first and apply to the next job the emulator creates.",
    )
    create.add_argument("--model", required=True, help="the model to fine-tune, e.g. qwen3-14b")
    create.add_argument("--training-file-ids", nargs="+", default=["file-emulator"], metavar="ID")
    create.add_argument("--validation-file-ids", nargs="+", default=[], metavar="ID")
    create.add_argument("--job-name")
    create.add_argument("--training-type", help="sft (the emulator's default), efficient_sft, ...")
    create.add_argument("--model-name", help="model_name sent with the job")
    create.add_argument("--suffix", help="finetuned_output_suffix")
    create.add_argument(
        "--hyper-parameter", action="append", type=_hyper_parameter, default=[], metavar="KEY=VALUE",
        help="repeatable; VALUE is read as JSON when it parses (n_epochs=3), else as a string",
    )  # fmt: skip
    create.add_argument(
        "--outcome", type=str.upper, choices=["SUCCEEDED", "FAILED", "CANCELED"], help="how the job's run ends"
    )
    for phase in ("pending", "running", "canceling"):
        create.add_argument(
            f"--{phase}-seconds", type=float, help=f"seconds {phase.upper()} (default: the emulator's setting)"
        )
    create.add_argument("--usage", type=int, help="tokens the job reports once SUCCEEDED")
    create.add_argument("--failure-code", help="code of the job once FAILED")
    create.add_argument("--failure-message", help="message of the job once FAILED")
    listing = sub.add_parser("list", parents=[common], help="list jobs, newest first")
    listing.add_argument("--page-no", type=int, default=1)
    listing.add_argument("--page-size", type=int, default=10)
    listing.add_argument("--model", help="only jobs of this model")
    for name, text in (("get", "show one job"), ("cancel", "cancel a job and show it")):
        command = sub.add_parser(name, parents=[common], help=text)
        command.add_argument("job_id")
    return parser


_COMMANDS = {"create": cmd_create, "list": cmd_list, "get": cmd_get, "cancel": cmd_cancel}


def _ssl_context(args: argparse.Namespace) -> ssl.SSLContext | None:
    if args.insecure:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if args.cacert:
        return ssl.create_default_context(cafile=args.cacert)
    return None


def main(argv: Sequence[str]) -> int:
    args = build_parser().parse_args(argv)
    api_key = args.api_key or os.environ.get("DASHSCOPE_API_KEY") or "sk-emulator"
    try:
        client = Client(args.url, api_key, _ssl_context(args))
        output = _COMMANDS[args.command](client, args)
    except (CliError, OSError) as exc:
        print(f"dashscope-emulator jobs {args.command}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(output, indent=2, ensure_ascii=False) if args.json else render(args.command, output))
    return 0
