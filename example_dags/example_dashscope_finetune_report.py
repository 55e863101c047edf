"""Scheduled reporting: every day, a report on the fine-tune jobs created during the data interval.

The task lists the account's jobs newest first, page after page, until it passes a day before the interval (the
API gives no creation-time filter; the day is a margin for its zone-less times), keeps those created in
``[data_interval_start, data_interval_end)`` and writes two files to ``$DASHSCOPE_REPORT_DIR`` (default:
``$AIRFLOW_HOME/dashscope_reports``):

* ``dashscope_finetune_report_<YYYYMMDD>.csv``: one row per job, for spreadsheets and downstream tools;
* ``dashscope_finetune_report_<YYYYMMDD>.md``, for people: counts by status, the change against the previous day,
  tokens per base model, durations (as ``1 h 02 min``), the models produced and whether a deployment serves them,
  failures. Numbers have thousands separators; the CSV keeps raw ones.

For a cost column, pass your price per 1,000 training tokens per base model (the provider keeps no price table:
prices change), e.g. ``airflow dags trigger dashscope_finetune_report -c '{"prices_per_1k_tokens": {"qwen3-14b":
0.04}, "currency": "USD"}'``.

The summary goes to the task log; the paths and the main numbers are the task's XCom.

A scheduled run's logical date is the start of its interval. A manual run (for example
``airflow dags test dashscope_finetune_report 2026-11-20``) covers the last complete day before its logical date:
here 2026-11-19 00:00 to 2026-11-20 00:00 UTC, written as ``dashscope_finetune_report_20261119.*``.

The schedule is ``@daily`` as a *data interval* timetable, spelled out: on Airflow 3 the plain string ``"@daily"``
gives a cron *trigger* timetable whose data interval is empty (start == end), which would report on nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.common.compat.sdk import DAG, Param, task

try:  # Airflow 3
    from airflow.sdk import CronDataIntervalTimetable
except ImportError:  # Airflow 2
    from airflow.timetables.interval import CronDataIntervalTimetable

with DAG(
    dag_id="dashscope_finetune_report",
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["dashscope", "example", "report"],
    params={
        "prices_per_1k_tokens": Param({}, type="object", description="price per 1,000 tokens per base model"),
        "currency": Param("", type="string", description="shown beside the costs, e.g. USD"),
    },
) as dag:

    @task
    def fine_tune_report(data_interval_start=None, data_interval_end=None, params=None) -> dict:
        """List the jobs back to the previous interval and the deployments, report on the jobs created in the data
        interval, write CSV + Markdown, log the summary."""
        import logging

        from airflow_provider_dashscope.hooks.dashscope import DashScopeHook
        from airflow_provider_dashscope.reports import (
            build_report,
            default_report_dir,
            report_basename,
            write_report,
        )

        log = logging.getLogger("airflow.task")
        if data_interval_start == data_interval_end:
            log.warning(
                "The data interval is empty, so the report counts no job; schedule this DAG with a data interval "
                "timetable (CronDataIntervalTimetable), not a cron trigger timetable"
            )
        params = params or {}
        hook = DashScopeHook()
        try:
            # Newest first: stop a day before the previous interval (a margin for the API's zone-less times).
            previous_start = data_interval_start - (data_interval_end - data_interval_start)
            report = build_report(
                hook.iter_fine_tune_jobs(page_size=100, created_after=previous_start - timedelta(days=1)),
                data_interval_start,
                data_interval_end,
                deployments=list(hook.iter_deployments()),
                prices_per_1k_tokens=params.get("prices_per_1k_tokens") or None,
                currency=params.get("currency") or "",
            )
        finally:
            hook.close()
        files = write_report(report, default_report_dir(), report_basename(data_interval_start))
        for line in report.summary_text().splitlines():
            log.info("%s", line)
        log.info("Report written to %s and %s", files.csv_path, files.markdown_path)
        return {"csv_path": files.csv_path, "markdown_path": files.markdown_path, **report.as_dict()}

    fine_tune_report()


if __name__ == "__main__":
    dag.test()
