"""TLS: a private CA through the connection's ``ca_bundle``, ``verify``, the libraries' own environment variables,
and an untrusted certificate that fails at once with an error that says what to set. Certificates come from
``trustme`` for each test run; no key is checked in."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import ssl
import subprocess
import sys

import pytest
import trustme

from airflow_provider_dashscope.exceptions import DashScopeConfigError, DashScopeTLSError
from airflow_provider_dashscope.hooks.dashscope import DashScopeHook
from airflow_provider_dashscope.triggers.fine_tunes import DashScopeFineTuneJobTrigger
from tests._servers import ScriptedServer, ok

JOB_ID = "ft-202410291653-1c7f"
RUNNING = {"job_id": JOB_ID, "status": "RUNNING"}
DONE = {"job_id": JOB_ID, "status": "SUCCEEDED", "finetuned_output": "qwen3-14b-ft", "usage": 12}


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def https_server(ca):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    server = ScriptedServer(tls=context)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def ca_file(ca, tmp_path) -> str:
    path = tmp_path / "private-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture(autouse=True)
def _system_trust_only(monkeypatch, tmp_path):
    """The libraries' CA variables point at an empty bundle unless a test sets them: only what we configure counts."""
    empty = tmp_path / "no-ca.pem"
    empty.write_text("")
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SSL_CERT_FILE", str(empty))


def make_hook(dashscope_conn, server, **extra) -> DashScopeHook:
    extra.setdefault("max_retries", 3)
    extra.setdefault("retry_base_delay", 0.01)
    dashscope_conn("dashscope_tls", host=server.base_url, **extra)
    hook = DashScopeHook("dashscope_tls")
    hook._sleep = lambda seconds: pytest.fail(f"a TLS failure must not be retried (slept {seconds} s)")
    return hook


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_private_ca_in_ca_bundle_is_trusted(https_server, dashscope_conn, ca_file, mode) -> None:
    https_server.script("GET", f"/fine-tunes/{JOB_ID}", ok(DONE))
    hook = make_hook(dashscope_conn, https_server, ca_bundle=ca_file)
    job = hook.get_fine_tune_job(JOB_ID) if mode == "sync" else asyncio.run(hook.aget_fine_tune_job(JOB_ID))
    assert job.finetuned_output == "qwen3-14b-ft"
    assert https_server.base_url.startswith("https://") and https_server.count("GET") == 1


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_an_untrusted_certificate_fails_at_once_naming_the_host_and_the_extra(https_server, dashscope_conn, mode):
    https_server.script("GET", f"/fine-tunes/{JOB_ID}", ok(DONE))
    hook = make_hook(dashscope_conn, https_server)
    with pytest.raises(DashScopeTLSError) as info:
        hook.get_fine_tune_job(JOB_ID) if mode == "sync" else asyncio.run(hook.aget_fine_tune_job(JOB_ID))
    text = str(info.value)
    assert "the TLS certificate of 127.0.0.1 could not be verified" in text
    assert "connection extra 'ca_bundle' (connection 'dashscope_tls')" in text
    assert "certificate verify failed" in text or "unable to get local issuer" in text
    assert https_server.count() == 0  # no request got through, and none was retried (the hook's sleep fails the test)


def test_requests_ca_bundle_keeps_working_for_the_sync_hook(https_server, dashscope_conn, ca_file, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca_file)
    https_server.script("GET", f"/fine-tunes/{JOB_ID}", ok(DONE))
    assert make_hook(dashscope_conn, https_server).get_fine_tune_job(JOB_ID).usage == 12


def test_ssl_cert_file_keeps_working_for_the_async_hook(https_server, dashscope_conn, ca_file, monkeypatch):
    """aiohttp builds its default context when it is imported, from SSL_CERT_FILE as OpenSSL reads it: a fresh
    process with the variable set, as a triggerer started with it would be."""
    https_server.script("GET", f"/fine-tunes/{JOB_ID}", ok(DONE))
    dashscope_conn("dashscope_tls", host=https_server.base_url)
    code = (
        "import asyncio\n"
        "from airflow_provider_dashscope.hooks.dashscope import DashScopeHook\n"
        f"print(asyncio.run(DashScopeHook('dashscope_tls').aget_fine_tune_job('{JOB_ID}')).usage)\n"
    )
    env = {**os.environ, "SSL_CERT_FILE": ca_file}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "12"


@pytest.mark.parametrize("verify", [False, "false"])
def test_verify_false_works_and_says_so_loudly(https_server, dashscope_conn, log_lines, verify) -> None:
    https_server.script("GET", f"/fine-tunes/{JOB_ID}", ok(DONE))
    hook = make_hook(dashscope_conn, https_server, verify=verify)
    assert hook.get_fine_tune_job(JOB_ID).usage == 12
    warnings = [line for line in log_lines.lines("warning") if "TLS certificate verification is OFF" in line]
    assert warnings and "connection 'dashscope_tls' (127.0.0.1)" in warnings[0]


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ({"ca_bundle": "/nowhere/ca.pem"}, "connection extra 'ca_bundle' '/nowhere/ca.pem' is not a readable file"),
        ({"ca_bundle": 7}, "connection extra 'ca_bundle' must be the path of a PEM file"),
        ({"verify": "sometimes"}, "connection extra 'verify' must be true or false"),
    ],
)
def test_bad_tls_extras_are_refused_naming_the_extra(https_server, dashscope_conn, extra, fragment) -> None:
    with pytest.raises(DashScopeConfigError, match=fragment):
        make_hook(dashscope_conn, https_server, **extra).get_fine_tune_job(JOB_ID)
    assert https_server.count() == 0


# ----------------------------------------------------------------------------------------------------------------
# A wait over HTTPS, in the triggerer's way
# ----------------------------------------------------------------------------------------------------------------
async def _events(trigger: DashScopeFineTuneJobTrigger) -> list[dict]:
    return [event.payload async for event in trigger.run()]


def test_a_deferred_wait_over_https_with_a_private_ca(https_server, dashscope_conn, ca_file) -> None:
    https_server.script("GET", f"/fine-tunes/{JOB_ID}", ok(RUNNING), ok(RUNNING), ok(DONE))
    dashscope_conn("dashscope_tls", host=https_server.base_url, ca_bundle=ca_file)
    trigger = DashScopeFineTuneJobTrigger(job_id=JOB_ID, dashscope_conn_id="dashscope_tls", poll_interval=0.01)
    events = asyncio.run(asyncio.wait_for(_events(trigger), 30))
    assert [e["status"] for e in events] == ["success"] and events[0]["job"]["usage"] == 12
    assert https_server.count("GET", f"/fine-tunes/{JOB_ID}") == 3  # (the training progress reads the log too)
    assert "ca_bundle" not in json.dumps(trigger.serialize())  # the path stays in the connection


def test_a_deferred_wait_on_an_untrusted_certificate_ends_at_once_with_the_fix(https_server, dashscope_conn, caplog):
    dashscope_conn("dashscope_tls", host=https_server.base_url)
    trigger = DashScopeFineTuneJobTrigger(
        job_id=JOB_ID, dashscope_conn_id="dashscope_tls", poll_interval=0.01, max_consecutive_failures=5
    )
    caplog.set_level(logging.WARNING)
    events = asyncio.run(asyncio.wait_for(_events(trigger), 30))
    assert [e["status"] for e in events] == ["error"]
    assert "set the connection extra 'ca_bundle'" in events[0]["message"]
    assert not [r for r in caplog.records if "tolerated in a row" in r.getMessage()]  # not taken for a blip
