"""A report's renderings (summary lines, CSV, Markdown) and its files."""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from airflow_provider_dashscope.reports.model import CSV_COLUMNS, FineTuneReport, iso

#: The environment variable that chooses where the example DAG writes its reports.
ENV_REPORT_DIR = "DASHSCOPE_REPORT_DIR"


@dataclass(frozen=True)
class ReportFiles:
    csv_path: str
    markdown_path: str


def summary_text(report: FineTuneReport) -> str:
    """A few lines for the task log."""
    counts = ", ".join(f"{status} {n}" for status, n in report.status_counts)
    lines = [
        f"DashScope fine-tune report for [{iso(report.window_start)}, {iso(report.window_end)}): "
        f"{report.total_jobs} job(s) created in the window ({report.listed} listed, {report.undated} undated)",
        f"By status: {counts}",
    ]
    per_model = ", ".join(f"{t.base_model} {t.tokens} ({t.jobs} job(s))" for t in report.tokens)
    lines.append(f"Tokens used: {report.total_tokens}" + (f" ({per_model})" if per_model else ""))
    overall = report.overall_durations
    if overall.count:
        lines.append(
            f"Durations of {overall.count} finished job(s): min {_num(overall.min)} s, median "
            f"{_num(overall.median)} s, max {_num(overall.max)} s, total {_num(overall.total)} s"
        )
    else:
        lines.append("Durations: no finished job in the window")
    if report.failures:
        shown = "; ".join(
            (f"{f.job_id} {f.code or '-'}" + (f": {_one_line(f.message)}" if f.message else ""))[:160]
            for f in report.failures[:5]
        )
        more = f"; and {len(report.failures) - 5} more" if len(report.failures) > 5 else ""
        lines.append(f"Failures: {len(report.failures)}: {shown}{more}")
    else:
        lines.append("Failures: 0")
    return "\n".join(lines)


def csv_text(report: FineTuneReport) -> str:
    """The per-job table as CSV text (header + one row per job in the window)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    tz = report.window_start.tzinfo
    for job in report.jobs:
        writer.writerow(
            [
                job.job_id,
                job.job_name or "",
                job.status,
                job.model or "",
                job.base_model or "",
                iso(job.create_time, tz),
                iso(job.end_time, tz),
                _num(job.duration_seconds),
                "" if job.usage is None else str(job.usage),
                job.code or "",
                job.message or "",
            ]
        )
    return buffer.getvalue()


def markdown_text(report: FineTuneReport) -> str:
    """The report for people: summary, tokens per base model, durations, failures."""
    tz = report.window_start.tzinfo
    out = [
        "# DashScope fine-tune report",
        "",
        "## Summary",
        "",
        f"- Window: {iso(report.window_start)} (inclusive) to {iso(report.window_end)} (exclusive), by job create_time",
        f"- Jobs created in the window: {report.total_jobs}",
        f"- Jobs listed: {report.listed}; without a create_time (undated, not in any window): {report.undated}",
        f"- Tokens used: {report.total_tokens}",
        f"- Failures: {len(report.failures)}",
        "",
    ]
    out += _table(["Status", "Jobs"], [[status, str(n)] for status, n in report.status_counts], right=(1,))
    out += ["", "## Tokens per base model", ""]
    rows = [[t.base_model, str(t.jobs), str(t.jobs_with_usage), str(t.tokens)] for t in report.tokens]
    rows.append(
        [
            "Total",
            str(sum(t.jobs for t in report.tokens)),
            str(sum(t.jobs_with_usage for t in report.tokens)),
            str(report.total_tokens),
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
        for d in report.durations
    ]
    out += _table(["Base model", "Jobs", "Min (s)", "Median (s)", "Max (s)", "Total (s)"], rows, right=(1, 2, 3, 4, 5))
    out += ["", "## Failures", ""]
    if report.failures:
        rows = [
            [f.job_id, f.base_model, f.status, f.code or "", f.message or "", iso(f.end_time, tz)]
            for f in report.failures
        ]
        out += _table(["Job id", "Base model", "Status", "Code", "Message", "End time"], rows)
    else:
        out.append("No failed jobs in the window.")
    return "\n".join(out) + "\n"


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
