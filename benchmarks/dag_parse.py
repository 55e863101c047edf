"""What the provider adds to parsing a DAG file: the same DAG built of the provider's classes and of EmptyOperators.

Two DAG files are written at run time with the same DAG id, arguments, task ids and dependencies:

* ``provider``: the upload operator, the create-and-wait operator, the deferrable job sensor, the read operator,
  the deploy operator, the deployment sensor and the delete-deployment operator (templated ids, as a real DAG has);
* ``empty``: the same seven tasks as ``EmptyOperator``s;
* ``floor``: the provider's DAG text, its seven classes replaced by classes of the same names, bases, template
  fields and extra links whose ``__init__`` only keeps its arguments, all in one module: what Airflow's own bases
  cost any provider's DAG of these tasks (importing ``BaseSensorOperator`` and ``BaseOperatorLink``, the operator
  metaclass, each ``__init__`` through ``apply_defaults``), and so the least the provider's DAG can cost;
* ``preloaded``: the provider's DAG, with the provider's DAG-facing modules imported by ``airflow_local_settings``
  (in ``$AIRFLOW_HOME/config``), as the DAG processor then has them before it forks: the set-up
  ``docs/how-to/dag-parse.md`` describes.

The directory of the DAG files is on ``sys.path`` (as a DAG folder is). Each parse runs in a fresh interpreter that
first imports what Airflow's DAG processor has loaded before it forks
the process that parses a file (``airflow.dag_processing.processor``, then the ``airflow.*`` modules the file
imports: ``parsing_pre_import_modules``); then it times Airflow's own ``DagBag`` on the file (wall and CPU time:
importing the provider, running the file, building the DAG) and ``DagSerialization.to_dict`` of the DAG (what the
processor sends back). The figures are medians over ``--runs`` fresh processes per side, the sides alternating;
the CPU time of the first parse is printed beside its wall time (on a loaded machine a process waits for a core,
which the wall time counts and the CPU time does not).
``--copies N`` repeats the seven tasks N times in one DAG (per-task cost apart from the one-off import).

By default the children run in this interpreter, on the provider as it is installed here (an editable checkout
pays its import hook on every module). ``--wheel`` measures what a user's install pays: it builds a wheel of the
checkout (``uv build``, else ``pip wheel``), installs it with the same Airflow version (the project's constraints
file) and compiled bytecode into a temporary virtualenv (``uv``, else ``venv`` + ``pip``), and runs the children
there; each child reports where it imported the provider from, and the run stops if that is not the wheel.

    python benchmarks/dag_parse.py --runs 15
    python benchmarks/dag_parse.py --runs 15 --copies 10
    python benchmarks/dag_parse.py --runs 15 --wheel
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from importlib import metadata
from pathlib import Path

from _common import REPO_ROOT, machine_line, markdown_table, median_of, print_result, quiet_stdout, ratio, run_child

HEADER = """\
from datetime import datetime, timedelta

from airflow.sdk import DAG, chain
{imports}

with DAG(
    dag_id="parse_benchmark",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={{"job_id": "ft-202611250000-0001", "model": "qwen3-14b"}},
    default_args={{"retries": 2, "retry_delay": timedelta(seconds=30)}},
    tags=["benchmark"],
):
    tasks = []
    for copy in range({copies}):
"""

PROVIDER = """\
from airflow_provider_dashscope.operators.fine_tunes import (
    DashScopeCreateFineTuneJobOperator,
    DashScopeFineTuneJobOperator,
)
from airflow_provider_dashscope.operators.deployments import (
    DashScopeDeleteDeploymentOperator,
    DashScopeDeployModelOperator,
)
from airflow_provider_dashscope.operators.files import DashScopeUploadFileOperator
from airflow_provider_dashscope.sensors.fine_tunes import DashScopeFineTuneJobSensor
from airflow_provider_dashscope.sensors.deployments import DashScopeDeploymentSensor
"""

PROVIDER_TASKS = """\
        upload = DashScopeUploadFileOperator(task_id=f"upload_{copy}", path="/data/train.jsonl")
        train = DashScopeCreateFineTuneJobOperator(
            task_id=f"train_{copy}", model="{{ params.model }}", training_file_ids=[upload.output],
            deferrable=True, poll_interval=60, timeout=timedelta(hours=12),
        )
        wait = DashScopeFineTuneJobSensor(
            task_id=f"wait_{copy}", job_id="{{ params.job_id }}", deferrable=True, poll_interval=60
        )
        read = DashScopeFineTuneJobOperator(
            task_id=f"read_{copy}", job_id="{{ params.job_id }}", wait_for_completion=False
        )
        deploy = DashScopeDeployModelOperator(
            task_id=f"deploy_{copy}", model_name=read.output["finetuned_output"], capacity=1, deferrable=True
        )
        serving = DashScopeDeploymentSensor(
            task_id=f"serving_{copy}", deployed_model=deploy.output["deployed_model"], deferrable=True
        )
        retire = DashScopeDeleteDeploymentOperator(
            task_id=f"retire_{copy}", deployed_model=deploy.output["deployed_model"]
        )
        tasks += [upload, train, wait, read, deploy, serving, retire]
    chain(*tasks)
"""

EMPTY = "from airflow.providers.standard.operators.empty import EmptyOperator\n"

#: The module the ``floor`` DAG imports its seven classes from (written next to the DAG files).
FLOOR_MODULE = "dag_parse_floor"
FLOOR = f"""\
from {FLOOR_MODULE} import (
    DashScopeCreateFineTuneJobOperator,
    DashScopeDeleteDeploymentOperator,
    DashScopeDeployModelOperator,
    DashScopeDeploymentSensor,
    DashScopeFineTuneJobOperator,
    DashScopeFineTuneJobSensor,
    DashScopeUploadFileOperator,
)
"""
FLOOR_SOURCE = """\
from airflow.sdk import BaseOperator, BaseOperatorLink, BaseSensorOperator


class JobLink(BaseOperatorLink):
    name = "job"

    def get_link(self, operator, *, ti_key):
        return ""


class DeploymentLink(BaseOperatorLink):
    name = "deployment"

    def get_link(self, operator, *, ti_key):
        return ""


class DashScopeUploadFileOperator(BaseOperator):
    template_fields = ("path", "dashscope_conn_id")

    def __init__(self, *, path, dashscope_conn_id="dashscope_default", **kwargs):
        super().__init__(**kwargs)
        self.path, self.dashscope_conn_id = path, dashscope_conn_id


class DashScopeCreateFineTuneJobOperator(BaseOperator):
    template_fields = ("model", "training_file_ids", "dashscope_conn_id")
    operator_extra_links = (JobLink(),)

    def __init__(self, *, model, training_file_ids, deferrable=False, poll_interval=60.0, timeout=None,
                 dashscope_conn_id="dashscope_default", **kwargs):
        super().__init__(**kwargs)
        self.model, self.training_file_ids, self.dashscope_conn_id = model, training_file_ids, dashscope_conn_id
        self.deferrable, self.poll_interval, self.timeout = deferrable, poll_interval, timeout


class DashScopeFineTuneJobSensor(BaseSensorOperator):
    template_fields = ("job_id", "dashscope_conn_id")
    operator_extra_links = (JobLink(),)

    def __init__(self, *, job_id, deferrable=False, poll_interval=60.0, dashscope_conn_id="dashscope_default",
                 **kwargs):
        super().__init__(**kwargs)
        self.job_id, self.dashscope_conn_id = job_id, dashscope_conn_id
        self.deferrable, self.poll_interval = deferrable, poll_interval


class DashScopeFineTuneJobOperator(BaseOperator):
    template_fields = ("job_id", "dashscope_conn_id")
    operator_extra_links = (JobLink(),)

    def __init__(self, *, job_id, wait_for_completion=True, dashscope_conn_id="dashscope_default", **kwargs):
        super().__init__(**kwargs)
        self.job_id, self.wait_for_completion, self.dashscope_conn_id = job_id, wait_for_completion, dashscope_conn_id


class DashScopeDeployModelOperator(BaseOperator):
    template_fields = ("model_name", "dashscope_conn_id")
    operator_extra_links = (DeploymentLink(),)

    def __init__(self, *, model_name, capacity=1, deferrable=False, dashscope_conn_id="dashscope_default",
                 **kwargs):
        super().__init__(**kwargs)
        self.model_name, self.capacity, self.deferrable = model_name, capacity, deferrable
        self.dashscope_conn_id = dashscope_conn_id


class DashScopeDeploymentSensor(BaseSensorOperator):
    template_fields = ("deployed_model", "dashscope_conn_id")
    operator_extra_links = (DeploymentLink(),)

    def __init__(self, *, deployed_model, deferrable=False, dashscope_conn_id="dashscope_default", **kwargs):
        super().__init__(**kwargs)
        self.deployed_model, self.deferrable, self.dashscope_conn_id = deployed_model, deferrable, dashscope_conn_id


class DashScopeDeleteDeploymentOperator(BaseOperator):
    template_fields = ("deployed_model", "dashscope_conn_id")
    operator_extra_links = (DeploymentLink(),)

    def __init__(self, *, deployed_model, dashscope_conn_id="dashscope_default", **kwargs):
        super().__init__(**kwargs)
        self.deployed_model, self.dashscope_conn_id = deployed_model, dashscope_conn_id
"""

EMPTY_TASKS = """\
        tasks += [
            EmptyOperator(task_id=f"{name}_{copy}")
            for name in ("upload", "train", "wait", "read", "deploy", "serving", "retire")
        ]
    chain(*tasks)
"""

SIDES = ("empty", "floor", "provider", "preloaded")
#: ``$AIRFLOW_HOME/config/airflow_local_settings.py`` of the ``preloaded`` side (as docs/how-to/dag-parse.md has it).
PRELOAD_SOURCE = """\
import airflow_provider_dashscope.operators.checkpoints
import airflow_provider_dashscope.operators.deployments
import airflow_provider_dashscope.operators.files
import airflow_provider_dashscope.operators.fine_tunes
import airflow_provider_dashscope.sensors.deployments
import airflow_provider_dashscope.sensors.fine_tunes
"""


def dag_source(side: str, copies: int) -> str:
    imports, tasks = {
        "empty": (EMPTY, EMPTY_TASKS),
        "floor": (FLOOR, PROVIDER_TASKS),
        "provider": (PROVIDER, PROVIDER_TASKS),
        "preloaded": (PROVIDER, PROVIDER_TASKS),
    }[side]
    return HEADER.format(imports=imports, copies=copies) + tasks


def child(path: str) -> None:
    """Parse ``path`` as the DAG processor's child would (first parse), then once more in the same process (the
    modules are loaded: what is left is running the file and building the DAG), and time both."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.dag_processing.processor import _pre_import_airflow_modules
    from airflow.serialization.serialized_objects import DagSerialization
    from airflow.utils.log.logging_mixin import LoggingMixin

    sys.path.insert(0, str(Path(path).parent))  # the DAG folder (where the floor's module is)
    _pre_import_airflow_modules(path, LoggingMixin().log)  # what the processor imports before it forks
    preloaded = "airflow_provider_dashscope.operators.fine_tunes" in sys.modules  # by airflow_local_settings
    saved = quiet_stdout()
    result: dict[str, float] = {}
    for parse in ("first", "again"):
        wall, cpu = time.perf_counter(), time.process_time()
        bag = DagBag(dag_folder=path, safe_mode=False, load_op_links=False)
        result[f"{parse}_ms"] = 1000 * (time.perf_counter() - wall)
        result[f"{parse}_cpu_ms"] = 1000 * (time.process_time() - cpu)
        if bag.import_errors or len(bag.dags) != 1:
            raise SystemExit(f"the DAG file did not parse: {bag.import_errors}")
        (dag,) = bag.dags.values()
        wall = time.perf_counter()
        DagSerialization.to_dict(dag)
        result[f"{parse}_serialize_ms"] = 1000 * (time.perf_counter() - wall)
    result["tasks"] = len(dag.tasks)
    result["preloaded"] = float(preloaded)
    result["provider_modules"] = sum(1 for name in sys.modules if name.startswith("airflow_provider_dashscope"))
    provider = sys.modules.get("airflow_provider_dashscope")
    result["provider_from"] = str(Path(provider.__file__).parent) if provider and provider.__file__ else ""
    print_result(saved, result)


def _run(argv: list[str], what: str) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=900)
    if done.returncode != 0:
        raise SystemExit(f"{what} failed ({done.returncode}): {' '.join(argv)}\n{done.stderr[-3000:]}")


def wheel_install(workdir: Path) -> str:
    """Build a wheel of this checkout and install it, with this Airflow, into a new virtualenv in ``workdir``;
    return that virtualenv's interpreter."""
    airflow = metadata.version("apache-airflow")
    python_minor = f"{sys.version_info[0]}.{sys.version_info[1]}"
    constraints = REPO_ROOT / "constraints" / f"airflow-{airflow}-py{python_minor}.txt"
    candidates = [REPO_ROOT / ".tools" / "bin" / "uv", Path(sys.executable).parent / "uv"]  # make install's uv
    uv = shutil.which("uv") or next((str(path) for path in candidates if path.exists()), None)
    dist, venv = workdir / "dist", workdir / "venv"
    if uv:
        _run([uv, "build", "--wheel", "--quiet", "--out-dir", str(dist), str(REPO_ROOT)], "building the wheel")
        _run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], "creating the virtualenv")
        install = [uv, "pip", "install", "--quiet", "--compile-bytecode", "--python", str(venv / "bin" / "python")]
    else:
        if importlib.util.find_spec("pip") is None:
            raise SystemExit("--wheel needs uv (on PATH or in .tools/bin, where make install puts it) or pip")
        _run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist), str(REPO_ROOT)], "pip wheel"
        )
        _run([sys.executable, "-m", "venv", str(venv)], "creating the virtualenv")
        install = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]  # pip compiles bytecode
    (wheel,) = dist.glob("*.whl")
    pins = ["-c", str(constraints)] if constraints.exists() else []
    print(f"Installing {wheel.name} and apache-airflow=={airflow} into a temporary virtualenv ...", flush=True)
    _run([*install, str(wheel), f"apache-airflow=={airflow}", *pins], "installing the wheel")
    return str(venv / "bin" / "python")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15, help="fresh processes per side (default %(default)s)")
    parser.add_argument("--copies", type=int, default=1, help="copies of the seven tasks (default %(default)s)")
    parser.add_argument("--wheel", action="store_true", help="measure a wheel of the checkout in a temporary venv")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return 0

    print(f"DAG parse: {machine_line()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        python = wheel_install(Path(tmp)) if args.wheel else sys.executable
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")},
            "AIRFLOW_HOME": tmp,
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        }
        floor = Path(tmp) / f"{FLOOR_MODULE}.py"
        floor.write_text(FLOOR_SOURCE)
        _run([python, "-m", "py_compile", str(floor)], "compiling the floor's module")  # as a wheel's modules are
        envs = dict.fromkeys(SIDES, env)
        preloaded_home = Path(tmp) / "preloaded_home"
        (preloaded_home / "config").mkdir(parents=True)
        (preloaded_home / "config" / "airflow_local_settings.py").write_text(PRELOAD_SOURCE)
        envs["preloaded"] = {**env, "AIRFLOW_HOME": str(preloaded_home)}
        files = {}
        for side in SIDES:
            files[side] = Path(tmp) / f"{side}_dag.py"
            files[side].write_text(textwrap.dedent(dag_source(side, args.copies)))
        runs: dict[str, list[dict]] = {side: [] for side in SIDES}
        for _ in range(args.runs):
            for side in SIDES:
                argv = ["--child", str(files[side])]
                runs[side].append(run_child(Path(__file__), argv, env=envs[side], timeout=300, python=python))
        provider_from = runs["provider"][0]["provider_from"]
        if not all(row["preloaded"] for row in runs["preloaded"]) or any(row["preloaded"] for row in runs["provider"]):
            raise SystemExit("airflow_local_settings did not preload the provider (or did on the provider's side)")
        if args.wheel and not provider_from.startswith(str(Path(tmp) / "venv")):
            raise SystemExit(f"the children imported the provider from {provider_from}, not from the wheel")
    results = {side: median_of(rows) for side, rows in runs.items()}
    empty = results["empty"]
    installed = "a wheel of the checkout, in a temporary virtualenv" if args.wheel else "this interpreter's install"
    print(f"\nThe provider as imported by the children: {installed} ({provider_from})")
    print(
        f"\nParsing one DAG file of {empty['tasks']} tasks with Airflow's DagBag, median of {args.runs} fresh "
        "processes per side. First parse: what the DAG processor's child pays for every parse of the file (importing "
        "the provider, running the file, building the DAG); again: the same file once more in that process.\n"
    )
    print(
        markdown_table(
            ["DAG built of", "first parse ms", "x EmptyOperators", "CPU ms", "x EmptyOperators (CPU)",
             "parse again ms", "x EmptyOperators", "serialize ms"],
            [
                [
                    side,
                    row["first_ms"],
                    ratio(row["first_ms"], empty["first_ms"]),
                    row["first_cpu_ms"],
                    ratio(row["first_cpu_ms"], empty["first_cpu_ms"]),
                    row["again_ms"],
                    ratio(row["again_ms"], empty["again_ms"]),
                    row["again_serialize_ms"],
                ]
                for side, row in results.items()
            ],
        )
    )  # fmt: skip
    slowest = max(row["first_ms"] for row in runs["provider"])
    provider, floor = results["provider"], results["floor"]
    print(
        f"\nprovider modules a parse imports: {provider['provider_modules']:.0f}; "
        f"slowest first parse of the provider's DAG {slowest:.1f} ms; the provider's first parse against the "
        f"floor's: {ratio(provider['first_ms'], floor['first_ms'])} "
        f"(+{provider['first_ms'] - floor['first_ms']:.2f} ms)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
