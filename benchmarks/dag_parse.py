"""What the provider adds to parsing a DAG file: the same DAG built of the provider's classes and of EmptyOperators.

Two DAG files are written at run time with the same DAG id, arguments, task ids and dependencies:

* ``provider``: the upload operator, the create-and-wait operator, the deferrable job sensor, the read operator,
  the deploy operator, the deployment sensor and the delete-deployment operator (templated ids, as a real DAG has);
* ``empty``: the same seven tasks as ``EmptyOperator``s.

Each parse runs in a fresh interpreter that first imports what Airflow's DAG processor has loaded before it forks
the process that parses a file (``airflow.dag_processing.processor``, then the ``airflow.*`` modules the file
imports: ``parsing_pre_import_modules``); then it times Airflow's own ``DagBag`` on the file (wall and CPU time:
importing the provider, running the file, building the DAG) and ``DagSerialization.to_dict`` of the DAG (what the
processor sends back). The figures are medians over ``--runs`` fresh processes per side, the sides alternating.
``--copies N`` repeats the seven tasks N times in one DAG (per-task cost apart from the one-off import).

    python benchmarks/dag_parse.py --runs 15
    python benchmarks/dag_parse.py --runs 15 --copies 10
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from _common import machine_line, markdown_table, median_of, print_result, quiet_stdout, ratio, run_child

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

EMPTY_TASKS = """\
        tasks += [
            EmptyOperator(task_id=f"{name}_{copy}")
            for name in ("upload", "train", "wait", "read", "deploy", "serving", "retire")
        ]
    chain(*tasks)
"""

SIDES = ("empty", "provider")


def dag_source(side: str, copies: int) -> str:
    imports, tasks = (PROVIDER, PROVIDER_TASKS) if side == "provider" else (EMPTY, EMPTY_TASKS)
    return HEADER.format(imports=imports, copies=copies) + tasks


def child(path: str) -> None:
    """Parse ``path`` as the DAG processor's child would (first parse), then once more in the same process (the
    modules are loaded: what is left is running the file and building the DAG), and time both."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.dag_processing.processor import _pre_import_airflow_modules
    from airflow.serialization.serialized_objects import DagSerialization
    from airflow.utils.log.logging_mixin import LoggingMixin

    _pre_import_airflow_modules(path, LoggingMixin().log)  # what the processor imports before it forks
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
    result["provider_modules"] = sum(1 for name in sys.modules if name.startswith("airflow_provider_dashscope"))
    print_result(saved, result)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=15, help="fresh processes per side (default %(default)s)")
    parser.add_argument("--copies", type=int, default=1, help="copies of the seven tasks (default %(default)s)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return 0

    print(f"DAG parse: {machine_line()}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")},
            "AIRFLOW_HOME": tmp,
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        }
        files = {}
        for side in SIDES:
            files[side] = Path(tmp) / f"{side}_dag.py"
            files[side].write_text(textwrap.dedent(dag_source(side, args.copies)))
        runs: dict[str, list[dict]] = {side: [] for side in SIDES}
        for _ in range(args.runs):
            for side in SIDES:
                runs[side].append(run_child(Path(__file__), ["--child", str(files[side])], env=env, timeout=300))
    results = {side: median_of(rows) for side, rows in runs.items()}
    empty = results["empty"]
    print(
        f"\nParsing one DAG file of {empty['tasks']} tasks with Airflow's DagBag, median of {args.runs} fresh "
        "processes per side. First parse: what the DAG processor's child pays for every parse of the file (importing "
        "the provider, running the file, building the DAG); again: the same file once more in that process.\n"
    )
    print(
        markdown_table(
            ["DAG built of", "first parse ms", "CPU ms", "x EmptyOperators", "parse again ms", "x EmptyOperators",
             "serialize ms"],
            [
                [
                    side,
                    row["first_ms"],
                    row["first_cpu_ms"],
                    ratio(row["first_ms"], empty["first_ms"]),
                    row["again_ms"],
                    ratio(row["again_ms"], empty["again_ms"]),
                    row["again_serialize_ms"],
                ]
                for side, row in results.items()
            ],
        )
    )  # fmt: skip
    slowest = max(row["first_ms"] for row in runs["provider"])
    print(
        f"\nprovider modules a parse imports: {results['provider']['provider_modules']:.0f}; "
        f"slowest first parse of the provider's DAG {slowest:.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
