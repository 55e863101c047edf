"""Command line entry point: ``dashscope-emulator`` / ``python -m airflow_provider_dashscope.emulator``.

Without a command it serves the emulator; ``dashscope-emulator jobs|files|deployments ...`` are clients of a
running one (:mod:`.jobs_cli`, :mod:`.resources_cli`).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import ssl
import sys
from collections.abc import Callable, Sequence

from . import jobs_cli, resources_cli, scenario
from .app import create_app, start_site
from .config import EmulatorConfig
from .faults import parse_fault_spec
from .scenario import DEPLOYMENT_SCHEMA, FILE_SCHEMA, JOB_SCHEMA, schema_text
from .store import EmulatorState
from .tls import context_from

_DEFAULTS = EmulatorConfig()

_DESCRIPTION = """\
Local emulator of the DashScope (Model Studio) fine-tunes, files and deployments API, for testing DAGs offline.

  dashscope-emulator [options]             serve the API (http://HOST:PORT/api/v1)
  dashscope-emulator jobs create|list|get|cancel [options]
  dashscope-emulator files list|get|delete [options]
  dashscope-emulator deployments list|get|delete [options]
                                           talk to a running emulator (see: dashscope-emulator jobs --help)

A job is PENDING for --pending-seconds, QUEUING while another job trains (one at a time),
RUNNING for --running-seconds, then ends in its outcome (--outcome, or per job: a scenario's
"outcome", a plan, "jobs create --outcome"); a cancel makes it CANCELING for
--canceling-seconds, then CANCELED.
"""


def _epilog() -> str:
    return (
        "scenario file (--scenario): a JSON list of jobs, or\n"
        '{"jobs": [...], "files": [...], "deployments": [...], "faults": [...]}.\n'
        "Keys of a job (all optional but model):\n"
        f"{schema_text(JOB_SCHEMA)}\n"
        "Keys of a file (all optional but name):\n"
        f"{schema_text(FILE_SCHEMA)}\n"
        "Keys of a deployment (all optional but model_name):\n"
        f"{schema_text(DEPLOYMENT_SCHEMA)}\n\n"
        'example: [{"model": "qwen3-14b", "status": "RUNNING", "running_seconds": 30, "outcome": "FAILED"},\n'
        '          {"model": "qwen3-8b", "status": "SUCCEEDED", "usage": 5000}]\n'
        'Faults (--fault, or "faults" in a scenario): see docs/emulator.md.'
    )


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="dashscope-emulator",
        description=_DESCRIPTION,
        epilog=_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--host", default="127.0.0.1", help="bind address (default %(default)s)")
    p.add_argument("--port", type=int, default=8089, help="port (default %(default)s, 0 = any free port)")
    p.add_argument("--port-file", help="write the bound port to this file once listening")
    p.add_argument("--tls-cert", help="serve HTTPS with this PEM certificate (chain) file")
    p.add_argument("--tls-key", help="the private key of --tls-cert (PEM; not needed when it is in the cert file)")
    p.add_argument(
        "--api-key",
        default=None,
        help="expected bearer key (default: env DASHSCOPE_API_KEY; if neither, any non-empty key is accepted)",
    )
    p.add_argument("--scenario", help="JSON file of jobs (and faults) to start with; its keys are listed below")
    p.add_argument("--state-file", help="persist jobs to this JSON file and reload them at start")
    p.add_argument(
        "--fault",
        action="append",
        default=[],
        help="fault spec (repeatable), e.g. "
        "'GET /fine-tunes/{job_id}:status=429:times=3:retry_after=1' or a JSON object",
    )
    durations = p.add_argument_group("job life cycle (seconds of the emulator clock)")
    durations.add_argument(
        "--pending-seconds", type=float, default=_DEFAULTS.pending_seconds, help="default %(default)s"
    )
    durations.add_argument(
        "--running-seconds", type=float, default=_DEFAULTS.running_seconds, help="default %(default)s"
    )
    durations.add_argument(
        "--canceling-seconds", type=float, default=_DEFAULTS.canceling_seconds, help="default %(default)s"
    )
    durations.add_argument(
        "--outcome",
        default=_DEFAULTS.default_outcome,
        type=str.upper,
        choices=["SUCCEEDED", "FAILED", "CANCELED"],
        help="outcome of newly created jobs (default %(default)s)",
    )
    durations.add_argument(
        "--tokens-per-second",
        type=float,
        default=_DEFAULTS.tokens_per_second,
        help="usage of a SUCCEEDED job = this x running seconds (default %(default)s)",
    )
    durations.add_argument(
        "--log-interval",
        type=float,
        default=_DEFAULTS.log_interval_seconds,
        help="seconds of training per log line (default %(default)s)",
    )
    files = p.add_argument_group("files")
    files.add_argument(
        "--strict-file-ids",
        action="store_true",
        help="refuse jobs whose training/validation file ids were not uploaded (default off: any id is taken)",
    )
    files.add_argument(
        "--max-file-bytes", type=int, default=_DEFAULTS.max_file_bytes, help="largest upload (default %(default)s)"
    )
    files.add_argument(
        "--max-storage-bytes",
        type=int,
        default=_DEFAULTS.max_storage_bytes,
        help="bytes of all files together (default %(default)s)",
    )
    files.add_argument(
        "--max-files", type=int, default=_DEFAULTS.max_files, help="number of files (default %(default)s)"
    )
    deploy = p.add_argument_group("deployments (seconds of the emulator clock)")
    for flag, field_name in (
        ("--deploy-pending-seconds", "deploy_pending_seconds"),
        ("--deploying-seconds", "deploying_seconds"),
        ("--updating-seconds", "updating_seconds"),
        ("--deleting-seconds", "deleting_seconds"),
    ):
        deploy.add_argument(flag, type=float, default=getattr(_DEFAULTS, field_name), help="default %(default)s")
    deploy.add_argument(
        "--deployable-models",
        type=lambda text: tuple(name.strip() for name in text.split(",") if name.strip()),
        default=_DEFAULTS.deployable_models,
        help=f"comma-separated base models a deployment may name (default: {','.join(_DEFAULTS.deployable_models)}; "
        "a SUCCEEDED job's finetuned_output may always be deployed)",
    )
    p.add_argument(
        "--quota",
        type=int,
        default=_DEFAULTS.quota,
        help="max PENDING+QUEUING+RUNNING+SUCCEEDED jobs before create returns 429 (default %(default)s)",
    )
    p.add_argument(
        "--tz-offset",
        type=float,
        default=_DEFAULTS.tz_offset_hours,
        help="hours east of UTC for create_time/end_time/job_id (default %(default)s)",
    )
    p.add_argument("--workspace-id", default=_DEFAULTS.workspace_id, help="default %(default)s")
    p.add_argument("--random-seed", type=int, default=None, help="seed for job id suffixes")
    p.add_argument("--backlog", type=int, default=4096)
    p.add_argument("--quiet", action="store_true", help="print nothing on start")
    p.add_argument("--verbose", action="store_true", help="access log and debug logging")
    return p


def build_state(args: argparse.Namespace, clock: Callable[[], float] | None = None) -> EmulatorState:
    """The state the parsed command line describes (``clock`` replaces the wall clock, for embedding)."""
    api_key = args.api_key if args.api_key is not None else os.environ.get("DASHSCOPE_API_KEY") or None
    config = EmulatorConfig(
        api_key=api_key,
        pending_seconds=args.pending_seconds,
        running_seconds=args.running_seconds,
        canceling_seconds=args.canceling_seconds,
        tokens_per_second=args.tokens_per_second,
        log_interval_seconds=args.log_interval,
        quota=args.quota,
        tz_offset_hours=args.tz_offset,
        workspace_id=args.workspace_id,
        default_outcome=args.outcome,
        random_seed=args.random_seed,
        state_file=args.state_file,
        strict_file_ids=args.strict_file_ids,
        max_file_bytes=args.max_file_bytes,
        max_storage_bytes=args.max_storage_bytes,
        max_files=args.max_files,
        deploy_pending_seconds=args.deploy_pending_seconds,
        deploying_seconds=args.deploying_seconds,
        updating_seconds=args.updating_seconds,
        deleting_seconds=args.deleting_seconds,
        deployable_models=args.deployable_models,
    )
    if clock is not None:
        config.clock = clock
    state = EmulatorState(config)
    if args.scenario:
        scenario.apply(state, scenario.load(args.scenario))
    for spec in args.fault:
        state.faults.add(parse_fault_spec(spec))
    return state


def _write_port_file(path: str, port: int) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(f"{port}\n")
    os.replace(tmp, path)


async def serve(args: argparse.Namespace, state: EmulatorState, ssl_context: ssl.SSLContext | None = None) -> None:
    app = create_app(state)
    runner, port = await start_site(
        app, args.host, args.port, backlog=args.backlog, access_log=args.verbose, ssl_context=ssl_context
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - non-POSIX
            pass
    try:
        if args.port_file:
            _write_port_file(args.port_file, port)
        if not args.quiet:
            auth = "API key required" if state.config.api_key else "any bearer token accepted"
            print(
                f"dashscope-emulator listening on {'https' if ssl_context else 'http'}://{args.host}:{port}/api/v1 "
                f"({auth}; {len(state.job_ids())} jobs, {len(state.files.names())} files, "
                f"{len(state.deployments.names())} deployments, {len(state.faults)} faults)",
                flush=True,
            )
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the emulator, or run a ``jobs``, ``files`` or ``deployments`` command against a running one."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["jobs"]:
        return jobs_cli.main(argv[1:])
    if argv[:1] and argv[0] in resources_cli.RESOURCES:
        return resources_cli.main(argv[0], argv[1:])
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING)
    if args.verbose:
        logging.getLogger("aiohttp.access").setLevel(logging.INFO)
    try:
        ssl_context = context_from(None, args.tls_cert, args.tls_key)
        state = build_state(args)
    except (OSError, ValueError, TypeError) as exc:
        print(f"dashscope-emulator: {exc}", file=sys.stderr)
        return 2
    try:
        asyncio.run(serve(args, state, ssl_context))
    except KeyboardInterrupt:  # pragma: no cover
        pass
    except OSError as exc:
        print(f"dashscope-emulator: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
