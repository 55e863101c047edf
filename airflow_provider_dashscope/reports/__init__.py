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
* **Statuses.** Only the statuses that occurred are shown, in life-cycle order; a status the provider does not
  know yet is shown after them under its own text.
* **Tokens.** ``usage`` summed per base model. A job with no ``usage`` (the API reports none before the job
  ends, and none for a failed job) adds 0 tokens but is still counted in the table's ``Jobs`` column.
* **Durations.** ``end_time - create_time`` (wall time: queueing included, as the API gives no training start
  time), only for jobs in a terminal status (SUCCEEDED, FAILED, CANCELED) that have both times and whose end is
  not before their start. Count, min, median, max and total per base model, then over all base models. The
  median of an even count is the mean of the middle two.
* **Failures.** Jobs with status FAILED, with the job's own ``code`` and ``message``.
* **Models produced.** Each SUCCEEDED job's ``finetuned_output``; with ``deployments``, the deployments serving it.
* **Previous period.** Jobs, tokens and failures of the period of the same length just before the window, from
  the same iterable of jobs (list back to its start).
* **Costs.** Only with ``prices_per_1k_tokens`` (the caller's prices; the provider keeps none).
* **Text.** The Markdown and summary lines write numbers with thousands separators and durations as
  ``1 h 02 min`` (:mod:`.formatting`); the CSV keeps raw numbers.
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

from airflow_provider_dashscope.reports.model import (
    ALL_BASE_MODELS,
    UNKNOWN_BASE_MODEL,
    DurationStats,
    Failure,
    FineTuneReport,
    JobRow,
    ModelProduced,
    PeriodTotals,
    TokenUsage,
    build_report,
)
from airflow_provider_dashscope.reports.render import (
    CSV_COLUMNS,
    ENV_REPORT_DIR,
    ReportFiles,
    default_report_dir,
    md_escape,
    report_basename,
    write_report,
)

__all__ = [
    "ALL_BASE_MODELS",
    "CSV_COLUMNS",
    "ENV_REPORT_DIR",
    "UNKNOWN_BASE_MODEL",
    "DurationStats",
    "Failure",
    "FineTuneReport",
    "JobRow",
    "ModelProduced",
    "PeriodTotals",
    "ReportFiles",
    "TokenUsage",
    "build_report",
    "default_report_dir",
    "md_escape",
    "report_basename",
    "write_report",
]
