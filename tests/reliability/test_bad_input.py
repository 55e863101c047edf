"""Every row of the "Bad input" table of docs/reference/errors.md, for the sensor and both operators, from one list (``BAD_INPUTS``).

* A value known when the DAG is parsed (a literal ``job_id``, ``poll_interval``, ``timeout``) fails at construction,
  i.e. at parse: checked by constructing each operator inside a ``DAG`` and by parsing real DAG files with DagBag.
* A templated ``job_id`` ('{{ params.job_id }}') that renders to a bad value, and every connection problem, fail at
  the start of ``execute``, before any request (the emulator counts 0 requests).

Each error names the field and the fix (asserted substrings).
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_dashscope.exceptions import DashScopeConfigError
from airflow_provider_dashscope.operators.fine_tunes import (
    DashScopeCreateFineTuneJobOperator,
    DashScopeFineTuneJobOperator,
)
from airflow_provider_dashscope.sensors.fine_tunes import DashScopeFineTuneJobSensor

from .conftest import KEY, REPO, conn_json

JOB_ID_HINT = "pass the id the create call returned"


@dataclass(frozen=True)
class BadInput:
    key: str
    readme_row: str  #: the start of the row of the "Bad input" table (docs/reference/errors.md) it belongs to
    kind: str  #: "job_id" (literal at parse / templated at execute), "arg" (parse only), "conn" (execute only)
    value: Any = None  #: the bad job_id, or the operator kwargs for "arg"
    conn: dict[str, Any] = field(default_factory=dict)  #: for "conn": how to (mis)configure the connection
    expected: tuple[str, ...] = ()  #: substrings: the field and the fix


BAD_INPUTS: tuple[BadInput, ...] = (
    BadInput(
        "job_id_empty", "`job_id` empty, `None`, not a string", "job_id", "", expected=("job_id is empty", JOB_ID_HINT)
    ),
    BadInput(
        "job_id_none",
        "`job_id` empty, `None`, not a string",
        "job_id",
        None,
        expected=("job_id must be a string, got NoneType None", JOB_ID_HINT),
    ),
    BadInput(
        "job_id_int",
        "`job_id` empty, `None`, not a string",
        "job_id",
        123,
        expected=("job_id must be a string, got int 123", JOB_ID_HINT),
    ),
    BadInput(
        "job_id_missing_text",
        "`job_id` that renders to `None`",
        "job_id",
        "None",
        expected=("job_id is 'None'", "missing", JOB_ID_HINT),
    ),
    BadInput(
        "job_id_path",
        "`job_id` path-like (`../deployments`)",
        "job_id",
        "../deployments",
        expected=("job_id '../deployments' is not a valid job id", "'/'", JOB_ID_HINT),
    ),
    BadInput(
        "job_id_space",
        "`job_id` path-like (`../deployments`)",
        "job_id",
        "a b",
        expected=("job_id 'a b' is not a valid job id", "whitespace", JOB_ID_HINT),
    ),
    BadInput(
        "job_id_nul",
        "`job_id` path-like (`../deployments`)",
        "job_id",
        "a\x00b",
        expected=("job_id 'a\\x00b' is not a valid job id", "control", JOB_ID_HINT),
    ),
    BadInput(
        "job_id_long",
        "`job_id` longer than 256 characters",
        "job_id",
        "f" * 300,
        expected=("job_id is 300 characters long (at most 256)", JOB_ID_HINT),
    ),
    BadInput(
        "poll_interval_zero",
        "`poll_interval` zero or negative",
        "arg",
        {"poll_interval": 0},
        expected=("poll_interval must be > 0 seconds", "got 0"),
    ),
    BadInput(
        "poll_interval_negative",
        "`poll_interval` zero or negative",
        "arg",
        {"poll_interval": -1},
        expected=("poll_interval must be > 0 seconds", "got -1"),
    ),
    BadInput(
        "timeout_negative",
        "`timeout` negative",
        "arg",
        {"timeout": -1},
        expected=("timeout must be >= 0 seconds", "got -1"),
    ),
    BadInput(
        "unknown_region",
        "unknown `region` extra",
        "conn",
        conn={"extra": {"region": "mars-north-1"}},
        expected=("unknown region 'mars-north-1'", "extra 'region'", "known regions: ap-southeast-1, cn-beijing"),
    ),
    BadInput(
        "plain_http",
        "plain `http://` base URL to a non-loopback host",
        "conn",
        conn={"host": "http://dashscope.example.com/api/v1"},
        expected=("host", "plain http://", "use https://"),
    ),
    BadInput(
        "missing_key",
        "missing API key",
        "conn",
        conn={"password": None},
        expected=("connection 'dashscope_default' has no API key", "password field"),
    ),
    BadInput(
        "missing_conn",
        "a connection id that does not exist",
        "conn",
        conn={"conn_id": "no_such_conn"},
        expected=(
            "connection 'no_such_conn' does not exist",
            "AIRFLOW_CONN_NO_SUCH_CONN",
            "export DASHSCOPE_API_KEY",
        ),
    ),
    # The upload operator: files are checked at the start of execute (the path is the worker's), before any byte.
    BadInput("file_missing", "`path` missing, not a regular file", "file", "missing",
             expected=("does not exist; check the path",)),
    BadInput("file_directory", "`path` missing, not a regular file", "file", "directory",
             expected=("is not a regular file; give the path of one file to upload",)),
    BadInput("file_empty", "`path` missing, not a regular file", "file", b"", expected=("is empty",)),
    BadInput("file_not_json", "a training file that is not JSONL", "file", b'{"messages": []}\n[1]\n',
             expected=("line 1: 'messages' must be a non-empty list",)),
    BadInput("file_array_line", "a training file that is not JSONL", "file", b"[1]\n",
             expected=("line 1: is a JSON array, not an object", "one JSON object per line")),
    BadInput("file_blank_line", "a training file that is not JSONL", "file", b'{"a": 1}\n\n',
             expected=("line 2: is blank",)),
    BadInput("file_no_role", "a training file that is not JSONL", "file", b'{"messages": [{"content": "x"}]}\n',
             expected=("line 1: messages[0] has no 'role'",)),
    BadInput("file_latin1", "a training file that is not JSONL", "file", b'{"a": "caf\xe9"}\n',
             expected=("line 1: is not UTF-8 text",)),
    BadInput("file_too_large", "a file over the size limit", "file", "too_large",
             expected=("over the", "limit of the upload API for purpose 'fine-tune'", "split it into smaller files")),
    # Deployments: literal values at parse, templated ones at the start of execute.
    BadInput("model_empty", "`model_name` or `deployed_model` empty", "model", "",
             expected=("is empty",)),
    BadInput("model_none", "`model_name` or `deployed_model` empty", "model", None,
             expected=("must be a string, got NoneType None",)),
    BadInput("model_path", "`model_name` or `deployed_model` empty", "model", "../fine-tunes",
             expected=("'../fine-tunes' is not a valid", "'/'")),
    BadInput("model_space", "`model_name` or `deployed_model` empty", "model", "my model",
             expected=("'my model' is not a valid", "whitespace")),
    BadInput("model_missing_text", "`model_name` or `deployed_model` empty", "model", "None",
             expected=("is 'None'",)),
    BadInput("capacity_zero", "`capacity` not a positive integer", "capacity", 0,
             expected=("capacity must be a positive integer below 1000", "got 0")),
    BadInput("capacity_text", "`capacity` not a positive integer", "capacity", "2",
             expected=("capacity must be a positive integer below 1000", "got '2'")),
    BadInput("capacity_float", "`capacity` not a positive integer", "capacity", 1.5, expected=("got 1.5",)),
    BadInput("capacity_huge", "`capacity` not a positive integer", "capacity", 1000, expected=("got 1000",)),
    BadInput("suffix_long", "a `suffix` the API would refuse", "suffix", "ninechars",
             expected=("suffix must be 1 to 8 lower-case letters or digits", "got 'ninechars'")),
    BadInput("suffix_upper", "a `suffix` the API would refuse", "suffix", "V2",
             expected=("suffix must be 1 to 8 lower-case letters or digits", "got 'V2'")),
    BadInput("suffix_dash", "a `suffix` the API would refuse", "suffix", "a-b",
             expected=("suffix must be 1 to 8",)),
    # DashScopeExportCheckpointOperator
    BadInput("checkpoint_path", "`checkpoint` path-like", "export", {"checkpoint": "../checkpoint-3"},
             expected=("checkpoint '../checkpoint-3' is not a checkpoint name", "'best'")),
    BadInput("checkpoint_slash", "`checkpoint` path-like", "export", {"checkpoint": "checkpoint-3/x"},
             expected=("is not a checkpoint name",)),
    BadInput("checkpoint_keyword", "`checkpoint` an unknown keyword", "export", {"checkpoint": "latest"},
             expected=("checkpoint 'latest' is neither 'best', 'last' nor a checkpoint name",)),
    BadInput("checkpoint_case", "`checkpoint` an unknown keyword", "export", {"checkpoint": "Best"},
             expected=("write it as 'best'",)),
    BadInput("threshold_text", "`max_value` or `min_value` not a number", "export", {"max_value": "low"},
             expected=("max_value must be a number such as 0.9, got 'low'",)),
    BadInput("threshold_nan", "`max_value` or `min_value` not a number", "export", {"min_value": float("nan")},
             expected=("min_value must be a finite number",)),
    BadInput("threshold_both", "both `max_value` and `min_value`", "export", {"max_value": 1.0, "min_value": 0.5},
             expected=("give max_value or min_value, not both",)),
    BadInput("mode_unknown", "`mode` other than", "export", {"mode": "lowest"},
             expected=("mode must be 'min' (lower is better) or 'max'",)),
    BadInput("metric_name", "`mode` other than", "export", {"metric": "eval loss"},
             expected=("metric must be a metric name such as 'eval_loss'",)),
    BadInput("export_model_name", "an export `model_name`", "export", {"model_name": "my model"},
             expected=("model_name 'my model' is not a usable name for an exported model",)),
)  # fmt: skip

OPERATORS = {
    "sensor": DashScopeFineTuneJobSensor,
    "wait_operator": DashScopeFineTuneJobOperator,
    "create_operator": DashScopeCreateFineTuneJobOperator,
}
CREATE_ARGS = {"model": "qwen3-14b", "training_file_ids": ["file-ft-train-1"]}
GOOD_JOB_ID = "ft-202411251000-abcd"


def build(target: str, *, job_id: Any = GOOD_JOB_ID, **kwargs: Any):
    cls = OPERATORS[target]
    kwargs = {"task_id": f"t_{target}", "deferrable": True, **kwargs}
    if target == "create_operator":
        return cls(**CREATE_ARGS, **kwargs)
    return cls(job_id=job_id, **kwargs)


def check_message(row: BadInput, error: BaseException) -> None:
    text = str(error)
    for expected in row.expected:
        assert expected in text, f"{row.key}: {expected!r} not in {text!r}"
    assert KEY not in text


def rows(*kinds: str, targets: tuple[str, ...] = tuple(OPERATORS)) -> list:
    params = []
    for row in BAD_INPUTS:
        if row.kind not in kinds:
            continue
        for target in targets:
            if row.kind == "job_id" and target == "create_operator":
                continue  # the create operator has no job_id argument
            params.append(pytest.param(row, target, id=f"{row.key}-{target}"))
    return params


def test_every_documented_bad_input_row_is_tested():
    page = (REPO / "docs" / "reference" / "errors.md").read_text()
    section = page.split("## Bad input", 1)[1].split("\n## ", 1)[0]
    table_rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| Input")]
    assert len(table_rows) == 22, table_rows
    for line in table_rows:
        assert any(line.startswith("| " + row.readme_row) for row in BAD_INPUTS), (
            f"untested row of docs/reference/errors.md: {line}"
        )
    for row in BAD_INPUTS:
        assert any(line.startswith("| " + row.readme_row) for line in table_rows), row


# ------------------------------------------------------------------------------------------------------------------
# Known at parse: fails when the operator is built (inside a DAG, as the DAG processor does)
# ------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("row", "target"), rows("job_id", "arg"))
def test_a_value_known_at_parse_fails_when_the_dag_is_parsed(row: BadInput, target: str):
    from airflow.providers.common.compat.sdk import DAG

    kwargs = dict(row.value) if row.kind == "arg" else {"job_id": row.value}
    with DAG(dag_id=f"bad_{row.key}_{target}", schedule=None, start_date=datetime(2026, 1, 1)):
        with pytest.raises(DashScopeConfigError) as info:
            build(target, **kwargs)
    assert isinstance(info.value, ValueError)
    check_message(row, info.value)


def test_dag_files_with_bad_literal_values_are_import_errors_naming_the_field(tmp_path: Path):
    """The same rows through Airflow's own DAG parsing (DagBag): each file is an import error with the message."""
    try:
        from airflow.dag_processing.dagbag import DagBag  # Airflow 3
    except ImportError:  # Airflow 2
        from airflow.models.dagbag import DagBag

    files = {}
    for param in rows("job_id", "arg"):
        row, target = param.values
        kwargs = dict(row.value) if row.kind == "arg" else {"job_id": row.value}
        if target == "create_operator":
            kwargs.update(CREATE_ARGS)
        elif "job_id" not in kwargs:
            kwargs["job_id"] = GOOD_JOB_ID
        name = f"bad_{row.key}_{target}"
        source = f"""
            from datetime import datetime
            from airflow.providers.common.compat.sdk import DAG
            from {OPERATORS[target].__module__} import {OPERATORS[target].__name__} as Op

            with DAG(dag_id={name!r}, schedule=None, start_date=datetime(2026, 1, 1)):
                Op(task_id="t", deferrable=True, **{kwargs!r})
        """
        path = tmp_path / f"{name}.py"
        path.write_text(textwrap.dedent(source))
        files[str(path)] = row
    bag = DagBag(dag_folder=str(tmp_path))  # examples are off (tests/conftest.py)
    assert bag.dags == {} or not bag.dags
    assert set(bag.import_errors) == set(files), bag.import_errors
    for path, row in files.items():
        message = bag.import_errors[path]
        assert "DashScopeConfigError" in message, message
        check_message(row, message.replace("\\\\", "\\"))


# ------------------------------------------------------------------------------------------------------------------
# Known only at run time: fails at the start of execute, before any request
# ------------------------------------------------------------------------------------------------------------------
class RecordingTI:
    dag_id, task_id, run_id, map_index, try_number = "bad_input", "t", "manual__2026-11-25", -1, 1

    def __init__(self) -> None:
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any, **kwargs: Any) -> None:
        self.pushed[key] = value


def context(params: dict[str, Any] | None = None) -> dict[str, Any]:
    ti = RecordingTI()
    return {"ti": ti, "task_instance": ti, "run_id": ti.run_id, "params": params or {}, "dag_run": None}


#: Jinja renders None and 123 to the text 'None' and '123': see the two tests after this one.
TEMPLATED = [
    p
    for p in rows("job_id", targets=("sensor", "wait_operator"))
    if p.values[0].key not in ("job_id_none", "job_id_int")
]


@pytest.mark.parametrize(("row", "target"), TEMPLATED)
def test_a_templated_job_id_rendering_to_a_bad_value_fails_at_execute_before_any_request(row: BadInput, target, conn):
    operator = build(target, job_id="{{ params.job_id }}")  # fine at parse: the value is not known yet
    ctx = context(params={"job_id": row.value})
    operator.render_template_fields(ctx)
    with pytest.raises(DashScopeConfigError) as info:
        operator.execute(ctx)
    check_message(row, info.value)
    assert conn.request_count() == 0


@pytest.mark.parametrize("target", ["sensor", "wait_operator"])
@pytest.mark.parametrize("value", [None, "none", "null", "NULL"])
def test_a_template_rendering_a_missing_value_is_refused_naming_the_template(value, target, conn):
    """'{{ params.job_id }}' with None renders the text 'None': refused before any request, naming the template."""
    operator = build(target, job_id="{{ params.job_id }}")
    ctx = context(params={"job_id": value})
    operator.render_template_fields(ctx)
    assert operator.job_id == str(value)
    with pytest.raises(DashScopeConfigError) as info:
        operator.execute(ctx)
    assert str(info.value).startswith(
        f"job_id is {str(value)!r}, rendered from the template '{{{{ params.job_id }}}}': the value it reads is "
        "missing. Give it when you trigger the run (in its conf or params) or give the template a default; "
        + JOB_ID_HINT
    ), info.value
    assert conn.request_count() == 0
    assert ctx["ti"].pushed == {}  # nothing announced: there is no job


@pytest.mark.parametrize("target", ["sensor", "wait_operator"])
def test_a_template_rendering_a_number_is_text_and_fails_as_an_unknown_job(target, conn):
    """'{{ params.job_id }}' with 123 renders the text '123' (a well-formed id): one GET, a 404, no retry, and a
    FineTuneJobNotFoundError that names the id the task actually used."""
    from airflow_provider_dashscope.exceptions import FineTuneJobNotFoundError

    operator = build(target, job_id="{{ params.job_id }}")
    ctx = context(params={"job_id": 123})
    operator.render_template_fields(ctx)
    assert operator.job_id == "123"
    with pytest.raises(FineTuneJobNotFoundError) as info:
        operator.execute(ctx)
    assert "Fine-tune job 123 was not found (HTTP 404" in str(info.value)
    assert conn.request_count() == 1


@pytest.mark.parametrize(("row", "target"), rows("conn"))
def test_a_bad_connection_fails_at_the_start_of_execute_before_any_request(row: BadInput, target, conn, monkeypatch):
    spec = dict(row.conn)
    conn_id = spec.pop("conn_id", "dashscope_default")
    if conn_id == "dashscope_default":
        settings = {"host": conn.base_url, "password": KEY, **spec}
        extra = settings.pop("extra", {})
        monkeypatch.setenv(
            "AIRFLOW_CONN_DASHSCOPE_DEFAULT", conn_json(settings["host"], password=settings["password"], **extra)
        )
    operator = build(target, dashscope_conn_id=conn_id)  # fine at parse: connections are read at run time
    with pytest.raises(DashScopeConfigError) as info:
        operator.execute(context())
    check_message(row, info.value)
    assert conn.request_count() == 0
    assert json.dumps(operator.dashscope_conn_id) and KEY not in repr(operator.__dict__)


# ------------------------------------------------------------------------------------------------------------------
# Files, deployments: the upload operator, the deploy and delete operators, the deployment sensor
# ------------------------------------------------------------------------------------------------------------------
def bad_file(tmp_path: Path, value: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """A file (or a path) that is wrong the way ``value`` says."""
    if value == "missing":
        return str(tmp_path / "missing.jsonl")
    if value == "directory":
        return str(tmp_path)
    path = tmp_path / "train.jsonl"
    if value == "too_large":
        from airflow_provider_dashscope._checks import training_file as _training_file

        monkeypatch.setitem(_training_file.MAX_FILE_BYTES, "fine-tune", 64)  # the check is the same at 300 MiB
        value = b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}\n'
    path.write_bytes(value)
    return str(path)


@pytest.mark.parametrize("row", [r for r in BAD_INPUTS if r.kind == "file"], ids=lambda r: r.key)
def test_a_bad_file_fails_the_upload_at_execute_before_any_request(row: BadInput, conn, tmp_path, monkeypatch):
    from airflow_provider_dashscope.exceptions import TrainingFileError
    from airflow_provider_dashscope.operators.files import DashScopeUploadFileOperator

    path = bad_file(tmp_path, row.value, monkeypatch)
    operator = DashScopeUploadFileOperator(task_id="upload", path="{{ params.path }}")
    ctx = context(params={"path": path})
    operator.render_template_fields(ctx)
    with pytest.raises(TrainingFileError) as info:
        operator.execute(ctx)
    check_message(row, info.value)
    assert path.split("/")[-1] in str(info.value)  # the message names the file
    assert conn.request_count() == 0


def deployment_tasks(value: Any) -> list:
    from airflow_provider_dashscope.operators.deployments import (
        DashScopeDeleteDeploymentOperator,
        DashScopeDeployModelOperator,
    )
    from airflow_provider_dashscope.sensors.deployments import DashScopeDeploymentSensor

    return [
        lambda: DashScopeDeployModelOperator(task_id="deploy", model_name=value),
        lambda: DashScopeDeploymentSensor(task_id="serving", deployed_model=value),
        lambda: DashScopeDeleteDeploymentOperator(task_id="undeploy", deployed_model=value),
    ]


@pytest.mark.parametrize("row", [r for r in BAD_INPUTS if r.kind == "model"], ids=lambda r: r.key)
def test_a_bad_model_name_or_deployed_model_fails_at_parse(row: BadInput):
    from airflow.providers.common.compat.sdk import DAG

    for index, build_task in enumerate(deployment_tasks(row.value)):
        with DAG(dag_id=f"bad_{row.key}_{index}", schedule=None, start_date=datetime(2026, 1, 1)):
            with pytest.raises(DashScopeConfigError) as info:
                build_task()
        check_message(row, info.value)
        assert ("model_name" if index == 0 else "deployed_model") in str(info.value)


@pytest.mark.parametrize(
    "row", [r for r in BAD_INPUTS if r.kind == "model" and isinstance(r.value, str) and r.value], ids=lambda r: r.key
)
def test_a_templated_model_name_or_deployed_model_fails_at_execute_before_any_request(row: BadInput, conn):
    for build_task in deployment_tasks("{{ params.name }}"):
        operator = build_task()  # fine at parse: the value is not known yet
        ctx = context(params={"name": row.value})
        operator.render_template_fields(ctx)
        with pytest.raises(DashScopeConfigError) as info:
            operator.execute(ctx)
        check_message(row, info.value)
    assert conn.request_count() == 0


@pytest.mark.parametrize("row", [r for r in BAD_INPUTS if r.kind in ("capacity", "suffix")], ids=lambda r: r.key)
def test_a_bad_capacity_or_suffix_fails_at_parse(row: BadInput):
    from airflow.providers.common.compat.sdk import DAG

    from airflow_provider_dashscope.operators.deployments import DashScopeDeployModelOperator

    with DAG(dag_id=f"bad_{row.key}", schedule=None, start_date=datetime(2026, 1, 1)):
        with pytest.raises(DashScopeConfigError) as info:
            DashScopeDeployModelOperator(task_id="deploy", model_name="qwen3-14b", **{row.kind: row.value})
    check_message(row, info.value)


@pytest.mark.parametrize("row", [r for r in BAD_INPUTS if r.kind == "suffix"], ids=lambda r: r.key)
def test_a_templated_suffix_fails_at_execute_before_any_request(row: BadInput, conn):
    from airflow_provider_dashscope.operators.deployments import DashScopeDeployModelOperator

    operator = DashScopeDeployModelOperator(task_id="deploy", model_name="qwen3-14b", suffix="{{ params.suffix }}")
    ctx = context(params={"suffix": row.value})
    operator.render_template_fields(ctx)
    with pytest.raises(DashScopeConfigError) as info:
        operator.execute(ctx)
    check_message(row, info.value)
    assert conn.request_count() == 0


# ------------------------------------------------------------------------------------------------------------------
# The checkpoint export: bad arguments fail at parse; templated ones that render badly at execute, 0 requests
# ------------------------------------------------------------------------------------------------------------------
EXPORT_JOB = "ft-202411251000-abcd"


@pytest.mark.parametrize("row", [r for r in BAD_INPUTS if r.kind == "export"], ids=lambda r: r.key)
def test_a_bad_export_argument_fails_at_parse(row: BadInput):
    from airflow.providers.common.compat.sdk import DAG

    from airflow_provider_dashscope.operators.checkpoints import DashScopeExportCheckpointOperator

    with DAG(dag_id=f"bad_{row.key}", schedule=None, start_date=datetime(2026, 1, 1)):
        with pytest.raises(DashScopeConfigError) as info:
            DashScopeExportCheckpointOperator(task_id="export_best", job_id=EXPORT_JOB, **row.value)
    check_message(row, info.value)


TEMPLATED_EXPORT = ("checkpoint", "max_value", "min_value", "model_name")


@pytest.mark.parametrize(
    "row",
    [r for r in BAD_INPUTS if r.kind == "export" and len(r.value) == 1 and set(r.value) <= set(TEMPLATED_EXPORT)],
    ids=lambda r: r.key,
)
def test_a_templated_export_argument_fails_at_execute_before_any_request(row: BadInput, conn):
    from airflow_provider_dashscope.operators.checkpoints import DashScopeExportCheckpointOperator

    ((name, value),) = row.value.items()
    operator = DashScopeExportCheckpointOperator(
        task_id="export_best", job_id=EXPORT_JOB, **{name: "{{ params.value }}"}
    )  # fine at parse: the value is not known yet
    ctx = context(params={"value": value})
    operator.render_template_fields(ctx)
    with pytest.raises(DashScopeConfigError) as info:
        operator.execute(ctx)
    if not isinstance(value, float):  # a rendered NaN is the text 'nan': refused as text, not as a number
        check_message(row, info.value)
    assert name in str(info.value)
    assert conn.request_count() == 0
