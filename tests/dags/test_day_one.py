"""What a DAG author meets on day one, in real ``airflow dags test`` runs against the emulator.

One run of ``dashscope_day_one_failures`` holds every task that fails at once (a FAILED, a CANCELED and an unknown
job with retries left, a job id template with no value, a connection id with a typo, the hook against hosts that
do not resolve); one run of ``dashscope_day_one_env_key`` shows the typo again with ``DASHSCOPE_API_KEY`` exported.
"""

from __future__ import annotations

import json
import re
import socket

from .conftest import API_KEY

FAILURES = "dashscope_day_one_failures"
FAILED, CANCELLED, UNKNOWN = "ft-202611250900-fa11", "ft-202611250900-ca9c", "ft-202611250900-0000"
SHORT_HOST = "no-such-host.invalid"
LONG_HOST = ".".join(["a" * 63] * 3 + ["b" * 53]) + ".invalid"  # 253 characters, the longest name DNS allows


def dns_conn(host: str) -> str:
    return json.dumps(
        {"conn_type": "dashscope", "password": API_KEY, "host": f"https://{host}/api/v1", "extra": {"max_retries": 0}}
    )


def resolver_error(host: str) -> str:
    """What this machine's resolver says about ``host`` (``[Errno -2] Name or service not known`` on glibc)."""
    try:
        socket.getaddrinfo(host, 443)
    except socket.gaierror as err:
        return str(err)
    raise AssertionError(f"{host} resolved")


def test_tasks_that_fail_at_once_say_why_name_the_skipped_retries_and_log_no_error_from_the_link(emulator, run_dag):
    emulator.seed(
        [
            {
                "job_id": FAILED,
                "model": "qwen3-14b",
                "status": "FAILED",
                "code": "DataError",
                "message": "line 3 is not JSON",
            },
            {"job_id": CANCELLED, "model": "qwen3-14b", "status": "CANCELED"},
        ]
    )

    run = run_dag(
        FAILURES,
        {"failed_job_id": FAILED, "cancelled_job_id": CANCELLED, "unknown_job_id": UNKNOWN},
        AIRFLOW_CONN_DASHSCOPE_DNS=dns_conn(SHORT_HOST),
        AIRFLOW_CONN_DASHSCOPE_DNS_LONG=dns_conn(LONG_HOST),
    )

    assert run.returncode == 1, run
    assert set(run.states.values()) == {"failed"}, run
    assert len(run.states) == 7, run
    output = run.output

    # A job that ended, or an unknown id: no retry, and one line that says which retries are skipped and why.
    assert {task: run.tries[task] for task in ("wait_failed", "wait_cancelled", "result_unknown")} == {
        "wait_failed": 1,
        "wait_cancelled": 1,
        "result_unknown": 1,
    }, run
    for line in (
        f"Fine-tune job {FAILED} ended FAILED, so the task fails without its 2 remaining retries: "
        "retrying cannot change a fine-tune job that has ended",
        f"Fine-tune job {CANCELLED} ended CANCELED, so the task fails without its 2 remaining retries: "
        "retrying cannot change a fine-tune job that has ended",
        f"Fine-tune job {UNKNOWN} was not found, so the task fails without its 2 remaining retries: "
        "retrying cannot find a fine-tune job the API does not know",
    ):
        assert run.times_logged(line) == 1, f"{line!r} not once in:\n{run}"
    assert run.xcom["wait_failed"]["status"] == "FAILED" and run.xcom["wait_cancelled"]["status"] == "CANCELED"

    # The training log quoted for the failed job says once which clock its times are on.
    header = (
        f"Last lines of the training log of fine-tune job {FAILED} (its times are the API's clock, "
        "Asia/Shanghai, UTC+08:00):"
    )
    assert run.times_logged(header) == 1, run
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - ERROR - training failed: DataError", output), run

    # A job id template with no value: refused before any request, naming the template.
    assert (
        "job_id is 'None', rendered from the template \"{{ dag_run.conf.get('job_id') }}\": the value it reads is "
        "missing. Give it when you trigger the run (in its conf or params) or give the template a default"
    ) in output, run
    assert emulator.request_count(job_id="None") == 0
    assert not {"job_id", "job_url"} & set(run.xcom.get("wait_without_job_id", {})), run

    # A connection id with a typo (and no DASHSCOPE_API_KEY): the close connection, and no chained traceback.
    assert (
        "connection 'dashscope_defualt' does not exist; did you mean 'dashscope_default'? It is a 'dashscope' "
        "connection Airflow can see: set dashscope_conn_id='dashscope_default'"
    ) in output, run
    assert "AIRFLOW_CONN_DASHSCOPE_DEFUALT" not in output, run  # no advice to create the misspelled one
    assert "During handling of the above exception" not in output, run

    # A host that does not resolve: the resolver's whole reason; a reason too long for a message ends on a word.
    assert f"Failed to resolve '{SHORT_HOST}' ({resolver_error(SHORT_HOST)})" in output, run
    full = (
        f"HTTPSConnection(host='{LONG_HOST}', port=443): Failed to resolve '{LONG_HOST}' ({resolver_error(LONG_HOST)})"
    )
    cut = re.search(r"ft-202411251000-dns1\) could not connect: ConnectionError: (.+?)\.\.\.", output)
    assert cut is not None, run
    assert full.startswith(cut.group(1)) and len(cut.group(1)) < len(full), cut.group(1)
    assert full[len(cut.group(1))] == " " and cut.group(1)[-1].isalnum(), cut.group(1)

    # Tasks that failed before they knew a job have no console URL: the extra link asked Airflow for nothing.
    assert "XCom not found" not in output, run
    for task in ("wait_without_job_id", "wait_with_conn_typo"):
        assert task not in run.links, run  # Airflow 3 stores the link as an XCom: an empty one
    assert API_KEY not in output


def test_with_the_key_exported_an_unknown_id_falls_back_and_a_typo_still_stops(emulator, run_dag):
    job_id = "ft-202611250900-e4e4"
    emulator.seed([{"job_id": job_id, "model": "qwen3-14b", "status": "SUCCEEDED", "usage": 4321}])

    run = run_dag(
        "dashscope_day_one_env_key",
        {"job_id": job_id},
        DASHSCOPE_API_KEY=API_KEY,
        DASHSCOPE_HTTP_BASE_URL=emulator.base_url,
    )

    assert run.returncode == 1, run
    assert run.states == {"wait": "success", "wait_with_conn_typo": "failed"}, run
    assert run.times_logged("Connection 'team_b_account' was not found") == 1, run
    warnings = [line for line in run.output.splitlines() if "Connection 'team_b_account' was not found" in line]
    assert "warning" in warnings[0].lower(), warnings
    assert (
        "Connection 'team_b_account' was not found: using DASHSCOPE_API_KEY "
        f"and DASHSCOPE_HTTP_BASE_URL ({emulator.base_url}) instead"
    ) in warnings[0]
    # The typo stops although the key is set: the public host (or the emulator) never hears from it.
    assert (
        "connection 'dashscope_defualt' does not exist; did you mean 'dashscope_default'? It is a 'dashscope' "
        "connection Airflow can see: set dashscope_conn_id='dashscope_default' (DASHSCOPE_API_KEY is set"
    ) in run.output, run
    assert "Connection 'dashscope_defualt' was not found" not in run.output, run
    # The sensor hands on what the operators hand on, typed.
    xcom = run.xcom["wait"]
    assert xcom["job_id"] == job_id
    assert xcom["status"] == "SUCCEEDED"
    assert xcom["finetuned_output"] == f"qwen3-14b-{job_id}"
    assert xcom["usage"] == 4321
    assert xcom["return_value"]["usage"] == 4321
    assert API_KEY not in run.output


SUGGEST_FROM_DB = """
import json
from airflow.models.connection import Connection
from airflow.utils.session import create_session
from airflow_provider_dashscope._connection_lookup import similar_conn_id

with create_session() as session:
    session.add(Connection(conn_id="dashscope_prod", conn_type="dashscope", password="sk-db-SECRET-77"))
    session.add(Connection(conn_id="llm_gateway", conn_type="http", password="sk-db-SECRET-77"))
try:
    found = {
        "typo": similar_conn_id("dashscope_prd", environ={}),
        "other_type_only": similar_conn_id("llm_gatewya", environ={}),
    }
finally:
    with create_session() as session:
        session.query(Connection).filter(Connection.conn_id.in_(["dashscope_prod", "llm_gateway"])).delete()
print("FOUND " + json.dumps(found))
"""


def test_a_close_dashscope_connection_in_the_metadata_db_is_suggested(airflow_home):
    """Where a task may read the metadata DB (Airflow 2 workers, ``airflow dags test``), its connections count."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "DASHSCOPE_"))}
    env["AIRFLOW_HOME"] = str(airflow_home)
    done = subprocess.run([sys.executable, "-c", SUGGEST_FROM_DB], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    line = [line for line in done.stdout.splitlines() if line.startswith("FOUND ")][-1]
    assert json.loads(line[len("FOUND ") :]) == {"typo": "dashscope_prod", "other_type_only": None}
    assert "sk-db-SECRET-77" not in done.stdout + done.stderr
