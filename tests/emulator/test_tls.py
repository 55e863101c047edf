"""HTTPS: certificates made by trustme for each test (no key is checked in), a client that trusts the CA and one
that does not, from Python and from the command line."""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from airflow_provider_dashscope.emulator.__main__ import main
from airflow_provider_dashscope.emulator.testing import EmulatorThread

trustme = pytest.importorskip("trustme")

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


@pytest.fixture(scope="module")
def server_cert(ca):
    return ca.issue_cert("127.0.0.1", "localhost")


@pytest.fixture
def pem_files(tmp_path, ca, server_cert) -> tuple[Path, Path, Path]:
    """(certificate chain, private key, CA certificate) as PEM files."""
    cert, key, ca_pem = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    for blob in server_cert.cert_chain_pems:
        blob.write_to_path(str(cert), append=True)
    server_cert.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(ca_pem))
    return cert, key, ca_pem


def trusting(ca) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


def get(url: str, context: ssl.SSLContext, key: str) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request, timeout=5, context=context) as resp:
        return resp.status, json.loads(resp.read())


def test_an_ssl_context_serves_https_to_clients_that_trust_the_ca(ca, server_cert) -> None:
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_cert.configure_cert(server)
    with EmulatorThread(ssl_context=server) as emu:
        assert emu.base_url.startswith("https://127.0.0.1:")
        status, body = get(emu.base_url + "/fine-tunes", trusting(ca), emu.api_key)
        assert (status, body["output"]["total"]) == (200, 0)
        with pytest.raises(urllib.error.URLError) as failure:
            get(emu.base_url + "/fine-tunes", ssl.create_default_context(), emu.api_key)
        assert isinstance(failure.value.reason, ssl.SSLCertVerificationError)
        assert emu.request_count() == 1  # the refused handshake never reached the API


def test_certificate_files_serve_https(ca, pem_files) -> None:
    cert, key, _ = pem_files
    with EmulatorThread(tls_cert=str(cert), tls_key=str(key)) as emu:
        assert emu.root_url.startswith("https://")
        assert get(emu.root_url + "/_emulator/stats", trusting(ca), "any")[0] == 200


def test_plain_http_is_not_answered_on_a_tls_port(pem_files) -> None:
    cert, key, _ = pem_files
    with EmulatorThread(tls_cert=str(cert), tls_key=str(key)) as emu:
        plain = emu.root_url.replace("https://", "http://") + "/api/v1/fine-tunes"
        with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
            urllib.request.urlopen(plain, timeout=5)


def test_tls_arguments_are_checked(pem_files) -> None:
    cert, key, _ = pem_files
    with pytest.raises(TypeError, match="not both"):
        EmulatorThread(ssl_context=ssl.create_default_context(ssl.Purpose.CLIENT_AUTH), tls_cert=str(cert))
    with pytest.raises(TypeError, match="tls_cert"):
        EmulatorThread(tls_key=str(key))
    with pytest.raises(ValueError, match="cannot load the TLS certificate"):
        EmulatorThread(tls_cert=str(key), tls_key=str(cert))  # swapped


def test_the_command_line_serves_https_and_the_jobs_commands_verify_it(tmp_path, pem_files, capsys) -> None:
    cert, key, ca_pem = pem_files
    port_file = tmp_path / "port"
    cmd = [
        sys.executable, "-m", "airflow_provider_dashscope.emulator", "--port", "0", "--port-file", str(port_file),
        "--tls-cert", str(cert), "--tls-key", str(key), "--api-key", "sk-tls",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 15
        while not (port_file.exists() and port_file.read_text().strip()):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no port file"
            time.sleep(0.05)
        url = f"https://127.0.0.1:{port_file.read_text().strip()}"
        assert (
            main(
                ["jobs", "create", "--model", "qwen3-14b", "--url", url, "--api-key", "sk-tls", "--cacert", str(ca_pem)]
            )
            == 0
        )
        assert "PENDING" in capsys.readouterr().out
        assert main(["jobs", "list", "--url", url, "--api-key", "sk-tls"]) == 1
        assert "CERTIFICATE_VERIFY_FAILED" in capsys.readouterr().err
        assert main(["jobs", "list", "--url", url, "--api-key", "sk-tls", "--insecure"]) == 0
        assert capsys.readouterr().out.splitlines()[-1] == "page 1 (1 of 1 jobs)"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert f"listening on {url}/api/v1" in out


def test_the_command_line_refuses_a_missing_certificate(tmp_path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "airflow_provider_dashscope.emulator",
            "--port",
            "0",
            "--tls-cert",
            str(tmp_path / "no"),
        ],
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"dashscope-emulator: cannot load the TLS certificate {tmp_path / 'no'}:")
