"""A throw-away PostgreSQL cluster for a test: its own data directory, 127.0.0.1 and a private unix socket.

``initdb`` refuses to run as root, so as root the server's programs run as the ``postgres`` system user (through
``runuser``); as any other user they run as that user. The server listens on 127.0.0.1 only, on a free port,
and on a unix socket in the cluster's directory; logins over TCP need the generated password (scram-sha-256).
``pg_ctl`` starts the postmaster in a session of its own, so stopping it (and checking that every backend is gone)
works by its process group, like the Airflow components.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from ._procs import free_port, live_members_of_group, pid_alive, signal_group, wait_quietly

SYSTEM_USER = "postgres"


def find_bindir() -> Path | None:
    """The directory of ``initdb``/``pg_ctl``/``postgres``: Debian's newest ``/usr/lib/postgresql/N/bin``, else PATH."""

    def version(path: str) -> tuple[int, ...]:
        match = re.search(r"/postgresql/([\d.]+)/bin$", path)
        return tuple(int(p) for p in match.group(1).split(".")) if match else (0,)

    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)
    for candidate in candidates:
        if all(os.access(os.path.join(candidate, prog), os.X_OK) for prog in ("initdb", "pg_ctl", "postgres")):
            return Path(candidate)
    initdb = shutil.which("initdb")
    if initdb:
        bindir = Path(os.path.realpath(initdb)).parent
        if (bindir / "pg_ctl").exists() and (bindir / "postgres").exists():
            return bindir
    return None


def why_unavailable() -> str | None:
    """None when a cluster can be created here, else the reason (for a skip)."""
    if find_bindir() is None:
        return (
            "PostgreSQL server programs (initdb, pg_ctl, postgres) not found: run `sudo scripts/system-deps.sh` "
            "(apt-get install postgresql) or put them on PATH"
        )
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SYSTEM_USER)
        except KeyError:
            return f"running as root, but there is no {SYSTEM_USER!r} system user to run initdb as"
        if shutil.which("runuser") is None:
            return "running as root, but `runuser` (util-linux) is missing to run initdb as the postgres user"
    return None


class PostgresCluster:
    """``initdb`` + ``pg_ctl start`` in a fresh temporary directory; :meth:`stop` removes everything."""

    def __init__(self, *, user: str = "airflow", database: str = "airflow") -> None:
        bindir = find_bindir()
        if bindir is None:
            raise RuntimeError(why_unavailable() or "no PostgreSQL")
        self.bindir = bindir
        self.user = user
        self.database = database
        self.password = secrets.token_hex(16)
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        # Under /tmp, not pytest's tmp_path: the postgres user must be able to reach it (pytest's is root-only).
        self.base = Path(tempfile.mkdtemp(prefix="dashscope-pg-"))
        self.base.chmod(0o755)
        self.cluster_dir = self.base / "pg"
        self.cluster_dir.mkdir()
        self.data_dir = self.cluster_dir / "data"
        self.socket_dir = self.cluster_dir / "socket"
        self.socket_dir.mkdir()
        self.log_path = self.cluster_dir / "server.log"
        if self.as_root:
            account = pwd.getpwnam(SYSTEM_USER)
            for path in (self.cluster_dir, self.socket_dir):
                os.chown(path, account.pw_uid, account.pw_gid)
        self.postmaster_pid: int | None = None
        self.timings: dict[str, float] = {}

    # ------------------------------------------------------------------ commands
    def _run(self, *argv: str, timeout: float = 120.0) -> subprocess.CompletedProcess:
        command = [str(self.bindir / argv[0]), *argv[1:]]
        if self.as_root:
            command = ["runuser", "-u", SYSTEM_USER, "--", *command]
        result = subprocess.run(
            command,
            check=False,
            cwd=self.cluster_dir,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(argv[:2])} failed (rc {result.returncode}):\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
            )
        return result

    def start(self) -> PostgresCluster:
        started = time.monotonic()
        pwfile = self.cluster_dir / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self.as_root:
            account = pwd.getpwnam(SYSTEM_USER)
            os.chown(pwfile, account.pw_uid, account.pw_gid)
        pwfile.chmod(0o600)
        try:
            self._run(
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                self.user,
                f"--pwfile={pwfile}",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--no-locale",
                "--no-sync",
            )
        finally:
            pwfile.unlink(missing_ok=True)
        self.timings["initdb"] = round(time.monotonic() - started, 1)
        options = " ".join(
            [
                "-c listen_addresses=127.0.0.1",
                f"-p {self.port}",
                f"-k {self.socket_dir}",
                "-c max_connections=200",
                # a test cluster: durability is not wanted, speed is
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
            ]
        )
        self._run(
            "pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_path), "-o", options, "-w", "-t", "60", "start"
        )
        self.postmaster_pid = int((self.data_dir / "postmaster.pid").read_text().split()[0])
        self.timings["ready"] = round(time.monotonic() - started, 1)
        self._run(
            "psql",
            "-h",
            str(self.socket_dir),
            "-p",
            str(self.port),
            "-U",
            self.user,
            "-d",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            "-q",
            "-c",
            f'CREATE DATABASE "{self.database}"',
        )
        print(
            f"[postgres] {self.bindir.parent.name}: cluster {self.data_dir} on 127.0.0.1:{self.port} "
            f"(socket {self.socket_dir}), postmaster pid {self.postmaster_pid}, timings {self.timings}",
            flush=True,
        )
        return self

    # ------------------------------------------------------------------ clients
    @property
    def sqlalchemy_url(self) -> str:
        return f"postgresql+psycopg2://{self.user}:{self.password}@127.0.0.1:{self.port}/{self.database}"

    @property
    def dsn(self) -> dict[str, Any]:
        return {
            "host": "127.0.0.1",
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "dbname": self.database,
        }

    def server_log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no server log)"

    # ------------------------------------------------------------------ teardown
    def stop(self) -> dict[str, Any]:
        """Fast shutdown (backends are told to end), SIGKILL of the group if that hangs; then remove the files."""
        started = time.monotonic()
        report: dict[str, Any] = {"pid": self.postmaster_pid, "sigkill": False}
        pid = self.postmaster_pid
        if pid is not None and pid_alive(pid):
            try:
                self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "30", "stop", timeout=45)
            except (RuntimeError, subprocess.TimeoutExpired) as err:
                report["pg_ctl_error"] = str(err)[:300]
            if not wait_quietly(lambda: not pid_alive(pid) and not live_members_of_group(pid), 10.0):
                report["sigkill"] = True
                signal_group(pid, signal.SIGKILL)
                wait_quietly(lambda: not pid_alive(pid) and not live_members_of_group(pid), 10.0)
        report["leftover"] = [] if pid is None else live_members_of_group(pid) + ([pid] if pid_alive(pid) else [])
        report["seconds"] = round(time.monotonic() - started, 1)
        shutil.rmtree(self.base, ignore_errors=True)
        print(f"[postgres] stopped: {report}", flush=True)
        return report
