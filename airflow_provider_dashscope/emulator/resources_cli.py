"""``dashscope-emulator files list|get|delete`` and ``dashscope-emulator deployments list|get|delete``.

Clients of a running emulator over its public API, like ``jobs`` (:mod:`.jobs_cli`): the same connection
options, a table or ``key value`` lines for people, ``--json`` for the API's own output.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .cli_client import Client, Command, connection_options, key_values, run, table


@dataclass(frozen=True)
class Resource:
    """One resource the commands speak of: its route, its id, its list and how a list is shown."""

    name: str  # command word: files, deployments
    path: str  # route under /api/v1
    id_name: str  # the argument of get and delete
    list_key: str  # where a page keeps its items
    columns: tuple[str, ...]
    page_size: int  # the API's default
    max_page_size: int


FILES = Resource(
    "files", "/files", "file_id", "files", ("file_id", "name", "size", "gmt_create", "description"), 10, 100
)
DEPLOYMENTS = Resource(
    "deployments",
    "/deployments",
    "deployed_model",
    "deployments",
    ("deployed_model", "status", "model_name", "capacity", "ready_capacity", "gmt_create"),
    50,
    200,
)
RESOURCES = {resource.name: resource for resource in (FILES, DEPLOYMENTS)}


def _commands(resource: Resource) -> dict[str, Command]:
    def list_(client: Client, args: argparse.Namespace) -> Any:
        return client.api("GET", resource.path, query={"page_no": args.page_no, "page_size": args.page_size})

    def get(client: Client, args: argparse.Namespace) -> Any:
        return client.api("GET", f"{resource.path}/{getattr(args, resource.id_name)}")

    def delete(client: Client, args: argparse.Namespace) -> Any:
        item_id = getattr(args, resource.id_name)
        output = client.api("DELETE", f"{resource.path}/{item_id}")
        # A file delete answers no object; a deployment delete answers the deployment, now DELETING.
        return output if output else {resource.id_name: item_id, "deleted": True}

    return {"list": list_, "get": get, "delete": delete}


def build_parser(resource: Resource) -> argparse.ArgumentParser:
    common = connection_options()
    singular = resource.name[:-1]
    parser = argparse.ArgumentParser(
        prog=f"dashscope-emulator {resource.name}",
        description=f"List, show and delete {resource.name} in a running emulator, over HTTP.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{list,get,delete}")
    listing = sub.add_parser("list", parents=[common], help=f"list {resource.name}, newest first")
    listing.add_argument("--page-no", type=int, default=1)
    listing.add_argument(
        "--page-size",
        type=int,
        default=resource.page_size,
        help=f"1..{resource.max_page_size} (default %(default)s)",
    )
    for name, text in (("get", f"show one {singular}"), ("delete", f"delete a {singular}")):
        command = sub.add_parser(name, parents=[common], help=text)
        command.add_argument(resource.id_name)
    return parser


def renderer(resource: Resource) -> Any:
    def render(command: str, output: Any) -> str:
        if command == "list":
            items = output[resource.list_key]
            footer = f"page {output['page_no']} ({len(items)} of {output['total']} {resource.name})"
            return table(items, resource.columns) + "\n" + footer
        return key_values(output)

    return render


def main(name: str, argv: Sequence[str]) -> int:
    resource = RESOURCES[name]
    return run(f"dashscope-emulator {name}", build_parser(resource), _commands(resource), renderer(resource), argv)
