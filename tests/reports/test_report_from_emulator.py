"""A report built through the real hook from seeded emulator jobs (real HTTP on 127.0.0.1), numbers asserted."""

from __future__ import annotations

import csv

from airflow_provider_dashscope.hooks.dashscope import DashScopeHook
from airflow_provider_dashscope.reports import build_report, report_basename, write_report

# The window is the UTC day 2026-11-20, i.e. 2026-11-20 08:00:00 to 2026-11-21 08:00:00 in the emulator's
# Beijing time (UTC+8), in which create_time and end_time are written below. Statuses are pinned, so the
# emulator's clock does not matter; end_time and usage are fixed by the seed.
IN_WINDOW = [
    # job_id suffix, base model, status, create, end, usage, code, message
    ("a001", "qwen3-14b", "SUCCEEDED", "2026-11-20 08:00:00", "2026-11-20 09:00:00", 120_000, None, None),
    ("a002", "qwen3-14b", "SUCCEEDED", "2026-11-20 10:00:00", "2026-11-20 10:30:00", 60_000, None, None),
    (
        "a003",
        "qwen3-14b",
        "FAILED",
        "2026-11-20 11:00:00",
        "2026-11-20 11:05:00",
        None,
        "InvalidDataset",
        "line 12: missing | messages",
    ),
    ("a004", "qwen3-14b", "CANCELED", "2026-11-20 12:00:00", "2026-11-20 12:20:00", 5_000, None, None),
    ("a005", "qwen3-14b", "RUNNING", "2026-11-20 13:00:00", None, None, None, None),
    ("a006", "qwen3-14b", "SUCCEEDED", "2026-11-21 07:59:59", "2026-11-21 09:59:59", 250_000, None, None),
    ("b001", "qwen3-8b", "SUCCEEDED", "2026-11-20 09:15:00", "2026-11-20 09:45:00", 40_000, None, None),
    ("b002", "qwen3-8b", "SUCCEEDED", "2026-11-20 14:00:00", "2026-11-20 15:00:00", 80_000, None, None),
    (
        "b003",
        "qwen3-8b",
        "FAILED",
        "2026-11-20 15:00:00",
        "2026-11-20 15:01:40",
        None,
        "TrainingFailed",
        "The fine-tuning job failed during training.",
    ),
    ("b004", "qwen3-8b", "CANCELED", "2026-11-20 16:00:00", "2026-11-20 16:00:30", 0, None, None),
    ("b005", "qwen3-8b", "RUNNING", "2026-11-20 17:00:00", None, None, None, None),
    ("c001", "qwen2.5-7b-instruct", "SUCCEEDED", "2026-11-20 18:00:00", "2026-11-20 20:00:00", 300_000, None, None),
    (
        "c002",
        "qwen2.5-7b-instruct",
        "FAILED",
        "2026-11-20 19:00:00",
        "2026-11-20 19:10:00",
        None,
        "Throttling.Allocation",
        "no GPU capacity",
    ),
    ("c003", "qwen2.5-7b-instruct", "QUEUING", "2026-11-20 20:00:00", None, None, None, None),
    ("c004", "qwen2.5-7b-instruct", "PENDING", "2026-11-20 21:00:00", None, None, None, None),
    ("c005", "qwen2.5-7b-instruct", "SUCCEEDED", "2026-11-20 22:00:00", "2026-11-20 23:00:00", 150_000, None, None),
    ("c006", "qwen2.5-7b-instruct", "CANCELING", "2026-11-20 23:00:00", None, None, None, None),
]
OUTSIDE = [
    ("o001", "qwen3-14b", "SUCCEEDED", "2026-11-20 07:59:59", "2026-11-20 09:00:00", 999_999, None, None),
    ("o002", "qwen3-8b", "SUCCEEDED", "2026-11-21 08:00:00", "2026-11-21 09:00:00", 888_888, None, None),
    ("o003", "qwen3-8b", "FAILED", "2026-11-19 12:00:00", "2026-11-19 12:10:00", None, "TrainingFailed", "x"),
    ("o004", "qwen3-14b", "SUCCEEDED", "2026-11-22 10:00:00", "2026-11-22 11:00:00", 777, None, None),
    ("o005", "qwen3-14b", "RUNNING", "2026-11-22 11:00:00", None, None, None, None),
    ("o006", "qwen2.5-7b-instruct", "CANCELED", "2026-11-01 10:00:00", "2026-11-01 10:05:00", 66, None, None),
]


def seed_spec(suffix, base_model, status, created, ended, usage, code, message) -> dict:
    spec = {
        "job_id": f"ft-202611200800-{suffix}",
        "job_name": f"report-{suffix}",
        "model": base_model,
        "status": status,
        "pin": True,
        "create_time": created,
    }
    for key, value in (("end_time", ended), ("usage", usage), ("code", code), ("message", message)):
        if value is not None:
            spec[key] = value
    return spec


def test_report_through_the_hook_pages_every_job_and_gets_the_numbers(emulator_connection, window, tmp_path):
    emu = emulator_connection
    emu.seed([seed_spec(*row) for row in IN_WINDOW + OUTSIDE])
    assert len(IN_WINDOW + OUTSIDE) == 23

    hook = DashScopeHook()
    report = build_report(hook.iter_fine_tune_jobs(page_size=10), *window)
    files = write_report(report, str(tmp_path), report_basename(window[0]))

    assert emu.request_count("GET", "/fine-tunes") == 3  # 10 + 10 + 3
    assert (report.listed, report.undated, report.total_jobs) == (23, 0, 17)
    assert files.csv_path == str(tmp_path / "dashscope_finetune_report_20261120.csv")

    # --- CSV: one row per job in the window, oldest first, times in UTC
    with open(files.csv_path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["job_id"][-4:] for r in rows] == [
        "a001",
        "b001",
        "a002",
        "a003",
        "a004",
        "a005",
        "b002",
        "b003",
        "b004",
        "b005",
        "c001",
        "c002",
        "c003",
        "c004",
        "c005",
        "c006",
        "a006",
    ]
    by_id = {r["job_id"][-4:]: r for r in rows}
    assert by_id["a001"] == {
        "job_id": "ft-202611200800-a001",
        "job_name": "report-a001",
        "status": "SUCCEEDED",
        "model": "qwen3-14b",
        "base_model": "qwen3-14b",
        "create_time": "2026-11-20T00:00:00+00:00",
        "end_time": "2026-11-20T01:00:00+00:00",
        "duration_seconds": "3600",
        "usage": "120000",
        "code": "",
        "message": "",
        "finetuned_output": "qwen3-14b-ft-202611200800-a001",
    }
    assert (by_id["a006"]["create_time"], by_id["a006"]["duration_seconds"]) == ("2026-11-20T23:59:59+00:00", "7200")
    assert (by_id["a003"]["code"], by_id["a003"]["message"], by_id["a003"]["usage"]) == (
        "InvalidDataset",
        "line 12: missing | messages",
        "",
    )
    assert (by_id["b004"]["usage"], by_id["b004"]["duration_seconds"]) == ("0", "30")
    assert (by_id["c006"]["status"], by_id["c006"]["end_time"], by_id["c006"]["duration_seconds"]) == (
        "CANCELING",
        "",
        "",
    )
    assert sum(int(r["usage"] or 0) for r in rows) == 1_005_000

    # --- Markdown: the same numbers in the four sections
    with open(files.markdown_path, encoding="utf-8") as fh:
        markdown = fh.read()
    assert "- Jobs created in the window: 17\n" in markdown
    assert "- Jobs listed: 23; without a create_time (undated, not in any window): 0\n" in markdown
    assert "- Tokens used: 1,005,000\n" in markdown
    assert (
        "| PENDING | 1 |\n| QUEUING | 1 |\n| RUNNING | 2 |\n| CANCELING | 1 |\n"
        "| SUCCEEDED | 7 |\n| FAILED | 3 |\n| CANCELED | 2 |\n"
    ) in markdown
    assert (
        "| qwen2.5-7b-instruct | 6 | 2 | 450,000 |\n"
        "| qwen3-14b | 6 | 4 | 435,000 |\n"
        "| qwen3-8b | 5 | 3 | 120,000 |\n"
        "| Total | 17 | 9 | 1,005,000 |\n"
    ) in markdown
    assert (
        "| qwen2.5-7b-instruct | 3 | 10 min | 1 h 00 min | 2 h 00 min | 3 h 10 min |\n"
        "| qwen3-14b | 5 | 5 min 00 s | 30 min | 2 h 00 min | 3 h 55 min |\n"
        "| qwen3-8b | 4 | 30 s | 16 min | 1 h 00 min | 1 h 32 min |\n"
        "| (all) | 12 | 30 s | 30 min | 2 h 00 min | 8 h 37 min |\n"
    ) in markdown
    assert markdown.endswith(
        "| ft-202611200800-a003 | qwen3-14b | FAILED | InvalidDataset | line 12: missing \\| messages "
        "| 2026-11-20T03:05:00+00:00 |\n"
        "| ft-202611200800-b003 | qwen3-8b | FAILED | TrainingFailed | The fine-tuning job failed during training. "
        "| 2026-11-20T07:01:40+00:00 |\n"
        "| ft-202611200800-c002 | qwen2.5-7b-instruct | FAILED | Throttling.Allocation | no GPU capacity "
        "| 2026-11-20T11:10:00+00:00 |\n"
    )
    summary = report.summary_text()
    assert "17 job(s) created in the window (23 listed, 0 undated)" in summary
    assert "Tokens used: 1,005,000" in summary
