"""``dashscope-emulator jobs create|list|get|cancel``: look at and make jobs in a running emulator.

``create`` creates the job through the public API as any client would; its life-cycle settings (``--outcome``,
durations, usage, failure text) travel with that request as its plan (the :data:`~.plans.PLAN_HEADER` header), so
they apply to this job and to no other, even when the create is refused. Without ``--training-file-ids`` it
trains on a small valid file it uploads once (:data:`CLI_TRAINING_FILE`, reused afterwards), so it works
against an emulator started with ``--strict-file-ids`` too.
"""

from __future__ import annotations

import argparse
import json
import uuid
from collections.abc import Sequence
from typing import Any

from .cli_client import DEFAULT_URL, Client, CliError, connection_options, key_values, run, table
from .plans import PLAN_HEADER

__all__ = ["CLI_TRAINING_FILE", "DEFAULT_URL", "CliError", "Client", "build_parser", "main", "render"]

#: The training file ``jobs create`` uploads when it is given no ``--training-file-ids``.
CLI_TRAINING_FILE = "dashscope-emulator-cli.jsonl"
_SAMPLE = (
    '{"messages": [{"role": "user", "content": "What does the emulator emulate?"}, '
    '{"role": "assistant", "content": "The DashScope fine-tuning API."}]}\n'
)


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


def training_file_id(client: Client) -> str:
    """The id of :data:`CLI_TRAINING_FILE` in the emulator, uploaded now if it is not there yet."""
    listed = client.api("GET", "/files", query={"page_no": 1, "page_size": 100}) or {}
    for item in listed.get("files", []):
        if item.get("name") == CLI_TRAINING_FILE:
            return str(item["file_id"])
    boundary = uuid.uuid4().hex
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{CLI_TRAINING_FILE}"\r\n\r\n'
        f"{_SAMPLE}\r\n--{boundary}--\r\n"
    ).encode()
    answer = client.api("POST", "/files", raw=(body, f"multipart/form-data; boundary={boundary}")) or {}
    uploaded = answer.get("uploaded_files") or []
    if not uploaded:
        failed = answer.get("failed_uploads") or [{}]
        raise CliError(
            f"could not upload {CLI_TRAINING_FILE} ({failed[0].get('code')}: {failed[0].get('message')}); "
            "pass --training-file-ids with the id of an uploaded file"
        )
    return str(uploaded[0]["file_id"])


def cmd_create(client: Client, args: argparse.Namespace) -> Any:
    plan = {name: getattr(args, name) for name in _PLAN_OPTIONS if getattr(args, name) is not None}
    if args.failure_code is not None:
        plan["failure_code"] = args.failure_code
    if args.failure_message is not None:
        plan["failure_message"] = args.failure_message
    body: dict[str, Any] = {
        "model": args.model,
        "training_file_ids": args.training_file_ids or [training_file_id(client)],
        "hyper_parameters": dict(args.hyper_parameter),
    }
    if args.validation_file_ids:
        body["validation_file_ids"] = args.validation_file_ids
    for name in ("job_name", "training_type", "model_name"):
        if getattr(args, name):
            body[name] = getattr(args, name)
    if args.suffix:
        body["finetuned_output_suffix"] = args.suffix
    headers = {PLAN_HEADER: json.dumps(plan)} if plan else None  # ASCII JSON: a header carries it as is
    return client.api("POST", "/fine-tunes", body, headers=headers)


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


def render(command: str, output: Any) -> str:
    """What a person reads: a table for ``list``, ``key: value`` lines for one job."""
    if command == "list":
        footer = f"page {output['page_no']} ({len(output['jobs'])} of {output['total']} jobs)"
        return table(output["jobs"], _COLUMNS) + "\n" + footer
    return key_values(output)


# ------------------------------------------------------------------------------------------------ parser
def build_parser() -> argparse.ArgumentParser:
    common = connection_options()
    parser = argparse.ArgumentParser(
        prog="dashscope-emulator jobs",
        description="Create and inspect fine-tune jobs in a running emulator, over HTTP.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{create,list,get,cancel}")
    create = sub.add_parser(
        "create",
        parents=[common],
        help="create a job (optionally with its outcome and durations)",
        description="Create a fine-tune job. --outcome, the durations, --usage and the failure text are sent with "
        "the create as its plan: they apply to this job only. Without --training-file-ids it uploads a small valid "
        f"training file ({CLI_TRAINING_FILE}) once and trains on it, so it works against --strict-file-ids.",
    )
    create.add_argument("--model", required=True, help="the model to fine-tune, e.g. qwen3-14b")
    create.add_argument(
        "--training-file-ids",
        nargs="+",
        default=[],
        metavar="ID",
        help=f"uploaded file ids (default: {CLI_TRAINING_FILE}, uploaded once by this command)",
    )
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


def main(argv: Sequence[str]) -> int:
    return run("dashscope-emulator jobs", build_parser(), _COMMANDS, render, argv)
