"""The documentation's promises that a reader relies on: every public class has its import path in the README's
table and a reference page generated from its docstrings, and the README's links lead somewhere.

The site itself is built by ``make docs`` (``mkdocs build --strict``: a broken link or reference fails it)."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest

from airflow_provider_dashscope.get_provider_info import get_provider_info

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
REFERENCE = "\n".join(p.read_text(encoding="utf-8") for p in sorted((REPO / "docs" / "reference").glob("*.md")))
NAV = (REPO / "mkdocs.yml").read_text(encoding="utf-8")


def public_classes() -> list[tuple[str, str]]:
    """(module, class) of every class the provider registers: hooks, operators, sensors, triggers, extra links."""
    info = get_provider_info()
    modules = [
        m for kind in ("hooks", "operators", "sensors", "triggers") for e in info[kind] for m in e["python-modules"]
    ]
    found = {(link.rsplit(".", 1)[0], link.rsplit(".", 1)[1]) for link in info["extra-links"]}
    for name in modules:
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            if inspect.isclass(value) and not attr.startswith("_") and value.__module__ == name:
                found.add((name, attr))
    return sorted(found)


def test_the_provider_has_the_classes_the_docs_list():
    names = {cls for _, cls in public_classes()}
    assert {"DashScopeHook", "DashScopeDeleteDeploymentOperator", "DashScopeDeploymentSensor"} <= names


@pytest.mark.parametrize(("module", "cls"), public_classes(), ids=lambda v: v)
def test_every_public_class_has_its_import_path_in_the_readme_and_a_reference_entry(module, cls):
    rows = [line for line in README.splitlines() if line.startswith("| ") and f"`{cls}`" in line]
    assert rows, f"{cls} is missing from the README's table of classes"
    assert any(f"`{module}`" in row for row in rows), f"the README gives {cls} another import path than {module}"
    assert f"::: {module}.{cls}\n" in REFERENCE, f"no reference entry '::: {module}.{cls}' in docs/reference/"


def test_the_readme_is_short_and_its_links_lead_somewhere():
    assert len(README.splitlines()) <= 150
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README):
        if "://" not in target:
            assert (REPO / target).exists(), f"README links to {target}, which does not exist"


def test_every_page_is_in_the_sites_navigation():
    for page in sorted((REPO / "docs").rglob("*.md")):
        relative = page.relative_to(REPO / "docs").as_posix()
        assert re.search(rf"^\s+- (?:.*: )?{re.escape(relative)}$", NAV, re.MULTILINE), f"{relative} not in nav"
