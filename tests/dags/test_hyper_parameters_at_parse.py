"""``hyper_parameters`` of the create operator checked when Airflow parses the DAG file (DagBag, as the DAG
processor does): a plain string is an import error with the tip, an unknown key a WARNING (did you mean...)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from airflow_provider_dashscope._checks.hyper_parameters import DOCUMENTED_KEYS, check_hyper_parameters

DAG_FILE = """
from datetime import datetime
from airflow.providers.common.compat.sdk import DAG
from airflow_provider_dashscope.operators.fine_tunes import DashScopeCreateFineTuneJobOperator

with DAG(dag_id={dag_id!r}, schedule=None, start_date=datetime(2026, 1, 1)):
    DashScopeCreateFineTuneJobOperator(
        task_id="train", model="qwen3-14b", training_file_ids=["file-ft-1"], hyper_parameters={value}
    )
"""


def parse(folder: Path, **files: str):
    try:
        from airflow.dag_processing.dagbag import DagBag  # Airflow 3
    except ImportError:  # Airflow 2
        from airflow.models.dagbag import DagBag

    for dag_id, value in files.items():
        (folder / f"{dag_id}.py").write_text(textwrap.dedent(DAG_FILE.format(dag_id=dag_id, value=value)))
    return DagBag(dag_folder=str(folder))


def test_a_plain_string_is_an_import_error_with_the_tip(tmp_path: Path) -> None:
    bag = parse(tmp_path, hp_string='"n_epochs=3"', hp_template='"{{ params.hp }}"')
    assert list(bag.dag_ids) == ["hp_template"]  # a template is checked once rendered
    message = bag.import_errors[str(tmp_path / "hp_string.py")]
    assert "DashScopeConfigError" in message
    assert "hyper_parameters must be a dict such as {'n_epochs': 3}, got the string 'n_epochs=3'" in message
    assert "build the dict in Python" in message and "render_template_as_native_obj=True" in message


def test_unknown_keys_parse_with_a_warning_and_a_did_you_mean_for_a_near_miss(tmp_path: Path, log_lines) -> None:
    bag = parse(
        tmp_path,
        hp_typo='{"n_epoch": 3, "learning_rate": "1.6e-5"}',
        hp_new='{"n_epochs": 3, "rope_scaling_factor": 2}',
        hp_known='{"n_epochs": 3, "batch_size": 16, "lora_rank": 8}',
    )
    assert bag.import_errors == {}
    assert sorted(bag.dag_ids) == ["hp_known", "hp_new", "hp_typo"]
    warnings = [line for line in log_lines.lines("warning") if line.startswith("hyper_parameters")]
    assert sorted(warnings) == [
        "hyper_parameters key 'n_epoch' is not a documented hyper-parameter (did you mean 'n_epochs'?); it is sent "
        "as is, since the service adds hyper-parameters over time",
        "hyper_parameters key 'rope_scaling_factor' is not a documented hyper-parameter; it is sent as is, since "
        "the service adds hyper-parameters over time",
    ]
    # the task keeps the dict as given: the key goes to the API
    assert bag.dags["hp_typo"].get_task("train").hyper_parameters == {"n_epoch": 3, "learning_rate": "1.6e-5"}


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (["n_epochs", 3], "got a value of type list"),
        ({3: 1}, "keys must be non-empty strings"),
        (7, "got a value of type int"),
    ],
)
def test_other_non_mappings_and_bad_keys_are_refused(value, fragment) -> None:
    from airflow_provider_dashscope.exceptions import DashScopeConfigError

    with pytest.raises(DashScopeConfigError, match=fragment):
        check_hyper_parameters(value)


def test_the_documented_keys_include_the_text_models_table() -> None:
    assert {"n_epochs", "batch_size", "learning_rate", "max_length", "lora_rank", "save_total_limit"} <= DOCUMENTED_KEYS


def test_a_template_that_renders_to_text_fails_at_the_start_of_execute_with_the_tip(emu) -> None:
    """The rendered value of a template (text, without render_template_as_native_obj) fails before any request."""
    from airflow_provider_dashscope.exceptions import DashScopeConfigError
    from airflow_provider_dashscope.operators.fine_tunes import DashScopeCreateFineTuneJobOperator
    from tests._waiting import make_context

    op = DashScopeCreateFineTuneJobOperator(
        task_id="train", model="qwen3-14b", training_file_ids=["file-ft-1"], hyper_parameters="{{ params.hp }}"
    )
    op.hyper_parameters = "{'n_epochs': 3}"  # what Airflow renders the template to
    with pytest.raises(DashScopeConfigError, match="render_template_as_native_obj=True"):
        op.execute(make_context())
    assert emu.request_count("POST", "/fine-tunes") == 0
