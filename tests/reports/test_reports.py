"""The report core on hand-built jobs: window rule, counts, tokens, durations, failures, CSV and Markdown."""

from __future__ import annotations

import csv
import io
import json
import os
import random
import re
from datetime import datetime, timedelta, timezone

import pendulum
import pytest
from hypothesis import given, settings, strategies as st

from airflow_provider_dashscope.models import FineTuneJob, JobStatus
from airflow_provider_dashscope.reports import (
    CSV_COLUMNS,
    DurationStats,
    Failure,
    TokenUsage,
    build_report,
    default_report_dir,
    md_escape,
    report_basename,
    write_report,
)

KNOWN = ["PENDING", "QUEUING", "RUNNING", "CANCELING", "SUCCEEDED", "FAILED", "CANCELED"]


def ids(report) -> list[str]:
    return [row.job_id for row in report.jobs]


def md_cells(line: str) -> list[str]:
    """Split a Markdown table row the way GitHub does: a pipe escaped by a backslash is not a separator."""
    assert line.startswith("| ") and line.endswith(" |"), line
    cells, cell, i, body = [], "", 0, line[1:-1]
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            cell += body[i : i + 2]
            i += 2
            continue
        if ch == "|":
            cells.append(cell.strip())
            cell = ""
        else:
            cell += ch
        i += 1
    cells.append(cell.strip())
    return cells


def md_unescape(cell: str) -> str:
    return re.sub(r"\\(.)", r"\1", cell)


def section(markdown: str, title: str) -> list[str]:
    """The lines of one ``## title`` section."""
    lines = markdown.splitlines()
    start = lines.index(f"## {title}") + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith("## ")), len(lines))
    return [line for line in lines[start:end] if line]


def table(markdown: str, title: str) -> list[list[str]]:
    """The rows (header first, alignment row dropped) of the table in one section, unescaped."""
    rows = [md_cells(line) for line in section(markdown, title) if line.startswith("|")]
    return [[md_unescape(c) for c in row] for i, row in enumerate(rows) if i != 1]


# ------------------------------------------------------------------------------------------------------------
# The window
# ------------------------------------------------------------------------------------------------------------
def test_window_start_is_inclusive_and_end_exclusive(make_job, window):
    jobs = [
        make_job("before-start", created="2026-11-19T23:59:59"),
        make_job("at-start", created="2026-11-20T00:00:00"),
        make_job("last-second", created="2026-11-20T23:59:59"),
        make_job("at-end", created="2026-11-21T00:00:00"),
    ]
    report = build_report(jobs, *window)
    assert ids(report) == ["at-start", "last-second"]
    assert (report.total_jobs, report.listed, report.undated) == (2, 4, 0)


def test_window_compares_instants_across_time_zones(window):
    """The API's Beijing-time strings (UTC+8) are placed in a UTC window by instant, not by wall clock."""
    outputs = [
        {"job_id": "bj-0759", "status": "SUCCEEDED", "create_time": "2026-11-20 07:59:59"},  # 23:59:59 UTC the 19th
        {"job_id": "bj-0800", "status": "SUCCEEDED", "create_time": "2026-11-20 08:00:00"},  # 00:00 UTC
        {"job_id": "bj-next-0759", "status": "SUCCEEDED", "create_time": "2026-11-21 07:59:59"},
        {"job_id": "bj-next-0800", "status": "SUCCEEDED", "create_time": "2026-11-21 08:00:00"},
    ]
    report = build_report([FineTuneJob.from_api(o) for o in outputs], *window)
    assert ids(report) == ["bj-0800", "bj-next-0759"]
    assert report.csv_text().splitlines()[1].split(",")[5] == "2026-11-20T00:00:00+00:00"


def test_jobs_without_create_time_are_undated_and_left_out(make_job, window):
    jobs = [
        make_job("dated", usage=10),
        make_job("undated-1", created=None, usage=1000),
        FineTuneJob.from_api({"job_id": "undated-2", "status": "FAILED", "create_time": "not a time"}),
    ]
    report = build_report(jobs, *window)
    assert ids(report) == ["dated"]
    assert (report.listed, report.undated, report.total_tokens) == (3, 2, 10)
    assert report.status_count("FAILED") == 0
    assert "without a create_time (undated, not in any window): 2" in report.markdown_text()
    assert "(3 listed, 2 undated)" in report.summary_text()


def test_an_empty_window_is_a_report_of_nothing(make_job, window):
    start, _ = window
    report = build_report([make_job("a", created="2026-11-20T00:00:00")], start, start)
    assert report.total_jobs == 0 and report.listed == 1
    assert report.status_counts == ()  # only statuses that occurred
    assert "No jobs were created in the window." in report.markdown_text()
    assert report.csv_text() == ",".join(CSV_COLUMNS) + "\n"
    assert "No failed jobs in the window." in report.markdown_text()


@pytest.mark.parametrize(
    "start, end, error",
    [
        (datetime(2026, 11, 20), datetime(2026, 11, 21, tzinfo=timezone.utc), "window_start must be timezone-aware"),
        (datetime(2026, 11, 20, tzinfo=timezone.utc), datetime(2026, 11, 21), "window_end must be timezone-aware"),
        (
            datetime(2026, 11, 21, tzinfo=timezone.utc),
            datetime(2026, 11, 20, tzinfo=timezone.utc),
            "the window ends before it starts",
        ),
    ],
)
def test_a_bad_window_is_refused(start, end, error):
    with pytest.raises(ValueError, match=error):
        build_report([], start, end)


def test_a_window_that_is_not_a_datetime_is_refused(window):
    with pytest.raises(TypeError, match="window_start must be a datetime, got str"):
        build_report([], "2026-11-20", window[1])


# ------------------------------------------------------------------------------------------------------------
# Counts, tokens, durations, failures
# ------------------------------------------------------------------------------------------------------------
def test_counts_show_the_statuses_that_occurred_in_life_cycle_order_then_unknown_ones(make_job, window):
    jobs = [
        make_job("s1", "SUCCEEDED"),
        make_job("s2", "SUCCEEDED"),
        make_job("r1", "RUNNING"),
        make_job("u1", "PAUSED"),
        make_job("u2", "ARCHIVED"),
        make_job("u3", "PAUSED"),
    ]
    report = build_report(jobs, *window)
    assert report.status_counts == (("RUNNING", 1), ("SUCCEEDED", 2), ("ARCHIVED", 1), ("PAUSED", 2))
    assert table(report.markdown_text(), "Summary")[1:] == [[s, str(n)] for s, n in report.status_counts]
    assert "By status: RUNNING 1, SUCCEEDED 2, ARCHIVED 1, PAUSED 2" in report.summary_text()


def test_tokens_per_base_model_count_jobs_without_usage(make_job, window):
    jobs = [
        make_job("a1", base_model="qwen3-8b", usage=1500),
        make_job("a2", "RUNNING", base_model="qwen3-8b"),  # no usage yet
        make_job("a3", "FAILED", base_model="qwen3-8b", code="X"),  # failed jobs report none
        make_job("b1", base_model="qwen3-14b", usage=20_000),
        make_job("b2", "CANCELED", base_model="qwen3-14b", usage=0),
        make_job("c1", base_model=None, model="custom", usage=7),
    ]
    report = build_report(jobs, *window)
    assert report.tokens == (
        TokenUsage("qwen3-14b", jobs=2, jobs_with_usage=2, tokens=20_000),
        TokenUsage("qwen3-8b", jobs=3, jobs_with_usage=1, tokens=1500),
        TokenUsage("(unknown)", jobs=1, jobs_with_usage=1, tokens=7),
    )
    assert report.total_tokens == 21_507
    assert table(report.markdown_text(), "Tokens per base model") == [
        ["Base model", "Jobs", "Jobs with usage", "Tokens"],
        ["qwen3-14b", "2", "2", "20,000"],
        ["qwen3-8b", "3", "1", "1,500"],
        ["(unknown)", "1", "1", "7"],
        ["Total", "6", "4", "21,507"],
    ]


@pytest.mark.parametrize(
    "minutes, median",
    [
        ([30], 1800),
        ([10, 30, 20], 1200),  # odd: the middle value
        ([10, 40, 20, 30], 1500),  # even: the mean of the middle two (20 and 30 min)
        ([1, 2], 90),
    ],
)
def test_duration_median_with_odd_and_even_counts(make_job, window, minutes, median):
    jobs = [
        make_job(f"j{i}", created="2026-11-20T10:00:00", ended=f"2026-11-20T{10 + m // 60:02d}:{m % 60:02d}:00")
        for i, m in enumerate(minutes)
    ]
    stats = build_report(jobs, *window).overall_durations
    assert stats == DurationStats(
        "(all)", len(minutes), min(minutes) * 60.0, float(median), max(minutes) * 60.0, sum(minutes) * 60.0
    )


def test_a_half_second_median_is_written_without_float_noise(make_job, window):
    jobs = [
        make_job("a", created="2026-11-20T10:00:00", ended="2026-11-20T10:00:01"),
        make_job("b", created="2026-11-20T10:00:00", ended="2026-11-20T10:00:02"),
    ]
    report = build_report(jobs, *window)
    assert table(report.markdown_text(), "Job durations")[-1] == ["(all)", "2", "1 s", "2 s", "2 s", "3 s"]


def test_durations_only_count_terminal_jobs_with_both_times(make_job, window):
    jobs = [
        make_job("ok-succeeded", "SUCCEEDED", created="2026-11-20T01:00:00", ended="2026-11-20T02:00:00"),
        make_job("ok-failed", "FAILED", created="2026-11-20T01:00:00", ended="2026-11-20T01:01:40"),
        make_job("ok-canceled", "CANCELED", created="2026-11-20T01:00:00", ended="2026-11-20T01:10:00"),
        make_job("running", "RUNNING", created="2026-11-20T01:00:00", ended="2026-11-20T05:00:00"),
        make_job("unknown", "PAUSED", created="2026-11-20T01:00:00", ended="2026-11-20T05:00:00"),
        make_job("no-end", "SUCCEEDED", created="2026-11-20T01:00:00"),
        make_job("ends-first", "SUCCEEDED", created="2026-11-20T01:00:00", ended="2026-11-20T00:59:00"),
    ]
    report = build_report(jobs, *window)
    assert report.overall_durations == DurationStats("(all)", 3, 100.0, 600.0, 3600.0, 4300.0)
    durations = {row.job_id: row.duration_seconds for row in report.jobs}
    assert durations == {
        "ok-succeeded": 3600.0,
        "ok-failed": 100.0,
        "ok-canceled": 600.0,
        "running": None,
        "unknown": None,
        "no-end": None,
        "ends-first": None,
    }


def test_durations_per_base_model_list_every_model_then_all(make_job, window):
    jobs = [
        make_job("a1", base_model="m-a", created="2026-11-20T01:00:00", ended="2026-11-20T01:00:10"),
        make_job("a2", base_model="m-a", created="2026-11-20T01:00:00", ended="2026-11-20T01:00:30"),
        make_job("b1", "RUNNING", base_model="m-b"),
    ]
    report = build_report(jobs, *window)
    assert report.durations == (
        DurationStats("m-a", 2, 10.0, 20.0, 30.0, 40.0),
        DurationStats("m-b", 0, None, None, None, 0.0),
        DurationStats("(all)", 2, 10.0, 20.0, 30.0, 40.0),
    )
    assert table(report.markdown_text(), "Job durations")[2] == ["m-b", "0", "-", "-", "-", "-"]


def test_failures_carry_code_and_message_in_end_time_order(make_job, window):
    jobs = [
        make_job("late", "FAILED", ended="2026-11-20T09:00:00", code="TrainingFailed", message="diverged"),
        make_job("early", "FAILED", ended="2026-11-20T03:00:00", code="InvalidDataset", message="line 3: bad"),
        make_job("no-code", "FAILED", base_model=None),
        make_job("canceled", "CANCELED", ended="2026-11-20T02:00:00"),
        make_job("fine", "SUCCEEDED", ended="2026-11-20T02:00:00"),
    ]
    report = build_report(jobs, *window)
    assert report.failures == (
        Failure("no-code", "(unknown)", "FAILED", None, None, None),  # no end_time: ordered by create_time 01:00
        Failure("early", "qwen3-14b", "FAILED", "InvalidDataset", "line 3: bad", pendulum.datetime(2026, 11, 20, 3)),
        Failure("late", "qwen3-14b", "FAILED", "TrainingFailed", "diverged", pendulum.datetime(2026, 11, 20, 9)),
    )
    assert table(report.markdown_text(), "Failures") == [
        ["Job id", "Base model", "Status", "Code", "Message", "End time"],
        ["no-code", "(unknown)", "FAILED", "", "", ""],
        ["early", "qwen3-14b", "FAILED", "InvalidDataset", "line 3: bad", "2026-11-20T03:00:00+00:00"],
        ["late", "qwen3-14b", "FAILED", "TrainingFailed", "diverged", "2026-11-20T09:00:00+00:00"],
    ]
    assert "Failures: 3: no-code -; early InvalidDataset: line 3: bad; late TrainingFailed: diverged" in (
        report.summary_text()
    )


# ------------------------------------------------------------------------------------------------------------
# The files
# ------------------------------------------------------------------------------------------------------------
NASTY = 'bad | value, "quoted"\nsecond line \\| <b>bold</b> `code` *star* 数据'


def test_markdown_escapes_pipes_newlines_and_markup_in_cells(make_job, window):
    report = build_report(
        [make_job("ft-1", "FAILED", ended="2026-11-20T02:00:00", code="Bad|Code", message=NASTY)], *window
    )
    rows = [line for line in section(report.markdown_text(), "Failures") if line.startswith("|")]
    assert len(rows) == 3
    cells = md_cells(rows[2])
    assert len(cells) == 6  # the pipes in the code and message did not open new columns
    assert cells[3] == r"Bad\|Code"
    assert cells[4] == r'bad \| value, "quoted" second line \\\| \<b\>bold\</b\> \`code\` \*star\* 数据'
    assert md_unescape(cells[4]) == " ".join(NASTY.split())
    assert "\n" not in md_escape("a\r\nb") and md_escape("a\r\nb") == "a b"


def test_csv_round_trips_through_dictreader(make_job, window, tmp_path):
    jobs = [
        make_job(
            "ft-b",
            "FAILED",
            created="2026-11-20T02:00:00",
            ended="2026-11-20T02:05:00",
            base_model="qwen3-8b",
            model="qwen3-8b-instruct",
            code="InvalidDataset",
            message=NASTY,
            job_name="nightly, v2",
        ),
        make_job("ft-a", "RUNNING", created="2026-11-20T01:00:00"),
        make_job("ft-c", "SUCCEEDED", created="2026-11-20T03:00:00", ended="2026-11-20T04:30:00", usage=123_456),
    ]
    files = write_report(build_report(jobs, *window), str(tmp_path), "r")
    with open(files.csv_path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert tuple(reader.fieldnames) == CSV_COLUMNS
        rows = list(reader)
    assert rows == [
        {
            "job_id": "ft-a",
            "job_name": "",
            "status": "RUNNING",
            "model": "qwen3-14b",
            "base_model": "qwen3-14b",
            "create_time": "2026-11-20T01:00:00+00:00",
            "end_time": "",
            "duration_seconds": "",
            "usage": "",
            "code": "",
            "message": "",
            "finetuned_output": "",
        },
        {
            "job_id": "ft-b",
            "job_name": "nightly, v2",
            "status": "FAILED",
            "model": "qwen3-8b-instruct",
            "base_model": "qwen3-8b",
            "create_time": "2026-11-20T02:00:00+00:00",
            "end_time": "2026-11-20T02:05:00+00:00",
            "duration_seconds": "300",
            "usage": "",
            "code": "InvalidDataset",
            "message": NASTY,
            "finetuned_output": "",
        },
        {
            "job_id": "ft-c",
            "job_name": "",
            "status": "SUCCEEDED",
            "model": "qwen3-14b",
            "base_model": "qwen3-14b",
            "create_time": "2026-11-20T03:00:00+00:00",
            "end_time": "2026-11-20T04:30:00+00:00",
            "duration_seconds": "5400",
            "usage": "123456",
            "code": "",
            "message": "",
            "finetuned_output": "",
        },
    ]


def test_times_are_written_in_the_zone_of_the_window(make_job):
    shanghai = pendulum.timezone("Asia/Shanghai")
    start = pendulum.datetime(2026, 11, 20, tz=shanghai)
    report = build_report(
        [make_job("a", created="2026-11-20T01:00:00", ended="2026-11-20T02:00:00")], start, start + timedelta(days=1)
    )
    row = next(csv.DictReader(io.StringIO(report.csv_text())))
    assert (row["create_time"], row["end_time"]) == ("2026-11-20T09:00:00+08:00", "2026-11-20T10:00:00+08:00")


def test_the_same_jobs_in_any_order_give_identical_files(make_job, window, tmp_path):
    jobs = [
        make_job(
            f"ft-{i:02d}",
            random.Random(i).choice(KNOWN),
            created=f"2026-11-20T{i % 3:02d}:00:00",
            ended=f"2026-11-20T{i % 3 + 1:02d}:00:00",
            base_model=f"m{i % 4}",
            usage=i * 10,
            code=f"C{i}",
            message=f"m{i}",
        )
        for i in range(12)
    ]
    shuffled = list(jobs)
    random.Random(5).shuffle(shuffled)
    one = write_report(build_report(jobs, *window), str(tmp_path / "one"), "r")
    two = write_report(build_report(shuffled, *window), str(tmp_path / "two"), "r")
    for a, b in ((one.csv_path, two.csv_path), (one.markdown_path, two.markdown_path)):
        with open(a, "rb") as fa, open(b, "rb") as fb:
            assert fa.read() == fb.read()
    # several jobs share a create_time: the job id breaks the tie
    assert ids(build_report(shuffled, *window))[:4] == ["ft-00", "ft-03", "ft-06", "ft-09"]


def test_markdown_has_the_four_sections_in_order(make_job, window, tmp_path):
    jobs = [
        make_job("ft-ok", created="2026-11-20T01:00:00", ended="2026-11-20T02:00:00", usage=42),
        make_job(
            "ft-bad",
            "FAILED",
            created="2026-11-20T03:00:00",
            ended="2026-11-20T03:00:30",
            code="TrainingFailed",
            message="loss is NaN",
        ),
    ]
    files = write_report(build_report(jobs, *window), str(tmp_path / "new" / "dir"), "dashscope_finetune_report_x")
    assert os.path.basename(files.markdown_path) == "dashscope_finetune_report_x.md"
    with open(files.markdown_path, encoding="utf-8") as fh:
        text = fh.read()
    assert (
        text
        == """\
# DashScope fine-tune report

## Summary

- Window: 2026-11-20T00:00:00+00:00 (inclusive) to 2026-11-21T00:00:00+00:00 (exclusive), by job create_time
- Jobs created in the window: 2
- Jobs listed: 2; without a create_time (undated, not in any window): 0
- Tokens used: 42
- Models produced: 0
- Failures: 1

| Status | Jobs |
| --- | ---: |
| SUCCEEDED | 1 |
| FAILED | 1 |

## Change against the previous period

The previous period: 2026-11-19T00:00:00+00:00 to 2026-11-20T00:00:00+00:00, of the same length.

|  | This period | Previous period | Change |
| --- | ---: | ---: | ---: |
| Jobs | 2 | 0 | +2 (none before) |
| Tokens | 42 | 0 | +42 (none before) |
| Failures | 1 | 0 | +1 (none before) |

## Tokens per base model

| Base model | Jobs | Jobs with usage | Tokens |
| --- | ---: | ---: | ---: |
| qwen3-14b | 2 | 1 | 42 |
| Total | 2 | 1 | 42 |

## Job durations

Wall time from create_time to end_time, for jobs in a terminal status (SUCCEEDED, FAILED, CANCELED). It \
includes the time a job waited (PENDING, QUEUING) before it trained: the API gives no training start time, so \
queue time and training time cannot be told apart.

| Base model | Jobs | Min | Median | Max | Total |
| --- | ---: | ---: | ---: | ---: | ---: |
| qwen3-14b | 2 | 30 s | 30 min | 1 h 00 min | 1 h 00 min |
| (all) | 2 | 30 s | 30 min | 1 h 00 min | 1 h 00 min |

## Models produced

No job of the window produced a model (none SUCCEEDED).

## Failures

| Job id | Base model | Status | Code | Message | End time |
| --- | --- | --- | --- | --- | --- |
| ft-bad | qwen3-14b | FAILED | TrainingFailed | loss is NaN | 2026-11-20T03:00:30+00:00 |
"""
    )


def test_summary_text_is_a_few_lines_with_the_numbers(make_job, window):
    jobs = [
        make_job("ft-ok", created="2026-11-20T01:00:00", ended="2026-11-20T02:00:00", usage=42),
        make_job("ft-run", "RUNNING", base_model="qwen3-8b"),
    ]
    assert build_report(jobs, *window).summary_text().splitlines() == [
        "DashScope fine-tune report for [2026-11-20T00:00:00+00:00, 2026-11-21T00:00:00+00:00): "
        "2 job(s) created in the window (2 listed, 0 undated)",
        "By status: RUNNING 1, SUCCEEDED 1",
        "Tokens used: 42 (qwen3-14b 42 (1 job(s)), qwen3-8b 0 (1 job(s)))",
        "Wall time of 1 finished job(s), queueing included: min 1 h 00 min, median 1 h 00 min, max 1 h 00 min, "
        "total 1 h 00 min",
        "Failures: 0",
        "Against the previous period: jobs +2 (none before), tokens +42 (none before), failures 0",
    ]


def test_as_dict_is_small_and_json_safe(make_job, window):
    report = build_report([make_job("a", usage=5), make_job("b", "FAILED", base_model="m2")], *window)
    data = json.loads(json.dumps(report.as_dict()))
    assert data == {
        "window_start": "2026-11-20T00:00:00+00:00",
        "window_end": "2026-11-21T00:00:00+00:00",
        "total_jobs": 2,
        "listed_jobs": 2,
        "undated_jobs": 0,
        "status_counts": {"SUCCEEDED": 1, "FAILED": 1},
        "total_tokens": 5,
        "tokens_by_base_model": {"m2": 0, "qwen3-14b": 5},
        "failures": 1,
        "models_produced": [],
        "previous_period": {"jobs": 0, "tokens": 0, "failures": 0},
    }


def test_report_basename_and_default_directory():
    assert report_basename(pendulum.datetime(2026, 11, 20, tz="UTC")) == "dashscope_finetune_report_20261120"
    assert report_basename(pendulum.datetime(2026, 11, 20, 6, 30, tz="UTC")) == (
        "dashscope_finetune_report_20261120T063000"
    )
    assert default_report_dir({"DASHSCOPE_REPORT_DIR": "/r", "AIRFLOW_HOME": "/h"}) == "/r"
    assert default_report_dir({"AIRFLOW_HOME": "/h"}) == os.path.join("/h", "dashscope_reports")
    assert default_report_dir({}).endswith(os.sep + "dashscope_reports")


# ------------------------------------------------------------------------------------------------------------
# Invariants over arbitrary jobs
# ------------------------------------------------------------------------------------------------------------
_job_strategy = st.builds(
    lambda i, status, created, run, usage, model: FineTuneJob(
        job_id=f"ft-{i}",
        status=JobStatus.parse(status),
        base_model=model,
        create_time=None if created is None else pendulum.datetime(2026, 11, 19, tz="UTC").add(minutes=created),
        end_time=None
        if created is None or run is None
        else pendulum.datetime(2026, 11, 19, tz="UTC").add(minutes=created + run),
        usage=usage,
    ),
    st.integers(0, 10**6),
    st.sampled_from([*KNOWN, "PAUSED"]),
    st.one_of(st.none(), st.integers(0, 3 * 24 * 60)),
    st.one_of(st.none(), st.integers(0, 600)),
    st.one_of(st.none(), st.integers(0, 10**6)),
    st.sampled_from([None, "qwen3-8b", "qwen3-14b"]),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_job_strategy, max_size=25, unique_by=lambda j: j.job_id))
def test_the_tables_add_up(jobs):
    start, end = pendulum.datetime(2026, 11, 20, tz="UTC"), pendulum.datetime(2026, 11, 21, tz="UTC")
    report = build_report(jobs, start, end)
    inside = [j for j in jobs if j.create_time is not None and start <= j.create_time < end]
    assert report.listed == len(jobs)
    assert report.undated == sum(1 for j in jobs if j.create_time is None)
    assert sum(n for _, n in report.status_counts) == report.total_jobs == len(inside)
    assert sum(t.jobs for t in report.tokens) == len(inside)
    assert report.total_tokens == sum(j.usage or 0 for j in inside)
    assert (
        report.overall_durations.count
        == sum(1 for j in inside if j.is_terminal and j.end_time is not None)
        == sum(d.count for d in report.durations[:-1])
    )
    assert len(report.failures) == sum(1 for j in inside if j.status == JobStatus.FAILED)
    assert len(report.csv_text().splitlines()) == 1 + len(inside)
