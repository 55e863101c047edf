"""What DAG parsing costs and reads: checked in fresh interpreters, since both are decided at import time."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import airflow
import pytest

AIRFLOW_MAJOR = int(str(airflow.__version__).split(".", 1)[0])
EXAMPLE_DAGS = Path(__file__).resolve().parents[1] / "example_dags"
EXAMPLE_DAG = EXAMPLE_DAGS / "example_dashscope_finetune_gate.py"
#: Every example DAG file is parsed by the probe (the gate DAG first). On Airflow 2, a DAG scheduled on a dataset
#: alias reads the metadata DB while it is parsed, which the probe has not got: that one is parsed on Airflow 3 only.
DAG_FILES = [
    EXAMPLE_DAG,
    *sorted(
        path
        for path in EXAMPLE_DAGS.glob("*.py")
        if path != EXAMPLE_DAG and (AIRFLOW_MAJOR >= 3 or path.name != "example_dashscope_new_model_announcer.py")
    ),
]

#: Modules only a running task needs: none of them may be imported by parsing a DAG file.
TASK_ONLY_MODULES = (
    "aiohttp",
    "airflow_provider_dashscope._http.async_transport",
    "airflow_provider_dashscope._http.sync_transport",
    "airflow_provider_dashscope.hooks.dashscope",
    "airflow_provider_dashscope.hooks._files",
    "airflow_provider_dashscope.hooks._deployments",
    "airflow_provider_dashscope.hooks._fine_tunes",
    # the models and the wait engine load when a task runs: a DAG file only builds tasks
    "airflow_provider_dashscope.models",
    "airflow_provider_dashscope.wait.machine",
    "airflow_provider_dashscope.wait.drivers",
    "airflow_provider_dashscope.wait.outcomes",
    "airflow_provider_dashscope.wait.policy",
    "airflow_provider_dashscope.wait.training_log",
    "airflow_provider_dashscope.wait.progress",
    "airflow_provider_dashscope.wait.fine_tunes",
    "airflow_provider_dashscope.wait.deployments",
    "airflow_provider_dashscope.triggers.base",
    "airflow_provider_dashscope.triggers.fine_tunes",
    "airflow_provider_dashscope.triggers.deployments",
    "airflow_provider_dashscope.emulator",
)
#: Every module of the provider that building the seven tasks of a DAG may load: the classes a DAG names, their bases
#: and their argument checks (and what Airflow itself loads of the provider: the package and its metadata). The
#: request builders, the exceptions, the HTTP layer and the models load when a task runs. A module added here makes
#: every parse of every DAG file that uses the provider slower (benchmarks/dag_parse.py --wheel measures it).
PARSE_TIME_MODULES = frozenset(
    {
        "airflow_provider_dashscope",  # Airflow loads the package, _regions and get_provider_info itself
        "airflow_provider_dashscope._regions",
        "airflow_provider_dashscope._sdk",  # the Airflow base classes, without the compat provider's lazy module
        "airflow_provider_dashscope.get_provider_info",
        "airflow_provider_dashscope._checks",
        "airflow_provider_dashscope._checks.arguments",
        "airflow_provider_dashscope._checks.hyper_parameters",  # only when a DAG passes literal hyper_parameters
        "airflow_provider_dashscope._checks.resources",
        "airflow_provider_dashscope.lineage",  # LineageMixin: a base of the operators
        "airflow_provider_dashscope.links",
        "airflow_provider_dashscope.operators",
        "airflow_provider_dashscope.operators._wait",
        "airflow_provider_dashscope.operators.checkpoints",
        "airflow_provider_dashscope.operators.deployments",
        "airflow_provider_dashscope.operators.files",
        "airflow_provider_dashscope.operators.fine_tunes",
        "airflow_provider_dashscope.sensors",
        "airflow_provider_dashscope.sensors._wait",
        "airflow_provider_dashscope.sensors.deployments",
        "airflow_provider_dashscope.sensors.fine_tunes",
        "airflow_provider_dashscope.tasks",
        "airflow_provider_dashscope.tasks.checkpoints",
        "airflow_provider_dashscope.tasks.deployments",
        "airflow_provider_dashscope.tasks.fine_tunes",
        "airflow_provider_dashscope.tasks.wait",
    }
)
#: Standard-library modules only an error path needs (e.g. difflib for "did you mean" on an unknown key).
NOT_AT_PARSE = ("difflib",)
#: Modules our DAG-facing modules must not pull in themselves (Airflow 2 core happens to import requests).
NOT_NEWLY_IMPORTED = ("requests", "tenacity", "aiohttp", "urllib3")

PROBE = textwrap.dedent(
    """
    import json, runpy, sys

    # What a DAG file imports from Airflow anyway: the baseline.
    from airflow.providers.common.compat.sdk import (
        DAG, AirflowSensorTimeout, AirflowSkipException, BaseOperator, BaseOperatorLink, BaseSensorOperator,
        Param, PokeReturnValue, XCom, conf, task,
    )
    baseline = set(sys.modules)

    from airflow_provider_dashscope.operators.fine_tunes import (
        DashScopeCreateFineTuneJobOperator, DashScopeFineTuneJobOperator,
    )
    from airflow_provider_dashscope.sensors.fine_tunes import DashScopeFineTuneJobSensor
    from airflow_provider_dashscope.operators.files import DashScopeUploadFileOperator
    from airflow_provider_dashscope.operators.deployments import (
        DashScopeDeleteDeploymentOperator, DashScopeDeployModelOperator,
    )
    from airflow_provider_dashscope.sensors.deployments import DashScopeDeploymentSensor
    from airflow_provider_dashscope.operators.checkpoints import DashScopeExportCheckpointOperator

    # What building the seven tasks (and the checkpoint export) of a DAG (literal arguments, checked at parse) loads of the provider.
    DashScopeUploadFileOperator(task_id="u", path="/data/train.jsonl")
    DashScopeCreateFineTuneJobOperator(
        task_id="t", model="qwen3-14b", training_file_ids=["file-1"], hyper_parameters={"n_epochs": 3}
    )
    DashScopeFineTuneJobSensor(task_id="w", job_id="ft-1", deferrable=True)
    DashScopeFineTuneJobOperator(task_id="r", job_id="ft-1")
    DashScopeDeployModelOperator(task_id="d", model_name="qwen3-14b", capacity=1, suffix="v1")
    DashScopeDeploymentSensor(task_id="s", deployed_model="qwen3-14b")
    DashScopeDeleteDeploymentOperator(task_id="x", deployed_model="qwen3-14b")
    DashScopeExportCheckpointOperator(
        task_id="e", job_id="ft-1", checkpoint="best", metric="eval_loss", max_value=0.9, model_name="m-1"
    )
    provider_at_parse = sorted(m for m in sys.modules if m.startswith("airflow_provider_dashscope"))

    for path in sys.argv[1:]:
        runpy.run_path(path)  # parse the example DAGs

    print(json.dumps({
        "loaded": sorted(m for m in sys.modules),
        "new": sorted(set(sys.modules) - baseline),
        "provider_at_parse": provider_at_parse,
        "deferrable": {
            "sensor": DashScopeFineTuneJobSensor(task_id="s", job_id="ft-1").deferrable,
            "operator": DashScopeFineTuneJobOperator(task_id="o", job_id="ft-1").deferrable,
            "create": DashScopeCreateFineTuneJobOperator(
                task_id="c", model="qwen3-14b", training_file_ids=["file-1"]
            ).deferrable,
            "deploy": DashScopeDeployModelOperator(task_id="d", model_name="qwen3-14b").deferrable,
            "deployment_sensor": DashScopeDeploymentSensor(task_id="ds", deployed_model="qwen3-14b").deferrable,
            "delete": DashScopeDeleteDeploymentOperator(task_id="x", deployed_model="qwen3-14b").deferrable,
        },
    }))
    """
)


def _probe(tmp_path_factory: pytest.TempPathFactory, **env: str) -> dict:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__OPERATORS__")}
    environment.update(
        AIRFLOW_HOME=str(tmp_path_factory.mktemp("airflow-home")),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        **env,
    )
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *map(str, DAG_FILES)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def parsed_default(tmp_path_factory) -> dict:
    return _probe(tmp_path_factory)


@pytest.fixture(scope="module")
def parsed_default_deferrable(tmp_path_factory) -> dict:
    return _probe(tmp_path_factory, AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE="true")


def test_parsing_a_dag_file_imports_nothing_only_a_running_task_needs(parsed_default):
    loaded = set(parsed_default["loaded"])
    leaked = [m for m in loaded if any(m == bad or m.startswith(bad + ".") for bad in TASK_ONLY_MODULES)]
    assert leaked == []


def test_building_a_dag_loads_only_the_classes_it_names_and_their_checks(parsed_default):
    at_parse = set(parsed_default["provider_at_parse"])
    assert "airflow_provider_dashscope.sensors.fine_tunes" in at_parse  # the probe really built the tasks
    assert sorted(at_parse - PARSE_TIME_MODULES) == []  # import new ones when the task runs, not at module level
    new = set(parsed_default["new"])
    assert [m for m in NOT_AT_PARSE if m in new] == []


def test_our_dag_facing_modules_import_no_http_client_or_retry_library(parsed_default):
    new = set(parsed_default["new"])
    assert "airflow_provider_dashscope.sensors.fine_tunes" in new  # the probe really imported them after the baseline
    assert [m for m in new if m.split(".")[0] in NOT_NEWLY_IMPORTED] == []


def test_deferrable_defaults_to_false_like_airflow(parsed_default):
    assert set(parsed_default["deferrable"].values()) == {False}
    assert len(parsed_default["deferrable"]) == 6


def test_deferrable_follows_operators_default_deferrable(parsed_default_deferrable):
    assert set(parsed_default_deferrable["deferrable"].values()) == {True}
    assert len(parsed_default_deferrable["deferrable"]) == 6


EVENT_DAG = EXAMPLE_DAG.parent / "example_dashscope_on_finetune_success.py"

EVENT_PROBE = textwrap.dedent(
    """
    import json, runpy, sys

    try:  # what a DAG file with an asset watcher imports from Airflow anyway: the baseline
        from airflow.sdk import DAG, Asset, AssetWatcher, task
        import airflow.triggers.base
    except ImportError:
        pass
    baseline = set(sys.modules)
    namespace = runpy.run_path(sys.argv[1])
    print(json.dumps({
        "loaded": sorted(sys.modules),
        "new": sorted(set(sys.modules) - baseline),
        "dag": namespace["dag"].dag_id if "dag" in namespace else None,
    }))
    """
)


def test_parsing_the_event_driven_dag_imports_no_hook_transport_or_http_client(tmp_path):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")}
    environment.update(AIRFLOW_HOME=str(tmp_path), AIRFLOW__CORE__LOAD_EXAMPLES="False")
    done = subprocess.run(
        [sys.executable, "-c", EVENT_PROBE, str(EVENT_DAG)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    import airflow

    if airflow.__version__.startswith("2."):
        assert probe["dag"] is None  # no asset watchers before Airflow 3: the file defines no DAG
        return
    assert probe["dag"] == "dashscope_on_finetune_success"
    assert "airflow_provider_dashscope.triggers.events" in probe["new"]
    loaded = set(probe["loaded"])
    assert [m for m in loaded if any(m == bad or m.startswith(bad + ".") for bad in TASK_ONLY_MODULES)] == []
    assert [m for m in probe["new"] if m.split(".")[0] in NOT_NEWLY_IMPORTED] == []
    assert not [m for m in loaded if m.startswith("airflow_provider_dashscope.watch")]


HOW_TO_PRELOAD = Path(__file__).resolve().parents[1] / "docs" / "how-to" / "dag-parse.md"
PRELOAD_PROBE = textwrap.dedent(
    """
    import json, sys

    import airflow  # what every Airflow process does first: it imports airflow_local_settings

    preloaded = sorted(m for m in sys.modules if m.startswith("airflow_provider_dashscope"))
    before = set(sys.modules)

    # A DAG file's imports and tasks, as the DAG processor's parser runs them after the fork.
    from airflow_provider_dashscope.operators.fine_tunes import (
        DashScopeCreateFineTuneJobOperator, DashScopeFineTuneJobOperator,
    )
    from airflow_provider_dashscope.sensors.fine_tunes import DashScopeFineTuneJobSensor
    from airflow_provider_dashscope.operators.files import DashScopeUploadFileOperator
    from airflow_provider_dashscope.operators.deployments import (
        DashScopeDeleteDeploymentOperator, DashScopeDeployModelOperator,
    )
    from airflow_provider_dashscope.sensors.deployments import DashScopeDeploymentSensor
    from airflow_provider_dashscope.operators.checkpoints import DashScopeExportCheckpointOperator

    DashScopeUploadFileOperator(task_id="u", path="/data/train.jsonl")
    DashScopeCreateFineTuneJobOperator(task_id="t", model="qwen3-14b", training_file_ids=["file-1"])
    DashScopeFineTuneJobSensor(task_id="w", job_id="ft-1", deferrable=True)
    DashScopeFineTuneJobOperator(task_id="r", job_id="ft-1")
    DashScopeDeployModelOperator(task_id="d", model_name="qwen3-14b", capacity=1, suffix="v1")
    DashScopeDeploymentSensor(task_id="s", deployed_model="qwen3-14b")
    DashScopeDeleteDeploymentOperator(task_id="x", deployed_model="qwen3-14b")
    DashScopeExportCheckpointOperator(task_id="e", job_id="ft-1", checkpoint="best", max_value=0.9)
    new = sorted(m for m in set(sys.modules) - before if m.startswith("airflow_provider_dashscope"))
    print(json.dumps({"preloaded": preloaded, "new": new}))
    """
)


def _documented_local_settings() -> str:
    """The ``airflow_local_settings.py`` of the how-to, as a user copies it."""
    blocks = re.findall(r"^```python\n(.*?)^```", HOW_TO_PRELOAD.read_text(), re.MULTILINE | re.DOTALL)
    (settings,) = [block for block in blocks if block.startswith("# $AIRFLOW_HOME/config/airflow_local_settings.py")]
    return settings


def test_the_documented_local_settings_load_everything_a_dag_file_imports_before_it_is_parsed(tmp_path):
    home = tmp_path / "airflow-home"
    (home / "config").mkdir(parents=True)
    (home / "config" / "airflow_local_settings.py").write_text(_documented_local_settings())
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    environment.update(AIRFLOW_HOME=str(home), AIRFLOW__CORE__LOAD_EXAMPLES="False")
    done = subprocess.run(
        [sys.executable, "-c", PRELOAD_PROBE], env=environment, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    assert "airflow_provider_dashscope.operators.checkpoints" in probe["preloaded"]
    assert "airflow_provider_dashscope.sensors.deployments" in probe["preloaded"]
    assert probe["new"] == []  # the parse itself imports nothing of the provider
