"""Check the built distributions as a user gets them: what the wheel holds, then the wheel installed and run.

Usage: ``python scripts/dist_check.py [--dist dist] [--airflow-version 3.3.2]`` after ``make dist``.

1. ``dist/`` holds one wheel and one sdist of the version in ``airflow_provider_dashscope/__init__.py``.
2. The wheel holds every module of the package (a subpackage without ``__init__.py`` would be left out), ``py.typed``,
   the emulator, the ``apache_airflow_provider`` entry point and the ``dashscope-emulator`` script; and no tests.
3. A fresh virtualenv gets the wheel (not the checkout) and Airflow, pinned by ``constraints/``; ``airflow providers
   list`` shows the provider; ``scripts/demo.py`` runs the pipeline DAG against the emulator from outside the
   checkout, and must say it imported the provider from that virtualenv.

Exits non-zero with the reason on the first failed check.
"""

from __future__ import annotations

import argparse
import ast
import configparser
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "airflow_provider_dashscope"
ENTRY_POINT = f"{PACKAGE}.get_provider_info:get_provider_info"


def fail(message: str) -> None:
    raise SystemExit(f"dist check FAILED: {message}")


def source_version() -> str:
    tree = ast.parse((ROOT / PACKAGE / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__version__" for t in node.targets):
            return ast.literal_eval(node.value)
    fail(f"no __version__ in {PACKAGE}/__init__.py")
    raise AssertionError  # unreachable


def built(dist: Path, version: str) -> tuple[Path, Path]:
    wheels = sorted(dist.glob("*.whl"))
    sdists = sorted(dist.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        fail(f"expected one wheel and one sdist in {dist}, found {[p.name for p in wheels + sdists]}; run `make dist`")
    wheel, sdist = wheels[0], sdists[0]
    prefix = PACKAGE + "-" + version
    if not wheel.name.startswith(prefix + "-") or sdist.name != prefix + ".tar.gz":
        fail(f"{wheel.name} / {sdist.name} are not version {version} (the version in {PACKAGE}/__init__.py)")
    return wheel, sdist


def check_wheel_contents(wheel: Path, version: str) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        dist_info = f"{PACKAGE}-{version}.dist-info"
        entry_points = configparser.ConfigParser()
        entry_points.read_string(archive.read(f"{dist_info}/entry_points.txt").decode())
        metadata = archive.read(f"{dist_info}/METADATA").decode()
    expected = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / PACKAGE).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }
    missing = sorted(expected - names)
    if missing:
        fail(f"the wheel lacks {len(missing)} file(s) of the package: {missing[:10]}")
    for required in (f"{PACKAGE}/py.typed", f"{PACKAGE}/emulator/__main__.py", f"{PACKAGE}/get_provider_info.py"):
        if required not in names:
            fail(f"the wheel lacks {required}")
    strays = sorted(n for n in names if not n.startswith((PACKAGE + "/", dist_info + "/")))
    if strays:
        fail(f"the wheel holds files outside the package: {strays[:10]}")
    tests = sorted(n for n in names if "/tests/" in n or n.rsplit("/", 1)[-1] in ("conftest.py", "pytest.ini"))
    if tests:
        fail(f"the wheel holds tests: {tests[:10]}")
    if entry_points.get("apache_airflow_provider", "provider_info", fallback=None) != ENTRY_POINT:
        fail(f"the wheel's entry_points.txt lacks [apache_airflow_provider] provider_info = {ENTRY_POINT}")
    if not entry_points.get("console_scripts", "dashscope-emulator", fallback=None):
        fail("the wheel's entry_points.txt lacks the dashscope-emulator script")
    for line in (f"Version: {version}", "Requires-Python: >=3.11", "License-Expression: Apache-2.0"):
        if line not in metadata.splitlines():
            fail(f"the wheel's METADATA lacks {line!r}")
    print(f"{wheel.name}: {len(names)} files: the package, py.typed, the emulator, the provider entry point; no tests")


def run(command: list[str | Path], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    print("$ " + " ".join(str(part) for part in command), flush=True)
    done = subprocess.run([str(part) for part in command], text=True, capture_output=True, **kwargs)
    if done.returncode != 0:
        fail(f"{command[0]} exited {done.returncode}:\n{(done.stdout + done.stderr)[-4000:]}")
    return done


def install_and_run(wheel: Path, airflow_version: str, keep: bool) -> None:
    uv = ROOT / ".tools" / "bin" / "uv"
    if not uv.exists():
        fail(f"{uv} is missing; run `make install` first")
    work = Path(tempfile.mkdtemp(prefix="dashscope-dist-check-"))
    try:
        venv = work / "venv"
        started = time.time()
        run([uv, "venv", "-q", "--python", sys.executable, venv])
        python = venv / "bin" / "python"
        minor = f"{sys.version_info[0]}.{sys.version_info[1]}"
        args: list[str | Path] = [uv, "pip", "install", "-q", "--python", python, wheel]
        args.append(f"apache-airflow=={airflow_version}")
        constraints = ROOT / "constraints" / f"airflow-{airflow_version}-py{minor}.txt"
        if constraints.exists():
            args += ["-c", constraints]
        run(args)
        print(f"Installed the wheel and Airflow {airflow_version} ({time.time() - started:.0f} s)")
        # From outside the checkout, with nothing of it on the path: only the installed wheel can be imported.
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        env.update(AIRFLOW_HOME=str(work / "airflow-home"), AIRFLOW__CORE__LOAD_EXAMPLES="False")
        where = run([python, "-c", f"import {PACKAGE} as p; print(p.__file__)"], cwd=work, env=env).stdout.strip()
        if not Path(where).resolve().is_relative_to(venv.resolve()):
            fail(f"the virtualenv imported the provider from {where}, not from the installed wheel")
        providers = run([venv / "bin" / "airflow", "providers", "list"], cwd=work, env=env).stdout
        if "airflow-provider-dashscope" not in providers:
            fail(f"`airflow providers list` does not show the provider:\n{providers[-3000:]}")
        demo = subprocess.run(
            [str(python), str(ROOT / "scripts" / "demo.py"), "--workdir", str(work / "demo")],
            cwd=work,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        print(demo.stdout)
        if demo.returncode != 0:
            log = work / "demo" / "dags-test.log"
            tail = log.read_text(errors="replace")[-6000:] if log.exists() else ""
            fail(f"the demo failed with the installed wheel (exit {demo.returncode})\n{tail}")
        first = demo.stdout.splitlines()[0] if demo.stdout else ""
        if str(venv.resolve()) not in first and str(venv) not in first:
            fail(f"the demo did not run the installed wheel: {first!r}")
        print(f"The demo DAG ran from the installed wheel ({time.time() - started:.0f} s in all)")
    finally:
        if keep:
            print(f"Kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist")
    parser.add_argument("--airflow-version", default=os.environ.get("AIRFLOW_VERSION", "3.3.2"))
    parser.add_argument("--keep", action="store_true", help="keep the temporary virtualenv and the demo's files")
    parser.add_argument("--contents-only", action="store_true", help="only check what the wheel holds")
    options = parser.parse_args(argv)
    version = source_version()
    wheel, _ = built(options.dist, version)
    check_wheel_contents(wheel, version)
    if not options.contents_only:
        install_and_run(wheel, options.airflow_version, options.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
