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
from typing import TYPE_CHECKING

from airflow_provider_dashscope.reports.formatting import change, duration, iso, money, thousands

if TYPE_CHECKING:
    from airflow_provider_dashscope.reports.model import FineTuneReport

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
    "finetuned_output",
)

#: The environment variable that chooses where the example DAG writes its reports.
ENV_REPORT_DIR = "DASHSCOPE_REPORT_DIR"


@dataclass(frozen=True)
class ReportFiles:
    csv_path: str
    markdown_path: str


#: What the durations are, said in the report itself.
DURATION_NOTE = (
    "Wall time from create_time to end_time, for jobs in a terminal status (SUCCEEDED, FAILED, CANCELED). It "
    "includes the time a job waited (PENDING, QUEUING) before it trained: the API gives no training start time, so "
    "queue time and training time cannot be told apart."
)


def summary_text(report: FineTuneReport) -> str:
    """A few lines for the task log (numbers with thousands separators, durations in hours and minutes)."""
    counts = ", ".join(f"{status} {thousands(n)}" for status, n in report.status_counts) or "no jobs"
    lines = [
        f"DashScope fine-tune report for [{iso(report.window_start)}, {iso(report.window_end)}): "
        f"{thousands(report.total_jobs)} job(s) created in the window ({thousands(report.listed)} listed, "
        f"{thousands(report.undated)} undated)",
        f"By status: {counts}",
    ]
    per_model = ", ".join(f"{t.base_model} {thousands(t.tokens)} ({t.jobs} job(s))" for t in report.tokens)
    lines.append(f"Tokens used: {thousands(report.total_tokens)}" + (f" ({per_model})" if per_model else ""))
    if report.total_cost is not None:
        lines.append(f"Cost at the prices given: {money(report.total_cost)} {report.currency}".rstrip())
    overall = report.overall_durations
    if overall.count:
        lines.append(
            f"Wall time of {overall.count} finished job(s), queueing included: min {duration(overall.min)}, "
            f"median {duration(overall.median)}, max {duration(overall.max)}, total {duration(overall.total)}"
        )
    else:
        lines.append("Durations: no finished job in the window")
    if report.models_produced:
        lines.append(
            f"Models produced: {len(report.models_produced)}: "
            + ", ".join(m.finetuned_output for m in report.models_produced[:5])
            + (f" and {len(report.models_produced) - 5} more" if len(report.models_produced) > 5 else "")
        )
    if report.failures:
        shown = "; ".join(
            (f"{f.job_id} {f.code or '-'}" + (f": {_one_line(f.message)}" if f.message else ""))[:160]
            for f in report.failures[:5]
        )
        more = f"; and {len(report.failures) - 5} more" if len(report.failures) > 5 else ""
        lines.append(f"Failures: {len(report.failures)}: {shown}{more}")
    else:
        lines.append("Failures: 0")
    if report.previous is not None:
        p = report.previous
        lines.append(
            f"Against the previous period: jobs {change(report.total_jobs, p.jobs)}, tokens "
            f"{change(report.total_tokens, p.tokens)}, failures {change(len(report.failures), p.failures)}"
        )
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
                job.finetuned_output or "",
            ]
        )
    return buffer.getvalue()


def markdown_text(report: FineTuneReport) -> str:
    """The report for people: summary, change against the previous period, tokens (and costs) per base model,
    durations, models produced, failures."""
    tz = report.window_start.tzinfo
    priced = report.prices is not None
    cost_header = f"Cost ({report.currency})" if report.currency else "Cost"
    out = [
        "# DashScope fine-tune report",
        "",
        "## Summary",
        "",
        f"- Window: {iso(report.window_start)} (inclusive) to {iso(report.window_end)} (exclusive), by job create_time",
        f"- Jobs created in the window: {thousands(report.total_jobs)}",
        f"- Jobs listed: {thousands(report.listed)}; without a create_time (undated, not in any window): "
        f"{thousands(report.undated)}",
        f"- Tokens used: {thousands(report.total_tokens)}",
    ]
    if priced:
        out.append(f"- Cost at the prices given: {money(report.total_cost)} {report.currency}".rstrip())
    out += [f"- Models produced: {len(report.models_produced)}", f"- Failures: {len(report.failures)}", ""]
    if report.status_counts:
        out += _table(["Status", "Jobs"], [[s, thousands(n)] for s, n in report.status_counts], right=(1,))
    else:
        out.append("No jobs were created in the window.")
    if report.previous is not None:
        p = report.previous
        out += ["", "## Change against the previous period", ""]
        out.append(f"The previous period: {iso(p.window_start)} to {iso(p.window_end)}, of the same length.")
        out.append("")
        rows = [
            [name, thousands(now), thousands(before), change(now, before)]
            for name, now, before in (
                ("Jobs", report.total_jobs, p.jobs),
                ("Tokens", report.total_tokens, p.tokens),
                ("Failures", len(report.failures), p.failures),
            )
        ]
        out += _table(["", "This period", "Previous period", "Change"], rows, right=(1, 2, 3))
    out += ["", "## Tokens per base model", ""]
    header = ["Base model", "Jobs", "Jobs with usage", "Tokens"] + ([cost_header] if priced else [])
    rows = [
        [t.base_model, thousands(t.jobs), thousands(t.jobs_with_usage), thousands(t.tokens)]
        + ([_cost_cell(t.cost)] if priced else [])
        for t in report.tokens
    ]
    rows.append(
        [
            "Total",
            thousands(sum(t.jobs for t in report.tokens)),
            thousands(sum(t.jobs_with_usage for t in report.tokens)),
            thousands(report.total_tokens),
        ]
        + ([money(report.total_cost)] if priced else [])
    )
    out += _table(header, rows, right=(1, 2, 3, 4))
    if priced:
        out += ["", "Cost: tokens / 1,000 x the price per 1,000 tokens given for the base model."]
    out += ["", "## Job durations", "", DURATION_NOTE, ""]
    rows = [
        [d.base_model, thousands(d.count), duration(d.min) or "-", duration(d.median) or "-", duration(d.max) or "-",
         duration(d.total) if d.count else "-"]
        for d in report.durations
    ]  # fmt: skip
    out += _table(["Base model", "Jobs", "Min", "Median", "Max", "Total"], rows, right=(1, 2, 3, 4, 5))
    out += ["", "## Models produced", ""]
    if report.models_produced:
        header = ["Job name", "finetuned_output", "Base model", "Tokens"]
        header += (["Deployed"] if report.deployments_known else []) + ([cost_header] if priced else [])
        rows = [
            [m.job_name or m.job_id, m.finetuned_output, m.base_model, thousands(m.tokens) or "-"]
            + ([_deployed_cell(m.deployments)] if report.deployments_known else [])
            + ([_cost_cell(m.cost)] if priced else [])
            for m in report.models_produced
        ]
        right = (3, *((5,) if report.deployments_known and priced else (4,) if priced else ()))
        out += _table(header, rows, right=right)
    else:
        out.append("No job of the window produced a model (none SUCCEEDED).")
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


def _cost_cell(cost: float | None) -> str:
    return "no price given" if cost is None else money(cost)


def _deployed_cell(deployments: tuple[str, ...] | None) -> str:
    return "yes: " + ", ".join(deployments) if deployments else "no"


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
