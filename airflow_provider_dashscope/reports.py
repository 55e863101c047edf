"""Reports on fine-tune jobs over a time window: pure functions and small dataclasses, no I/O but writing files.

Used by the ``dashscope_finetune_report`` example DAG; usable from any script::

    from airflow_provider_dashscope.reports import build_report, write_report

    report = build_report(hook.iter_fine_tune_jobs(page_size=100), start, end)
    paths = write_report(report, "/reports", report_basename(start))
    print(report.summary_text())

Rules:

* **Window.** A job belongs to the window ``[start, end)`` when ``start <= create_time < end``: the start is
  inclusive and the end exclusive, so the daily reports of consecutive data intervals never count a job twice
  nor miss one. ``start`` and ``end`` must be timezone-aware; job times are compared as instants (the API's
  Beijing-time strings are parsed into aware values by :mod:`~airflow_provider_dashscope.models`).
* **Undated jobs.** A job without a ``create_time`` (absent or unparseable) cannot be placed in any window: it is
  excluded from every table and only counted, as ``undated``, in the summary.
* **Statuses.** The seven statuses the provider knows are always shown (with 0 when absent), in life-cycle
  order; a status the provider does not know yet is shown after them under its own text.
* **Tokens.** ``usage`` summed per base model. A job with no ``usage`` (the API reports none before the job
  ends, and none for a failed job) adds 0 tokens but is still counted in the table's ``Jobs`` column.
* **Durations.** ``end_time - create_time`` in seconds, only for jobs in a terminal status (SUCCEEDED, FAILED,
  CANCELED) that have both times and whose end is not before their start. Count, min, median, max and total
  per base model, then over all base models. The median of an even count is the mean of the middle two.
* **Failures.** Jobs with status FAILED, with the job's own ``code`` and ``message``.
* **Files.** The CSV is the per-job table (one row per job in the window), the shape a spreadsheet, a
  database ``COPY`` or pandas can use and re-aggregate however it likes; the aggregates are in the Markdown
  file, meant for people. Times are ISO-8601 in the time zone of the window's start (UTC for an Airflow data
  interval). Empty cells mean "no value" (no end time yet, no usage, no code).
* **Order.** Everything is sorted, so the same jobs always give byte-identical files: jobs by
  ``(create_time, job_id)``; base models by name, a job without one under ``(unknown)`` last; failures by
  ``(end_time, job_id)``.

This module imports nothing from Airflow (the models are imported when a report is built), so it is cheap to
import in a DAG file.
"""

from __future__ import annotations

import csv
import io
import os
import re
import statistics
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_dashscope.models import FineTuneJob

#: The environment variable that chooses where the example DAG writes its reports.
ENV_REPORT_DIR = "DASHSCOPE_REPORT_DIR"

#: Columns of the per-job CSV, in order.
CSV_COLUMNS = (
    "job_id",
    "job_name",
    "status",
    "model",
    "base_model",
    "create_time",
    "end_time",
    "duration_seconds",
    "usage",
    "code",
    "message",
)

#: Label of jobs that have no base model.
UNKNOWN_BASE_MODEL = "(unknown)"
#: Label of the row that spans every base model in the durations table.
ALL_BASE_MODELS = "(all)"


# ------------------------------------------------------------------------------------------------------------
# The report's parts
# ------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class JobRow:
    """One job of the window, as it appears in the CSV."""

    job_id: str
    job_name: str | None
    status: str
    model: str | None
    base_model: str | None
    create_time: datetime
    end_time: datetime | None
    duration_seconds: float | None
    usage: int | None
    code: str | None
    message: str | None

    @property
    def base_model_label(self) -> str:
        return self.base_model if self.base_model else UNKNOWN_BASE_MODEL


@dataclass(frozen=True)
class TokenUsage:
    """Tokens used by the jobs of one base model."""

    base_model: str
    jobs: int
    jobs_with_usage: int
    tokens: int


@dataclass(frozen=True)
class DurationStats:
    """Durations (seconds) of the terminal jobs of one base model, or of all (``base_model == "(all)"``)."""

    base_model: str
    count: int
    min: float | None
    median: float | None
    max: float | None
    total: float

    @classmethod
    def of(cls, base_model: str, durations: Iterable[float]) -> DurationStats:
        values = sorted(durations)
        if not values:
            return cls(base_model, 0, None, None, None, 0.0)
        return cls(
            base_model,
            count=len(values),
            min=float(values[0]),
            median=float(statistics.median(values)),
            max=float(values[-1]),
            total=float(sum(values)),
        )


@dataclass(frozen=True)
class Failure:
    """A job that ended FAILED, with the job's own error code and message."""

    job_id: str
    base_model: str
    status: str
    code: str | None
    message: str | None
    end_time: datetime | None


@dataclass(frozen=True)
class FineTuneReport:
    """Everything a report says about the jobs created in ``[window_start, window_end)``."""

    window_start: datetime
    window_end: datetime
    jobs: tuple[JobRow, ...]
    status_counts: tuple[tuple[str, int], ...]
    tokens: tuple[TokenUsage, ...]
    durations: tuple[DurationStats, ...]
    failures: tuple[Failure, ...]
    listed: int
    undated: int

    @property
    def total_jobs(self) -> int:
        return len(self.jobs)

    @property
    def total_tokens(self) -> int:
        return sum(row.tokens for row in self.tokens)

    def status_count(self, status: str) -> int:
        return dict(self.status_counts).get(str(status), 0)

    @property
    def overall_durations(self) -> DurationStats:
        return self.durations[-1]

    # -- renderings ----------------------------------------------------------------------------------------
    def summary_text(self) -> str:
        """A few lines for the task log."""
        counts = ", ".join(f"{status} {n}" for status, n in self.status_counts)
        lines = [
            f"DashScope fine-tune report for [{_iso(self.window_start)}, {_iso(self.window_end)}): "
            f"{self.total_jobs} job(s) created in the window ({self.listed} listed, {self.undated} undated)",
            f"By status: {counts}",
        ]
        per_model = ", ".join(f"{t.base_model} {t.tokens} ({t.jobs} job(s))" for t in self.tokens)
        lines.append(f"Tokens used: {self.total_tokens}" + (f" ({per_model})" if per_model else ""))
        overall = self.overall_durations
        if overall.count:
            lines.append(
                f"Durations of {overall.count} finished job(s): min {_num(overall.min)} s, median "
                f"{_num(overall.median)} s, max {_num(overall.max)} s, total {_num(overall.total)} s"
            )
        else:
            lines.append("Durations: no finished job in the window")
        if self.failures:
            shown = "; ".join(
                (f"{f.job_id} {f.code or '-'}" + (f": {_one_line(f.message)}" if f.message else ""))[:160]
                for f in self.failures[:5]
            )
            more = f"; and {len(self.failures) - 5} more" if len(self.failures) > 5 else ""
            lines.append(f"Failures: {len(self.failures)}: {shown}{more}")
        else:
            lines.append("Failures: 0")
        return "\n".join(lines)

    def csv_text(self) -> str:
        """The per-job table as CSV text (header + one row per job in the window)."""
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        tz = self.window_start.tzinfo
        for job in self.jobs:
            writer.writerow(
                [
                    job.job_id,
                    job.job_name or "",
                    job.status,
                    job.model or "",
                    job.base_model or "",
                    _iso(job.create_time, tz),
                    _iso(job.end_time, tz),
                    _num(job.duration_seconds),
                    "" if job.usage is None else str(job.usage),
                    job.code or "",
                    job.message or "",
                ]
            )
        return buffer.getvalue()

    def markdown_text(self) -> str:
        """The report for people: summary, tokens per base model, durations, failures."""
        tz = self.window_start.tzinfo
        out = [
            "# DashScope fine-tune report",
            "",
            "## Summary",
            "",
            f"- Window: {_iso(self.window_start)} (inclusive) to {_iso(self.window_end)} (exclusive), "
            "by job create_time",
            f"- Jobs created in the window: {self.total_jobs}",
            f"- Jobs listed: {self.listed}; without a create_time (undated, not in any window): {self.undated}",
            f"- Tokens used: {self.total_tokens}",
            f"- Failures: {len(self.failures)}",
            "",
        ]
        out += _table(["Status", "Jobs"], [[status, str(n)] for status, n in self.status_counts], right=(1,))
        out += ["", "## Tokens per base model", ""]
        rows = [[t.base_model, str(t.jobs), str(t.jobs_with_usage), str(t.tokens)] for t in self.tokens]
        rows.append(
            [
                "Total",
                str(sum(t.jobs for t in self.tokens)),
                str(sum(t.jobs_with_usage for t in self.tokens)),
                str(self.total_tokens),
            ]
        )
        out += _table(["Base model", "Jobs", "Jobs with usage", "Tokens"], rows, right=(1, 2, 3))
        out += [
            "",
            "## Job durations",
            "",
            "Seconds from create_time to end_time, for jobs in a terminal status (SUCCEEDED, FAILED, CANCELED).",
            "",
        ]
        rows = [
            [d.base_model, str(d.count), _num(d.min) or "-", _num(d.median) or "-", _num(d.max) or "-", _num(d.total)]
            for d in self.durations
        ]
        out += _table(
            ["Base model", "Jobs", "Min (s)", "Median (s)", "Max (s)", "Total (s)"], rows, right=(1, 2, 3, 4, 5)
        )
        out += ["", "## Failures", ""]
        if self.failures:
            rows = [
                [f.job_id, f.base_model, f.status, f.code or "", f.message or "", _iso(f.end_time, tz)]
                for f in self.failures
            ]
            out += _table(["Job id", "Base model", "Status", "Code", "Message", "End time"], rows)
        else:
            out.append("No failed jobs in the window.")
        return "\n".join(out) + "\n"

    def as_dict(self) -> dict[str, Any]:
        """Small and JSON-safe: the numbers of the summary (for XCom)."""
        return {
            "window_start": _iso(self.window_start),
            "window_end": _iso(self.window_end),
            "total_jobs": self.total_jobs,
            "listed_jobs": self.listed,
            "undated_jobs": self.undated,
            "status_counts": dict(self.status_counts),
            "total_tokens": self.total_tokens,
            "tokens_by_base_model": {t.base_model: t.tokens for t in self.tokens},
            "failures": len(self.failures),
        }


@dataclass(frozen=True)
class ReportFiles:
    csv_path: str
    markdown_path: str


# ------------------------------------------------------------------------------------------------------------
# Building and writing
# ------------------------------------------------------------------------------------------------------------
def build_report(jobs: Iterable[FineTuneJob], window_start: datetime, window_end: datetime) -> FineTuneReport:
    """Select the jobs created in ``[window_start, window_end)`` and compute the report (see the module doc)."""
    from airflow_provider_dashscope.models import JobStatus

    _check_window(window_start, window_end)
    listed = undated = 0
    selected: list[JobRow] = []
    for job in jobs:
        listed += 1
        created = job.create_time
        if created is None:
            undated += 1
            continue
        if created.tzinfo is None or created.utcoffset() is None:
            raise ValueError(f"job {job.job_id}: create_time {created!r} has no time zone")
        if window_start <= created < window_end:
            selected.append(_row(job))
    selected.sort(key=lambda r: (r.create_time.timestamp(), r.job_id))

    counts = {status.value: 0 for status in JobStatus}
    for row in selected:
        counts[row.status] = counts.get(row.status, 0) + 1
    known = [status.value for status in JobStatus]
    ordered_counts = tuple((s, counts[s]) for s in known) + tuple(
        (s, counts[s]) for s in sorted(set(counts) - set(known))
    )

    by_model: dict[str, list[JobRow]] = {}
    for row in selected:
        by_model.setdefault(row.base_model_label, []).append(row)
    models = sorted(by_model, key=lambda m: (m == UNKNOWN_BASE_MODEL, m))
    tokens = tuple(
        TokenUsage(
            base_model=model,
            jobs=len(by_model[model]),
            jobs_with_usage=sum(1 for r in by_model[model] if r.usage is not None),
            tokens=sum(r.usage or 0 for r in by_model[model]),
        )
        for model in models
    )
    durations = tuple(
        DurationStats.of(model, (r.duration_seconds for r in by_model[model] if r.duration_seconds is not None))
        for model in models
    ) + (DurationStats.of(ALL_BASE_MODELS, (r.duration_seconds for r in selected if r.duration_seconds is not None)),)

    failed = [r for r in selected if r.status == JobStatus.FAILED.value]
    failed.sort(key=lambda r: ((r.end_time or r.create_time).timestamp(), r.job_id))
    failures = tuple(
        Failure(r.job_id, r.base_model_label, r.status, r.code, r.message, r.end_time) for r in failed
    )
    return FineTuneReport(
        window_start=window_start,
        window_end=window_end,
        jobs=tuple(selected),
        status_counts=ordered_counts,
        tokens=tokens,
        durations=durations,
        failures=failures,
        listed=listed,
        undated=undated,
    )


def report_basename(window_start: datetime) -> str:
    """``dashscope_finetune_report_20261120`` (with ``THHMM`` appended when the window does not start at 0:00)."""
    stamp = window_start.strftime("%Y%m%d")
    if (window_start.hour, window_start.minute, window_start.second) != (0, 0, 0):
        stamp += window_start.strftime("T%H%M%S")
    return f"dashscope_finetune_report_{stamp}"


def default_report_dir(environ: Mapping[str, str] | None = None) -> str:
    """``$DASHSCOPE_REPORT_DIR``; else ``$AIRFLOW_HOME/dashscope_reports``; else ``<temp dir>/dashscope_reports``."""
    environ = os.environ if environ is None else environ
    if environ.get(ENV_REPORT_DIR):
        return environ[ENV_REPORT_DIR]
    if environ.get("AIRFLOW_HOME"):
        return os.path.join(environ["AIRFLOW_HOME"], "dashscope_reports")
    return os.path.join(tempfile.gettempdir(), "dashscope_reports")


def write_report(report: FineTuneReport, directory: str, basename: str) -> ReportFiles:
    """Write ``<directory>/<basename>.csv`` and ``.md`` (UTF-8), each atomically; create the directory."""
    os.makedirs(directory, exist_ok=True)
    files = ReportFiles(
        csv_path=os.path.join(directory, basename + ".csv"),
        markdown_path=os.path.join(directory, basename + ".md"),
    )
    _write_atomically(files.csv_path, report.csv_text())
    _write_atomically(files.markdown_path, report.markdown_text())
    return files


# ------------------------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------------------------
def _check_window(start: Any, end: Any) -> None:
    for name, value in (("window_start", start), ("window_end", end)):
        if not isinstance(value, datetime):
            raise TypeError(f"{name} must be a datetime, got {type(value).__name__} {value!r}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{name} must be timezone-aware, got {value!r}")
    if end < start:
        raise ValueError(f"the window ends before it starts: [{start.isoformat()}, {end.isoformat()})")


def _row(job: FineTuneJob) -> JobRow:
    assert job.create_time is not None
    duration = None
    if job.is_terminal and job.end_time is not None and job.end_time >= job.create_time:
        duration = (job.end_time - job.create_time).total_seconds()
    return JobRow(
        job_id=job.job_id,
        job_name=job.job_name,
        status=str(job.status),
        model=job.model,
        base_model=job.base_model,
        create_time=job.create_time,
        end_time=job.end_time,
        duration_seconds=duration,
        usage=job.usage,
        code=job.code,
        message=job.message,
    )


def _iso(value: datetime | None, tz: tzinfo | None = None) -> str:
    if value is None:
        return ""
    if tz is not None:
        value = value.astimezone(tz)
    return datetime.isoformat(value, timespec="seconds")


def _num(value: float | None) -> str:
    """``90`` for 90.0, ``90.5`` for 90.5, ``""`` for None: no float noise in the files."""
    if value is None:
        return ""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _one_line(text: str) -> str:
    return " ".join(text.split())


_MD_SPECIAL = re.compile(r"([\\|`*_\[\]<>])")


def md_escape(text: str) -> str:
    """A table cell: one line, with ``\\``, ``|`` and the characters that would start markup backslash-escaped."""
    return _MD_SPECIAL.sub(r"\\\1", _one_line(text))


def _table(header: list[str], rows: list[list[str]], right: tuple[int, ...] = ()) -> list[str]:
    align = ["---:" if i in right else "---" for i in range(len(header))]
    lines = ["| " + " | ".join(md_escape(h) for h in header) + " |", "| " + " | ".join(align) + " |"]
    for row in rows:
        lines.append("| " + " | ".join(md_escape(cell) for cell in row) + " |")
    return lines


def _write_atomically(path: str, text: str) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=os.path.basename(path), dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a report is meant to be read by other tools
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
