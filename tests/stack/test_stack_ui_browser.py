"""The provider in Airflow 3's UI, in a real browser, as a user clicks through it.

Airflow's api-server (``--apps all``: UI, REST API, execution API), scheduler, dag-processor and triggerer run on
SQLite in a temporary AIRFLOW_HOME; the emulator runs in this process on 127.0.0.1. Chromium (Debian's) is driven
by Playwright (PyPI). The test:

* adds a ``dashscope`` connection through the connection form and checks what the form shows (our labels,
  placeholders, the key as a password field, the fields we hide hidden), then adds a second one with a wrong key;
* clicks each connection's Test button: success against the emulator, a clear failure for the wrong key, and
  neither key in any message;
* runs a small DAG that uses the connection made in the form: its deferred sensor's Details tab shows the
  "DashScope Console" extra link with the job's URL; once the job ends the run succeeds.

Screenshots are saved under ``test-artifacts/stack-ui/`` (paths printed). Every process is stopped in teardown.
"""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path
from typing import Any

import airflow
import pytest
from playwright.sync_api import Error as PlaywrightError

from airflow_provider_dashscope.emulator import EmulatorThread
from airflow_provider_dashscope.get_provider_info import get_provider_info
from tests.stack._browser import Browser, why_unavailable
from tests.stack._deps import skip_unless_required
from tests.stack._emulated import OffsetClock, RecordingState, recording_emulator
from tests.stack._procs import Timeline, http_ok, wait_for
from tests.stack._stackrun import AirflowStack, airflow_stack, reported

AIRFLOW_MAJOR = int(str(airflow.__version__).split(".", 1)[0])

pytestmark = [
    pytest.mark.stack,
    pytest.mark.skipif(
        AIRFLOW_MAJOR < 3,
        reason=f"the browser test drives Airflow 3's React UI; installed {airflow.__version__}",
    ),
]

DAGS = Path(__file__).resolve().parent / "dags_ui"
DAG_ID = "dashscope_stack_ui"
RUN_ID = "ui_run_1"
SENSOR = "wait_for_finetune"
RESULT = "finetune_result"
CONN_ID = "dashscope_ui"
WRONG_CONN_ID = "dashscope_ui_wrong_key"
JOB_RUNNING_SECONDS = 3600.0
#: Airflow 3.3.2's connection list sends ``port: 0`` for a connection without a port, and its test endpoint then
#: refuses to reuse the stored key (fixed upstream in apache/airflow#73298, after 3.3.2).
KNOWN_PORT_ZERO_REFUSAL = "The host or port to test differs from the stored connection"

CONNECTION_TYPE = get_provider_info()["connection-types"][0]
BEHAVIOUR = CONNECTION_TYPE["ui-field-behaviour"]


@pytest.fixture
def emulator(stack_key: str):
    with recording_emulator(stack_key) as emu:
        yield emu


@pytest.fixture
def stack(tmp_path, airflow_bin, emulator, stack_key):
    # every request is an admin's (no login page), and the connection list offers "Test"
    env = {"AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True", "AIRFLOW__CORE__TEST_CONNECTION": "Enabled"}
    with airflow_stack(tmp_path, airflow_bin=airflow_bin, dags=DAGS, env=env, secrets_to_hide=[stack_key]) as stack:
        yield stack


@pytest.fixture
def browser(tmp_path):
    reason = why_unavailable()
    if reason:
        skip_unless_required(reason)
    chromium = Browser(tmp_path / "chromium-profile")
    try:
        yield chromium
    finally:
        report = chromium.close()
        assert report["driver_pids"], "Playwright's driver process was not seen, so its exit cannot be checked"
        assert not report["chromium_left"] and not report["driver_left"], f"browser processes left: {report}"


def test_connection_form_test_button_and_extra_link(
    stack: AirflowStack, emulator: EmulatorThread, browser: Browser, stack_key: str
):
    def failure_screenshot() -> None:
        try:
            browser.screenshot("failure")
        except (PlaywrightError, AssertionError, OSError) as err:  # the original error matters more
            print(f"[browser] no failure screenshot: {err!r}")

    with reported(stack, lines=25, on_failure=failure_screenshot) as tl:
        _run_scenario(stack, emulator, browser, stack_key, tl)
    print("[browser] screenshots:\n" + "\n".join(f"  {p}" for p in browser.shots))


def _run_scenario(stack: AirflowStack, emulator: EmulatorThread, browser: Browser, stack_key: str, tl: Timeline):
    state: RecordingState = emulator.state  # type: ignore[assignment]
    clock: OffsetClock = emulator.clock  # type: ignore[attr-defined]
    wrong_key = "sk-WRONGKEY-" + secrets.token_hex(8)
    keys = (stack_key, wrong_key)
    (job_id,) = emulator.seed(
        {
            "model": "qwen-turbo",
            "pending_seconds": 0,
            "running_seconds": JOB_RUNNING_SECONDS,
            "outcome": "SUCCEEDED",
            "usage": 5150,
            "finetuned_output": "qwen-turbo-ft-ui-" + secrets.token_hex(3),
        }
    )

    # ------------------------------------------------------------------ the stack, with the UI
    stack.launch(apps="all")
    port = str(stack.api_port)
    base = f"http://127.0.0.1:{port}"
    wait_for(
        lambda: http_ok(f"{base}/api/v2/monitor/health"),
        timeout=120,
        what="the api-server",
        on_poll=stack.check_running,
    )
    tl.mark("api-server (UI) up")
    page = browser.page

    # ------------------------------------------------------------------ the connection form
    dialog = _open_add_connection(page, base, CONN_ID)
    standard = _check_standard_fields(dialog)
    browser.screenshot("connection-form", locator=dialog, secrets=keys)
    standard["host"].fill(emulator.base_url)
    standard["password"].fill(stack_key)
    assert standard["password"].get_attribute("type") == "password"
    dialog.get_by_role("button", name="Extra Fields", exact=True).click()
    _check_extra_fields(dialog)
    browser.screenshot("connection-form-extra-fields", locator=dialog, secrets=keys)
    _save(page, dialog)
    tl.mark("connection created through the form")

    dialog = _open_add_connection(page, base, WRONG_CONN_ID)
    standard = _check_standard_fields(dialog)
    standard["host"].fill(emulator.base_url)
    standard["password"].fill(wrong_key)
    _save(page, dialog)
    stored = {row[0]: row[1:] for row in stack.query("SELECT conn_id, conn_type, host FROM connection")}
    assert stored == {CONN_ID: ("dashscope", emulator.base_url), WRONG_CONN_ID: ("dashscope", emulator.base_url)}
    tl.mark("second connection (wrong key) created")

    # ------------------------------------------------------------------ the Test button
    lists_before = emulator.request_count("GET", "/fine-tunes")
    toast, answer = _click_test(page, base, CONN_ID)
    answers = [answer]
    if "Test Connection Failed" in toast and KNOWN_PORT_ZERO_REFUSAL in answer["text"]:
        # Airflow 3.3.2's UI sends port 0 for a port-less connection; apply the upstream fix's reading (port 0 is
        # no port) to the button's request and click again. Any other failure is a real one.
        assert answer["status"] == 400 and json.loads(answer["body"]).get("port") == 0, answer
        print(f"[browser] Airflow's Test refused port 0 (apache/airflow#73298); sending no port instead: {toast!r}")
        page.route("**/api/v2/connections/test", _port_zero_is_no_port)
        toast, answer = _click_test(page, base, CONN_ID)
        answers.append(answer)
    assert "Test Connection Successful" in toast, toast
    assert f"Connected to {emulator.base_url}" in toast, toast
    browser.screenshot("connection-test-success", secrets=keys)
    toast, answer = _click_test(page, base, WRONG_CONN_ID)
    answers.append(answer)
    assert "Test Connection Failed" in toast and "HTTP 401 InvalidApiKey" in toast, toast
    assert re.search(r"request_id=[0-9a-f-]{8,}", toast), toast
    for key in keys:
        assert key not in toast and key[-12:] not in toast, "a key is in the Test message"
        assert all(key not in a["text"] for a in answers), "a key is in a Test response"
    browser.screenshot("connection-test-wrong-key", secrets=keys)
    assert emulator.request_count("GET", "/fine-tunes") > lists_before, "the Test button never reached the emulator"
    tl.mark("Test button: success, and a clear failure for the wrong key")

    # ------------------------------------------------------------------ a DAG uses the form's connection
    wait_for(lambda: stack.db.dag_ready(DAG_ID), timeout=120, what=f"{DAG_ID} serialized", on_poll=stack.check_running)
    stack.cli("dags", "trigger", DAG_ID, "-r", RUN_ID, "-c", json.dumps({"job_id": job_id}))
    wait_for(
        lambda: stack.task_states(DAG_ID, RUN_ID).get(SENSOR) == "deferred",
        timeout=120,
        what=f"{SENSOR} to be deferred",
        on_poll=stack.check_running,
    )
    tl.mark("sensor deferred")

    # ------------------------------------------------------------------ the extra link of the deferred task
    page.goto(f"{base}/dags/{DAG_ID}/runs/{RUN_ID}")
    page.locator(f"a[href='/dags/{DAG_ID}/runs/{RUN_ID}/tasks/{SENSOR}']").first.click()  # the run's grid cell
    page.get_by_role("link", name="Details", exact=True).click()
    link = page.get_by_role("link", name="DashScope Console")
    link.wait_for()
    expected_url = f"{emulator.base_url}/fine-tunes/{job_id}"
    assert link.get_attribute("href") == expected_url
    assert page.get_by_text("Extra Links", exact=True).is_visible()
    assert page.get_by_text("Deferred", exact=True).first.is_visible()
    assert stack.task_states(DAG_ID, RUN_ID).get(SENSOR) == "deferred"
    browser.screenshot("deferred-task-extra-link", secrets=keys)
    tl.mark("deferred task shows the DashScope Console link")

    # ------------------------------------------------------------------ the job ends; the run succeeds
    clock.advance(JOB_RUNNING_SECONDS + 1)
    assert state.job_status(job_id) == "SUCCEEDED"
    wait_for(
        lambda: stack.dag_run_state(DAG_ID, RUN_ID) in ("success", "failed"),
        timeout=180,
        what="the DAG run to finish",
        on_poll=stack.check_running,
    )
    snap = stack.orm_snapshot(DAG_ID, RUN_ID)
    assert snap["dag_run_state"] == "success", snap["tasks"]
    assert {t: v["state"] for t, v in snap["tasks"].items()} == {SENSOR: "success", RESULT: "success"}
    xcom = {(x["task_id"], x["key"]): x["value"] for x in snap["xcom"]}
    assert xcom[(RESULT, "return_value")]["job_id"] == job_id
    assert xcom[(RESULT, "return_value")]["status"] == "SUCCEEDED"
    assert xcom[(SENSOR, "job_url")] == expected_url
    tl.mark("the DAG run on the form's connection succeeded")
    page.reload()
    page.get_by_role("link", name="DashScope Console").wait_for()
    browser.screenshot("finished-task-extra-link", secrets=keys)

    for key in keys:
        leaks = stack.files_containing(key)
        assert not leaks, f"a test key appears in: {leaks}"
    assert emulator.request_count("POST", "/fine-tunes") == 0
    assert emulator.request_count("POST", "/fine-tunes/{job_id}/cancel") == 0


# ---------------------------------------------------------------------------------------------------- form helpers
def _open_add_connection(page: Any, base: str, conn_id: str) -> Any:
    page.goto(f"{base}/connections")
    page.get_by_role("button", name="Add Connection").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Connection ID").fill(conn_id)
    combo = dialog.get_by_role("combobox", name="Connection Type")
    combo.click()
    combo.fill("DashScope")
    page.get_by_role("option", name=CONNECTION_TYPE["hook-name"]).click()
    dialog.get_by_text(CONNECTION_TYPE["hook-name"], exact=True).first.wait_for()
    return dialog


def _check_standard_fields(dialog: Any) -> dict[str, Any]:
    """Relabelled host and password with our placeholders; the key a password input; hidden fields hidden."""
    fields = {}
    for name, label in BEHAVIOUR["relabeling"].items():
        field = dialog.get_by_label(label, exact=True)
        field.wait_for()
        assert field.get_attribute("name") == name, (label, field.get_attribute("name"))
        assert field.get_attribute("placeholder") == BEHAVIOUR["placeholders"][name], label
        fields[name] = field
    assert fields["password"].get_attribute("type") == "password"
    for name in BEHAVIOUR["hidden-fields"]:
        assert dialog.locator(f"input[name='{name}']:visible").count() == 0, f"{name} is shown"
    for label in ("Host", "Password", "Login", "Schema", "Port"):
        assert dialog.get_by_text(label, exact=True).count() == 0, f"the default label {label!r} is shown"
    return fields


def _check_extra_fields(dialog: Any) -> None:
    """Our extra fields, by their labels, with their descriptions and defaults."""
    for key, spec in CONNECTION_TYPE["conn-fields"].items():
        label = dialog.locator("label").filter(has_text=re.compile(rf"^\s*{re.escape(spec['label'])}\s*$"))
        label.first.wait_for()
        assert label.first.is_visible(), spec["label"]
        if spec.get("description"):
            assert dialog.get_by_text(spec["description"], exact=True).is_visible(), spec["description"]
        default = spec["schema"].get("default")
        if default is not None:
            field = dialog.locator(f"input[name='element_{key}']")
            if "boolean" in spec["schema"]["type"]:  # a check box (or switch), set as its default says
                assert field.is_checked() is default, (key, field.is_checked())
            else:
                assert field.input_value() == str(default), (key, field.input_value())


def _save(page: Any, dialog: Any) -> None:
    dialog.get_by_role("button", name="Save").click()
    page.get_by_text("Connection has been successfully created.").last.wait_for()


def _click_test(page: Any, base: str, conn_id: str) -> tuple[str, dict[str, Any]]:
    """On a freshly loaded connection list, click the row's Test button; return the toast's text and the answer
    (status, request body, response text) of the request the click sent."""
    page.goto(f"{base}/connections")
    row = page.get_by_role("row").filter(has=page.get_by_text(conn_id, exact=True))
    with page.expect_response(lambda r: r.url.endswith("/api/v2/connections/test")) as sent:
        row.get_by_role("button", name="Test Connection").click()
    response = sent.value
    answer = {"status": response.status, "body": response.request.post_data, "text": response.text()}
    toast = (
        page.locator("[data-scope='toast'][data-part='root']")
        .filter(has_text=re.compile(r"Test Connection (Successful|Failed)"))
        .first
    )
    toast.wait_for()
    return toast.inner_text(), answer


def _port_zero_is_no_port(route: Any) -> None:
    body = json.loads(route.request.post_data or "{}")
    if body.get("port") == 0:
        body["port"] = None
    route.continue_(post_data=json.dumps(body))
