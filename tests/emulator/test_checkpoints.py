"""The emulator's checkpoints: one per epoch for a SUCCEEDED job, on the steps of its log; evaluation lines for a job
with validation files; the export life cycle on the emulator's clock; the scenario keys that steer them."""

from __future__ import annotations

import ast
import json

import pytest

from airflow_provider_dashscope.emulator.scenario import JOB_SCHEMA, parse

JOB = "ft-202410291653-c0c0"


def seed(emu, **settings):
    entry = {"job_id": JOB, "model": "qwen3-14b", "status": "SUCCEEDED", "hyper_parameters": {"n_epochs": 3}}
    entry.update(settings)
    emu.seed([entry])


def checkpoints(api, job_id=JOB):
    reply = api.call("GET", f"/fine-tunes/{job_id}/checkpoints")
    assert reply.status == 200, reply.raw
    return reply.output


def log_lines(api):
    return api.call("GET", f"/fine-tunes/{JOB}/logs?offset=0&line=1000").output["logs"]


def test_a_succeeded_job_has_one_checkpoint_per_epoch_newest_first_on_the_steps_of_its_log(emu, api):
    seed(emu, validation_file_ids=["file-val"])

    listed = checkpoints(api)
    assert isinstance(listed, list)
    assert [item["checkpoint"] for item in listed] == ["checkpoint-20", "checkpoint-13", "checkpoint-7"]
    assert [item["step"] for item in listed] == [20, 13, 7]
    assert listed[0]["full_name"] == listed[0]["checkpoint_id"] == f"{JOB}:checkpoint-20"
    assert all("status" not in item and "model_name" not in item for item in listed)  # nobody exported them
    # The steps are the steps of the training lines after which the job evaluated.
    lines = log_lines(api)
    evaluated_after = [ast.literal_eval(lines[i - 1].split(" - INFO - ")[1])["step"]
                       for i, line in enumerate(lines) if "'eval_loss'" in line]  # fmt: skip
    assert evaluated_after == [7, 13, 20]


def test_a_job_without_validation_files_logs_no_evaluation(emu, api):
    seed(emu)
    assert not any("eval_loss" in line for line in log_lines(api))
    assert len(checkpoints(api)) == 3


def test_eval_losses_choose_the_losses_of_the_evaluation_lines(emu, api):
    seed(emu, validation_file_ids=["file-val"], eval_losses=[0.9, 0.55, 0.7])
    losses = [ast.literal_eval(line[line.index("{") :])["eval_loss"] for line in log_lines(api) if "eval_loss" in line]
    assert losses == [0.9, 0.55, 0.7]


def test_the_default_losses_fall_then_rise_so_the_best_checkpoint_is_not_the_last(emu, api):
    seed(emu, validation_file_ids=["file-val"])
    losses = [ast.literal_eval(line[line.index("{") :])["eval_loss"] for line in log_lines(api) if "eval_loss" in line]
    assert min(losses) != losses[-1]


def test_a_job_that_has_not_succeeded_lists_no_checkpoints(emu, api):
    seed(emu, status="RUNNING")
    assert checkpoints(api) == []
    assert api.call("GET", "/fine-tunes/ft-nope/checkpoints").status == 404


def test_an_export_goes_pending_processing_succeeded_on_the_clock_and_names_the_model_only_then(emu, api, clock):
    seed(emu)
    reply = api.call("GET", f"/fine-tunes/{JOB}/export/checkpoint-13?model_name=faq-best")
    assert (reply.status, reply.output) == (200, True)

    def item():
        return next(c for c in checkpoints(api) if c["checkpoint"] == "checkpoint-13")

    assert item()["status"] == "PENDING" and "model_name" not in item()
    clock.advance(1.5)
    assert item()["status"] == "PROCESSING" and "model_name" not in item()
    clock.advance(1)
    done = item()
    assert (done["status"], done["model_name"], done["model_display_name"]) == (
        "SUCCEEDED",
        f"qwen3-14b-{JOB}-c13",
        "faq-best",
    )
    # The exported model can be deployed.
    deployed = api.call("POST", "/deployments", {"model_name": done["model_name"], "capacity": 1})
    assert deployed.status == 200, deployed.raw


def test_exporting_again_under_the_same_name_is_a_no_op_and_another_checkpoints_name_is_a_conflict(emu, api, clock):
    seed(emu)
    assert api.call("GET", f"/fine-tunes/{JOB}/export/checkpoint-13?model_name=faq").output is True
    clock.advance(1.5)
    assert api.call("GET", f"/fine-tunes/{JOB}/export/checkpoint-13?model_name=faq").output is True
    assert next(c for c in checkpoints(api) if c["checkpoint"] == "checkpoint-13")["status"] == "PROCESSING"
    conflict = api.call("GET", f"/fine-tunes/{JOB}/export/checkpoint-7?model_name=faq")
    assert (conflict.status, conflict.json["code"]) == (409, "Conflict")


@pytest.mark.parametrize(
    "path, status, code",
    [
        (f"/fine-tunes/{JOB}/export/checkpoint-99?model_name=x", 404, "NotFound"),
        (f"/fine-tunes/{JOB}/export/checkpoint-13", 400, "InvalidParameter"),
        ("/fine-tunes/ft-nope/export/checkpoint-13?model_name=x", 404, "NotFound"),
    ],
)
def test_bad_exports_get_the_apis_errors(emu, api, path, status, code):
    seed(emu)
    reply = api.call("GET", path)
    assert (reply.status, reply.json["code"]) == (status, code)


def test_export_of_a_job_that_has_not_succeeded_is_unsupported(emu, api):
    seed(emu, status="RUNNING")
    reply = api.call("GET", f"/fine-tunes/{JOB}/export/checkpoint-7?model_name=x")
    assert (reply.status, reply.json["code"]) == (400, "UnsupportedOperation")


@pytest.mark.parametrize("outcome", ["FAILED", "UNSUPPORTED"])
def test_export_outcome_makes_an_export_end_badly(emu, api, clock, outcome):
    seed(emu, export_outcome=outcome.lower(), export_seconds=0)
    api.call("GET", f"/fine-tunes/{JOB}/export/checkpoint-20?model_name=x")
    item = checkpoints(api)[0]
    assert (item["status"], "model_name" in item) == (outcome, False)


def test_the_new_keys_are_in_the_scenario_schema_and_refused_when_wrong(emu):
    keys = {key for key, _, _ in JOB_SCHEMA}
    assert {"eval_losses", "export_outcome", "export_seconds"} <= keys
    parse({"jobs": [{"model": "m", "eval_losses": [1, 2]}]})
    with pytest.raises(ValueError, match="eval_losses"):
        emu.seed([{"model": "m", "eval_losses": "low"}])
    with pytest.raises(ValueError, match="export_outcome"):
        emu.seed([{"model": "m", "export_outcome": "MAYBE"}])


def test_exports_survive_a_restart_with_a_state_file(tmp_path, clock):
    from airflow_provider_dashscope.emulator import EmulatorConfig, EmulatorState

    path = str(tmp_path / "state.json")
    first = EmulatorState(EmulatorConfig(clock=clock, state_file=path, running_seconds=20))
    first.seed([{"job_id": JOB, "model": "qwen3-14b", "status": "SUCCEEDED"}])
    first.export_checkpoint(JOB, "checkpoint-20", "kept")
    clock.advance(10)
    again = EmulatorState(EmulatorConfig(clock=clock, state_file=path, running_seconds=20))
    assert again.list_checkpoints(JOB)[0]["model_display_name"] == "kept"
    assert (
        json.loads((tmp_path / "state.json").read_text())["jobs"][0]["exports"]["checkpoint-20"]["model_name"] == "kept"
    )
