"""Provider metadata as Airflow sees it (the real `airflow providers ...` CLI), and the minimum-version check."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import airflow_provider_dashscope
from airflow_provider_dashscope.get_provider_info import get_provider_info

HOOK_CLASS = "airflow_provider_dashscope.hooks.dashscope.DashScopeHook"
WIDGETS = ("extra__dashscope__region", "extra__dashscope__workspace", "extra__dashscope__timeout",
           "extra__dashscope__ca_bundle", "extra__dashscope__verify", "extra__dashscope__max_retries")  # fmt: skip


def _airflow_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DASHSCOPE_"))}
    env.update(AIRFLOW_HOME=str(home), AIRFLOW__CORE__LOAD_EXAMPLES="False")
    return env


@pytest.fixture(scope="module")
def cli_output(tmp_path_factory) -> dict[str, list[dict]]:
    """`airflow providers list|hooks|widgets -o json`, run in parallel in one fresh AIRFLOW_HOME each."""
    procs = {}
    for command in ("list", "hooks", "widgets"):
        home = tmp_path_factory.mktemp(f"airflow-home-{command}")
        procs[command] = subprocess.Popen(
            [sys.executable, "-m", "airflow", "providers", command, "-o", "json"],
            env=_airflow_env(home),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    results = {}
    for command, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 0, f"airflow providers {command} failed:\n{stderr[-3000:]}"
        start = stdout.index("[")  # Airflow 2 may print log lines before the JSON document
        results[command] = json.loads(stdout[start:])
    return results


def test_providers_list_shows_the_distribution(cli_output) -> None:
    rows = [row for row in cli_output["list"] if row["package_name"] == "airflow-provider-dashscope"]
    assert len(rows) == 1
    assert rows[0]["version"] == airflow_provider_dashscope.__version__
    assert "DashScope" in rows[0]["description"]


def test_providers_hooks_shows_the_dashscope_connection_type_with_its_hook(cli_output) -> None:
    rows = [row for row in cli_output["hooks"] if row["connection_type"] == "dashscope"]
    assert len(rows) == 1
    row = rows[0]
    assert row["class"] == HOOK_CLASS
    assert row["package_name"] == "airflow-provider-dashscope"
    assert row["conn_id_attribute_name"] == "dashscope_conn_id"
    assert row["hook_name"] == "DashScope (Model Studio)"


def test_providers_widgets_shows_the_connection_form_fields(cli_output) -> None:
    rows = {
        row["connection_parameter_name"]: row
        for row in cli_output["widgets"]
        if row["package_name"] == "airflow-provider-dashscope"
    }
    assert set(WIDGETS) <= set(rows)
    assert all(row["class"].endswith("DashScopeHook") for row in rows.values())


def test_get_provider_info_declares_the_package_and_the_connection_type() -> None:
    info = get_provider_info()
    assert info["package-name"] == "airflow-provider-dashscope"
    assert info["name"] and info["description"]
    [conn_type] = info["connection-types"]
    assert conn_type["connection-type"] == "dashscope"
    assert conn_type["hook-class-name"] == HOOK_CLASS
    assert set(conn_type["conn-fields"]) == {"region", "workspace", "timeout", "ca_bundle", "verify", "max_retries"}
    assert conn_type["conn-fields"]["region"]["schema"]["enum"][:-1] == sorted(
        ["ap-southeast-1", "cn-beijing", "cn-hongkong", "us-east-1"]
    )
    behaviour = conn_type["ui-field-behaviour"]
    assert behaviour["relabeling"]["password"] == "API key"
    assert {"login", "schema", "port"} <= set(behaviour["hidden-fields"])
    json.dumps(info)  # plain data, as the entry point contract requires


def test_hook_ui_field_behaviour_matches_the_metadata() -> None:
    from airflow_provider_dashscope.hooks.dashscope import DashScopeHook

    assert DashScopeHook.get_ui_field_behaviour() == get_provider_info()["connection-types"][0]["ui-field-behaviour"]


def test_hook_form_widgets_serve_airflow_versions_before_conn_fields() -> None:
    pytest.importorskip("flask_appbuilder", reason="the form widgets are only read where the FAB UI exists")
    from airflow_provider_dashscope.hooks.dashscope import DashScopeHook

    widgets = DashScopeHook.get_connection_form_widgets()
    assert set(widgets) == {"region", "workspace", "timeout", "ca_bundle", "verify", "max_retries"}


def test_too_old_airflow_is_refused_naming_the_required_version(monkeypatch) -> None:
    import importlib.metadata

    monkeypatch.setattr(importlib.metadata, "version", lambda name: "2.10.5")
    with pytest.raises(RuntimeError) as info:
        airflow_provider_dashscope._check_airflow_version()
    text = str(info.value)
    assert "2.11.0" in text
    assert "2.10.5" in text
    assert "apache-airflow" in text


@pytest.mark.parametrize("found", ["2.11.0", "2.11.2", "3.0.0", "3.3.2", "3.4.0rc1", "3.10.0.dev0"])
def test_supported_airflow_versions_pass_the_check(monkeypatch, found: str) -> None:
    import importlib.metadata

    monkeypatch.setattr(importlib.metadata, "version", lambda name: found)
    airflow_provider_dashscope._check_airflow_version()


def test_installed_airflow_passes_the_check() -> None:
    airflow_provider_dashscope._check_airflow_version()


# On Airflow 3.3, Airflow's config init discovers providers and calls get_provider_info(); if that imported anything
# that imports airflow, importing a provider module first (before airflow) was a circular import. Each check is a new
# interpreter (about 2 CPU-seconds), so models stands for _wire/exceptions, which import the same chain.
FIRST_IMPORTS = [
    "airflow_provider_dashscope.models",
    "airflow_provider_dashscope.get_provider_info",
    "airflow_provider_dashscope.hooks.dashscope",
]


@pytest.fixture(scope="module")
def first_import_results(tmp_path_factory) -> dict[str, tuple[int, str]]:
    """Import each module first thing in a fresh interpreter (all in parallel); ``{module: (rc, stderr)}``."""
    procs = {}
    for module in FIRST_IMPORTS:
        home = tmp_path_factory.mktemp("airflow-home-import")
        procs[module] = subprocess.Popen(
            [sys.executable, "-c", f"import {module}"],
            env=_airflow_env(home),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
    results = {}
    for module, proc in procs.items():
        _, stderr = proc.communicate(timeout=120)
        results[module] = (proc.returncode, stderr)
    return results


@pytest.mark.parametrize("module", FIRST_IMPORTS)
def test_each_provider_module_imports_first_in_a_fresh_interpreter(first_import_results, module: str) -> None:
    returncode, stderr = first_import_results[module]
    assert returncode == 0, stderr[-2000:]
