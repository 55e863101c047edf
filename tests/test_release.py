"""The release's metadata has one source: ``__version__``; the changelog's newest entry names it."""

from __future__ import annotations

import re
from pathlib import Path

import tomllib

import airflow_provider_dashscope

ROOT = Path(__file__).resolve().parents[1]


def test_the_newest_changelog_entry_is_the_packages_version() -> None:
    entries = re.findall(r"^## \[([^\]]+)\]", (ROOT / "CHANGELOG.md").read_text(), flags=re.MULTILINE)
    released = [entry for entry in entries if entry.lower() != "unreleased"]
    assert released, "CHANGELOG.md has no release entry"
    assert released[0] == airflow_provider_dashscope.__version__


def test_the_version_is_read_from_the_package_not_written_twice() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in project["project"]
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "airflow_provider_dashscope.__version__"}
