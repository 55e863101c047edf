"""MkDocs hooks: parts of the reference generated from the code at build time, so they cannot drift from it.

A page asks for one with an HTML comment on a line of its own, e.g. ``<!-- generated: emulator-help -->``:

* ``emulator-help``, ``emulator-jobs-help``, ``emulator-resources-help``: the help of ``dashscope-emulator`` and of
  its ``jobs``, ``files`` and ``deployments`` commands;
* ``scenario-keys``: the keys of a scenario's jobs, files and deployments (``emulator.scenario``);
* ``admin-routes``: the emulator's ``/_emulator`` control routes (``emulator.admin.ADMIN_ROUTES``);
* ``provider-config``: the ``[dashscope]`` options Airflow reads (``get_provider_info()["config"]``).

An unknown name, or an admin route without a description here, fails the build.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

MARKER = re.compile(r"^<!-- generated: ([\w-]+) -->$", re.MULTILINE)

#: What each control route does; a route added to the emulator without a line here fails `make docs`.
ADMIN_ROUTE_MEANING = {
    ("POST", "faults"): "add faults (one object or a list, the keys of [Inject faults](../emulator.md#inject-faults))",
    ("GET", "faults"): "the faults in force",
    ("DELETE", "faults"): "clear every fault",
    ("POST", "jobs"): "seed jobs (scenario job entries)",
    ("GET", "jobs"): "the status of every job",
    ("POST", "plans"): "outcome, durations, usage or failure text of the next created jobs (returns their `plan_id`s)",
    ("GET", "plans"): "the pending plans, with their `plan_id`",
    ("DELETE", "plans"): "forget every pending plan, or one with `?plan_id=...`",
    ("POST", "files"): "seed files (scenario file entries)",
    ("GET", "files"): "the id and name of every file",
    ("POST", "deployments"): "seed deployments (scenario deployment entries)",
    ("GET", "deployments"): "the status of every deployment",
    ("POST", "deployment-plans"): "outcome and durations of the next created deployments",
    ("GET", "stats"): "request counters per route and per job, file or deployment",
    ("POST", "reset"): "forget jobs, files, deployments, faults, plans and counters",
}


def _help(parser: Any) -> str:
    parser.epilog = None  # the scenario keys have their own tables
    return "```text\n" + parser.format_help().rstrip() + "\n```"


def _emulator_help() -> str:
    from airflow_provider_dashscope.emulator.__main__ import build_parser

    return _help(build_parser())


def _emulator_jobs_help() -> str:
    from airflow_provider_dashscope.emulator.jobs_cli import build_parser

    parser = build_parser()
    parts = [_help(parser)]
    for action in parser._subparsers._group_actions:  # type: ignore[union-attr]
        for name, sub in action.choices.items():
            parts.append(f"`dashscope-emulator jobs {name}`:\n\n{_help(sub)}")
    return "\n\n".join(parts)


def _emulator_resources_help() -> str:
    from airflow_provider_dashscope.emulator.resources_cli import RESOURCES, build_parser

    parts = []
    for resource in RESOURCES.values():
        parser = build_parser(resource)
        parts.append(f"`dashscope-emulator {resource.name}`:\n\n{_help(parser)}")
    return "\n\n".join(parts)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _scenario_keys() -> str:
    from airflow_provider_dashscope.emulator.scenario import DEPLOYMENT_SCHEMA, FILE_SCHEMA, JOB_SCHEMA

    parts = []
    for title, schema in (("A job", JOB_SCHEMA), ("A file", FILE_SCHEMA), ("A deployment", DEPLOYMENT_SCHEMA)):
        rows = [f"| `{key}` | {_cell(kind)} | {_cell(meaning)} |" for key, kind, meaning in schema]
        parts.append(f"**{title}**\n\n| Key | Type | Meaning |\n|---|---|---|\n" + "\n".join(rows))
    return "\n\n".join(parts)


def _admin_routes() -> str:
    from airflow_provider_dashscope.emulator.admin import ADMIN_PREFIX, ADMIN_ROUTES

    rows = []
    for method, name, _ in ADMIN_ROUTES:
        meaning = ADMIN_ROUTE_MEANING.get((method, name))
        if meaning is None:
            raise ValueError(f"{method} {ADMIN_PREFIX}/{name} has no description in scripts/mkdocs_hooks.py")
        rows.append(f"| `{method}` | `{ADMIN_PREFIX}/{name}` | {meaning} |")
    return "| Method | Route | What it does |\n|---|---|---|\n" + "\n".join(rows)


def _provider_config() -> str:
    from airflow_provider_dashscope.get_provider_info import get_provider_info

    parts = []
    for section, spec in get_provider_info()["config"].items():
        rows = []
        for option, meta in spec["options"].items():
            env = f"AIRFLOW__{section.upper()}__{option.upper()}"
            rows.append(
                f"| `{option}` | {meta['type']} | `{meta['default']}` | {_cell(meta['description'])} | `{env}` |"
            )
        parts.append(
            f"`[{section}]`: {spec['description']}\n\n"
            "| Option | Type | Default | Meaning | Environment variable |\n|---|---|---|---|---|\n" + "\n".join(rows)
        )
    return "\n\n".join(parts)


GENERATORS: dict[str, Callable[[], str]] = {
    "emulator-help": _emulator_help,
    "emulator-jobs-help": _emulator_jobs_help,
    "emulator-resources-help": _emulator_resources_help,
    "scenario-keys": _scenario_keys,
    "admin-routes": _admin_routes,
    "provider-config": _provider_config,
}


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    os.environ["COLUMNS"] = "110"  # argparse wraps its help to the terminal's width

    def generate(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in GENERATORS:
            raise ValueError(f"{page.file.src_path}: unknown generated part {name!r}; known: {sorted(GENERATORS)}")
        return GENERATORS[name]()

    return MARKER.sub(generate, markdown)
