"""The loops that carry out what a :class:`~.machine.WaitMachine` says: one sync (a worker), one async (a trigger).

They only sleep, fetch and log; every decision is the machine's. Any exception a fetch raises goes to the machine
(it decides whether the wait goes on); only cancellation (``BaseException``) passes through. ``fetch_logs`` carries
out the machine's :class:`~.machine.FetchLogs` reads (a machine with a progress asks for them; one without never).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from airflow_provider_dashscope.wait.machine import Done, FetchLogs, LogLine, Sleep, WaitMachine
from airflow_provider_dashscope.wait.outcomes import WaitEvent
from airflow_provider_dashscope.wait.training_log import LogSlice

R = TypeVar("R")


def emit(log: logging.Logger | Any, lines: Iterable[LogLine]) -> None:
    """Write the machine's log lines to a logger (stdlib or Airflow's)."""
    for line in lines:
        if line.error is not None:
            log.log(line.level, line.message, *line.args, exc_info=line.error)
        else:
            log.log(line.level, line.message, *line.args)


def run_sync(
    machine: WaitMachine[R],
    fetch: Callable[[], R],
    log: logging.Logger | Any,
    *,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], Any] = time.sleep,
    fetch_logs: Callable[[FetchLogs], LogSlice] | None = None,
) -> WaitEvent:
    """Wait in this thread until the machine is done; return its event."""
    while True:
        action = machine.next_action(clock())
        if isinstance(action, Done):
            return action.event
        if isinstance(action, Sleep):
            sleep(action.seconds)
            continue
        if isinstance(action, FetchLogs):
            try:
                if fetch_logs is None:
                    raise RuntimeError("the wait's progress asked for a log read, but the driver has no fetch_logs")
                logs: LogSlice | BaseException = fetch_logs(action)
            except Exception as err:
                logs = err
            emit(log, machine.on_logs(logs, clock()))
            continue
        try:
            result: R | BaseException = fetch()
        except Exception as err:
            result = err
        emit(log, machine.on_result(result, clock()))


async def run_async(
    machine: WaitMachine[R],
    fetch: Callable[[], Awaitable[R]],
    log: logging.Logger | Any,
    *,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    fetch_logs: Callable[[FetchLogs], Awaitable[LogSlice]] | None = None,
) -> WaitEvent:
    """Wait on the running event loop until the machine is done; return its event."""
    while True:
        action = machine.next_action(clock())
        if isinstance(action, Done):
            return action.event
        if isinstance(action, Sleep):
            await sleep(action.seconds)
            continue
        if isinstance(action, FetchLogs):
            try:
                if fetch_logs is None:
                    raise RuntimeError("the wait's progress asked for a log read, but the driver has no fetch_logs")
                logs: LogSlice | BaseException = await fetch_logs(action)
            except Exception as err:
                logs = err
            emit(log, machine.on_logs(logs, clock()))
            continue
        try:
            result: R | BaseException = await fetch()
        except Exception as err:
            result = err
        emit(log, machine.on_result(result, clock()))
