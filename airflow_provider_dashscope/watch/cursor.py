"""What one watcher of fine-tune jobs has reported and how far it has looked, and the rule for what to report next.

**The rule.** A watcher reports each job that reaches one of its statuses (ended statuses only: an ended job never
changes, so "reached" is never ambiguous) and matches its filter, exactly once:

* **First look** (no cursor yet): jobs that had already ended are history, not news. Nothing is reported; the
  cursor starts here. A new watcher never floods its DAG with old jobs.
* **Every later look**: a job is reported when it has ended, matches, was created at or after the cursor's horizon
  and is neither in the cursor's ``done`` ids (ended jobs already accounted for) nor among the ids it reported. A
  job created and finished between two looks is reported like any other: it was never seen running, and need not
  have been.
* **After a restart**, the cursor comes back from the asset state store (Airflow 3.3+): the first look covers
  everything since the horizon, so a job that ended while no triggerer ran is reported then, and a job reported
  before is not reported again. When the look the watcher is handed does not reach back far enough (a shared
  look made for watchers with a newer horizon), the watcher reads back to its own horizon first.

**The cursor** (:class:`WatchCursor`, stored as JSON): ``horizon`` (the creation time of the oldest job not ended
at the last look; every job created before it had ended and has been accounted for), ``done`` (the ended jobs
created at or after the horizon, accounted for) and ``reported`` (the last :data:`MAX_REPORTED` ids reported). It
is written before the events of a look are fired: a crash in between loses those events (never repeats them), and
the trigger's log says which jobs it reported. Its size is bounded by one look (at most 1,000 jobs).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pendulum

from airflow_provider_dashscope.models import FineTuneJob
from airflow_provider_dashscope.watch.scan import Snapshot

#: Ids of reported jobs kept in the cursor (a guard besides ``done``).
MAX_REPORTED = 200
CURSOR_VERSION = 1


@dataclass(frozen=True)
class JobFilter:
    """Which ended jobs a watcher reports."""

    statuses: frozenset[str]
    #: Matches a job's ``model`` or its ``base_model`` (a job may continue training an earlier fine-tune).
    model: str | None = None
    job_name_prefix: str | None = None

    def matches(self, job: FineTuneJob) -> bool:
        if job.status_text not in self.statuses:
            return False
        if self.model is not None and self.model not in (job.model, job.base_model):
            return False
        return self.job_name_prefix is None or (job.job_name or "").startswith(self.job_name_prefix)


def store_key(conn_id: str, job_filter: JobFilter) -> str:
    """The asset-state-store key of one watcher: watchers with another filter on the same asset keep their own."""
    identity = json.dumps(
        [conn_id, sorted(job_filter.statuses), job_filter.model, job_filter.job_name_prefix], separators=(",", ":")
    )
    return "dashscope.fine_tune_watch." + hashlib.sha1(identity.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class WatchCursor:
    """How far one watcher has looked (see the module docstring)."""

    started: bool = False
    horizon: pendulum.DateTime | None = None
    done: frozenset[str] = frozenset()
    reported: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "version": CURSOR_VERSION,
            "started": self.started,
            "horizon": self.horizon.isoformat() if self.horizon is not None else None,
            "done": sorted(self.done),
            "reported": list(self.reported),
        }

    @classmethod
    def from_json(cls, value: Any) -> WatchCursor | None:
        """The cursor a watcher stored, or ``None`` when ``value`` is not one (then the watch starts afresh)."""
        if not isinstance(value, Mapping) or value.get("version") != CURSOR_VERSION or value.get("started") is not True:
            return None
        horizon = value.get("horizon")
        done, reported = value.get("done"), value.get("reported")
        if not isinstance(done, list) or not isinstance(reported, list):
            return None
        try:
            parsed = pendulum.parse(horizon) if horizon is not None else None
        except (ValueError, TypeError):
            return None
        if parsed is not None and not isinstance(parsed, pendulum.DateTime):
            return None
        return cls(
            started=True,
            horizon=parsed,
            done=frozenset(str(i) for i in done),
            reported=tuple(str(i) for i in reported)[-MAX_REPORTED:],
        )


@dataclass(frozen=True)
class Step:
    """What one look means for one watcher."""

    cursor: WatchCursor
    #: Jobs to report, in the order they ended.
    report: tuple[FineTuneJob, ...]
    #: On the first look: matching jobs that had already ended (history, not reported).
    history: int
    #: The cursor differs from the one before (worth storing).
    changed: bool


def needs_catch_up(cursor: WatchCursor, snapshot: Snapshot) -> bool:
    """Whether ``snapshot`` misses jobs this watcher has not accounted for (then it reads back itself)."""
    return cursor.started and not snapshot.covers(cursor.horizon) and not snapshot.truncated


def _accounted(snapshot: Snapshot, horizon: pendulum.DateTime | None) -> frozenset[str]:
    return frozenset(
        job.job_id
        for job in snapshot.jobs
        if job.is_terminal and (horizon is None or job.create_time is None or job.create_time >= horizon)
    )


def _end_order(job: FineTuneJob) -> tuple[int, Any]:
    when = job.end_time or job.create_time
    return (0, when) if when is not None else (1, job.job_id)


def step(cursor: WatchCursor, snapshot: Snapshot, job_filter: JobFilter) -> Step:
    """Apply the rule to one look (the caller made sure it covers the cursor: see :func:`needs_catch_up`)."""
    horizon = snapshot.horizon
    if not cursor.started:
        history = sum(1 for job in snapshot.jobs if job.is_terminal and job_filter.matches(job))
        new = WatchCursor(started=True, horizon=horizon, done=_accounted(snapshot, horizon))
        return Step(new, (), history, True)
    reported = set(cursor.reported)
    report = tuple(
        sorted(
            (
                job
                for job in snapshot.jobs
                if job.is_terminal
                and (cursor.horizon is None or job.create_time is None or job.create_time >= cursor.horizon)
                and job.job_id not in cursor.done
                and job.job_id not in reported
                and job_filter.matches(job)
            ),
            key=_end_order,
        )
    )
    new = WatchCursor(
        started=True,
        horizon=horizon,
        done=_accounted(snapshot, horizon),
        reported=_bounded(cursor.reported, (job.job_id for job in report)),
    )
    return Step(new, report, 0, new != cursor)


def _bounded(before: tuple[str, ...], added: Iterable[str]) -> tuple[str, ...]:
    return (*before, *added)[-MAX_REPORTED:]


def event_payload(job: FineTuneJob, conn_id: str) -> dict[str, Any]:
    """The JSON-safe payload of a job's event (the asset event's ``extra["payload"]``)."""
    summary = job.summary()
    summary.pop("request_id", None)  # the id of a list request says nothing about the job
    return {**summary, "job_name": job.job_name, "dashscope_conn_id": conn_id}
