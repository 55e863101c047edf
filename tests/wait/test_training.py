"""The training-log parser and the progress tracker, driven by plain strings and numbers (no socket, no Airflow)."""

from __future__ import annotations

import logging
import random

import pytest

from airflow_provider_dashscope._settings import every_polls_setting
from airflow_provider_dashscope.exceptions import NotFoundError, ServiceUnavailableError
from airflow_provider_dashscope.models import FineTuneJob
from airflow_provider_dashscope.wait.machine import FetchLogs
from airflow_provider_dashscope.wait.outcomes import Outcome
from airflow_provider_dashscope.wait.progress import READ_LINES, TAIL_LINES, TrainingProgress, format_duration
from airflow_provider_dashscope.wait.training_log import LogSlice, TrainingRecord, n_epochs_of, parse_line

JOB_ID = "ft-202410291653-1c7f"
T0 = 1_000_000.0


def last_poll() -> float:
    """A random source that puts a tracker's first read at the last poll it may come at (``every_polls``)."""
    return 0.999


#: Lines as the API's own example and the emulator write them.
LOG = [
    "2024-10-29 16:53:53,000 - INFO - fine-tune job ft-202410291653-1c7f submitted: model=qwen3-14b",
    "2024-10-29 16:54:10,000 - INFO - start training ft-202410291653-1c7f on qwen3-14b",
    "2024-10-29 16:54:11,000 - INFO - {'loss': 2.5500, 'learning_rate': 1e-05, 'epoch': 0.5, 'step': 10}",
    "2024-10-29 16:54:12,000 - INFO - {'loss': 1.2000, 'learning_rate': 1e-05, 'epoch': 1.0, 'step': 20}",
    "{'train_runtime': 216.3999, 'train_samples_per_second': 1.2, 'train_loss': 1.8, 'epoch': 3.0}",
    " Actual number of consumed tokens is 279808!",
    "2024-10-29 17:11:25,130 - INFO - training usage 279808",
    "2024-10-29 17:11:25,175 - INFO - ##FT_COMPLETE##",
]


def job(status: str = "RUNNING", **fields) -> FineTuneJob:
    fields.setdefault("hyper_parameters", {"n_epochs": 3})
    return FineTuneJob.from_api({"job_id": JOB_ID, "status": status, **fields}, "req-1")


def messages(lines) -> list[str]:
    return [line.message % line.args for line in lines]


# ----------------------------------------------------------------------------------------------------------------
# The parser
# ----------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "record"),
    [
        (LOG[2], TrainingRecord(epoch=0.5, step=10, loss=2.55, learning_rate=1e-05)),
        (
            "{'loss': 1.23, 'learning_rate': 1e-05, 'epoch': 0.5}",
            TrainingRecord(epoch=0.5, loss=1.23, learning_rate=1e-5),
        ),
        (LOG[4], TrainingRecord(epoch=3.0, train_runtime=216.3999)),
        (LOG[5], TrainingRecord(tokens=279808)),
        (LOG[6], TrainingRecord(tokens=279808)),
        (LOG[7], TrainingRecord(complete=True)),
        ("{'eval_loss': 0.9, 'epoch': 2}", TrainingRecord(epoch=2.0)),
        ("{'step': 7.0}", TrainingRecord(step=7)),
    ],
)
def test_trainer_style_lines_are_read(text, record):
    assert parse_line(text) == record


@pytest.mark.parametrize(
    "text",
    [
        LOG[0],
        LOG[1],
        "",
        "{",
        "}{",
        "{'loss': nan, 'epoch': 1}",  # not a Python literal: skipped, not an error
        "{'loss': 'high', 'epoch': True}",  # no number where one is expected
        "{'grad_norm': 3.1}",  # nothing this tracker reports
        "[1, 2, 3]",
        "{1, 2}",
        "{'loss': " + "[" * 500 + "]" * 500 + "}",
        "{'epoch': 1e999}",  # infinite
        "x" * 5000 + "{'loss': 1.0}",  # longer than any real line
        None,
        42,
    ],
)
def test_lines_it_does_not_understand_are_skipped_never_an_error(text):
    assert parse_line(text) is None


@pytest.mark.parametrize(
    ("hyper", "expected"),
    [({"n_epochs": 3}, 3.0), ({"n_epochs": "2"}, 2.0), ({"n_epochs": 0}, None), ({"n_epochs": "x"}, None), ({}, None)],
)
def test_n_epochs_is_read_from_the_jobs_hyperparameters(hyper, expected):
    assert n_epochs_of(hyper) == expected


@pytest.mark.parametrize(("seconds", "text"), [(5, "5 s"), (59.4, "59 s"), (600, "10 min"), (3900, "1 h 05 min")])
def test_durations_read_like_a_person_writes_them(seconds, text):
    assert format_duration(seconds) == text


# ----------------------------------------------------------------------------------------------------------------
# What to read, and when
# ----------------------------------------------------------------------------------------------------------------
def started(every_polls: int = 1, at: int = 2) -> TrainingProgress:
    """A tracker that has learnt the log ends at line ``at``."""
    p = TrainingProgress(JOB_ID, every_polls=every_polls, rand=last_poll)
    read = None
    while read is None:
        p.on_answer(job(), "RUNNING", T0)
        read = p.next_read()
    p.on_logs(LogSlice(0, at, ()), T0)
    return p


def test_a_wait_that_starts_on_a_running_job_first_learns_where_the_log_ends():
    p = TrainingProgress(JOB_ID, every_polls=5, rand=last_poll)
    for i in range(4):
        p.on_answer(job(), "RUNNING", T0 + i)
        assert p.next_read() is None
    p.on_answer(job(), "RUNNING", T0 + 4)
    assert p.next_read() == FetchLogs(0, 1)  # the fifth RUNNING answer: one line, for where the log ends
    assert p.on_logs(LogSlice(0, 400, (LOG[0],)), T0 + 4) == []
    assert p.offset == 400  # the next read starts at the end of the log: nothing is replayed from line 0


def test_a_wait_that_saw_the_job_before_it_trained_reads_its_log_from_the_start_without_asking_where_it_ends():
    p = TrainingProgress(JOB_ID, every_polls=2, rand=last_poll)
    p.on_answer(job("PENDING"), "PENDING", T0)
    p.on_answer(job("QUEUING"), "QUEUING", T0 + 1)
    p.on_answer(job(), "RUNNING", T0 + 2)
    assert p.next_read() is None
    p.on_answer(job(), "RUNNING", T0 + 3)
    assert p.next_read() == FetchLogs(0, READ_LINES)
    assert messages(p.on_logs(LogSlice(0, 3, tuple(LOG[:3])), T0 + 3)) == [
        f"Fine-tune job {JOB_ID} training: epoch 0.50/3 (17%), step 10, loss 2.5500"
    ]


@pytest.mark.parametrize(("rand", "first"), [(0.0, 1), (0.5, 3), (0.999, 5)])
def test_the_first_read_comes_after_a_random_number_of_running_answers_up_to_the_cadence(rand, first):
    p = TrainingProgress(JOB_ID, every_polls=5, rand=lambda: rand)
    answers = 0
    read = None
    while read is None:
        answers += 1
        p.on_answer(job(), "RUNNING", T0 + answers)
        read = p.next_read()
    assert answers == first


def test_waits_started_together_spread_their_first_reads_over_the_cadence():
    rng = random.Random(11)
    firsts = []
    for _ in range(300):
        p = TrainingProgress(JOB_ID, every_polls=10, rand=rng.random)
        answers = 0
        while p.next_read() is None:
            answers += 1
            p.on_answer(job(), "RUNNING", T0 + answers)
        firsts.append(answers)
    assert set(firsts) == set(range(1, 11))  # every poll of the first ten takes a share, none beyond


def test_later_reads_come_once_every_n_training_polls_and_ask_only_for_new_lines():
    p = started(every_polls=3, at=2)
    reads = []
    for i in range(1, 10):
        p.on_answer(job(), "RUNNING", T0 + i)
        read = p.next_read()
        reads.append(read)
        if read is not None:
            p.on_logs(LogSlice(read.offset, read.offset, ()), T0 + i)
    assert [i + 1 for i, r in enumerate(reads) if r is not None] == [3, 6, 9]
    assert all(r == FetchLogs(2, READ_LINES) for r in reads if r is not None)


def test_nothing_is_read_outside_running():
    p = TrainingProgress(JOB_ID, every_polls=1, rand=last_poll)
    for status in ("PENDING", "QUEUING", "CANCELING"):
        p.on_answer(job(status), status, T0)
        assert p.next_read() is None


def read_next(p: TrainingProgress, total: int, lines: list[str], now: float, offset: int | None = None) -> list[str]:
    p.on_answer(job(), "RUNNING", now)
    read = p.next_read()
    assert read is not None
    start = read.offset if offset is None else offset
    return messages(p.on_logs(LogSlice(start, total, tuple(lines)), now))


def test_a_progress_line_says_epoch_share_step_and_loss_then_time_left_once_the_pace_is_known():
    p = started()
    assert read_next(p, 3, [LOG[2]], T0 + 60) == [
        f"Fine-tune job {JOB_ID} training: epoch 0.50/3 (17%), step 10, loss 2.5500"
    ]
    # 0.5 epoch in 60 s: the remaining 2 epochs take about 4 minutes.
    assert read_next(p, 4, [LOG[3]], T0 + 120) == [
        f"Fine-tune job {JOB_ID} training: epoch 1.00/3 (33%), step 20, loss 1.2000, about 4 min left"
    ]


def test_the_pace_is_taken_between_reads_not_between_lines_of_one_read():
    p = started()
    many = [f"{{'loss': 2.0, 'epoch': {e}, 'step': {int(e * 20)}}}" for e in (0.1, 0.2, 0.3, 0.4, 0.5)]
    read_next(p, 7, many, T0 + 60)  # five epochs read at once: no pace yet
    # From 0.5 to 1.0 epoch in 60 s: the 2 epochs left take 4 minutes.
    assert read_next(p, 8, [LOG[3]], T0 + 120)[0].endswith("about 4 min left")


def test_no_line_when_training_has_not_moved_on():
    p = started()
    read_next(p, 3, [LOG[2]], T0 + 60)
    assert read_next(p, 3, [], T0 + 120) == []
    assert read_next(p, 4, [LOG[1]], T0 + 180) == []  # a line that says nothing new


def test_lines_already_read_are_not_read_twice():
    p = started(at=2)
    read_next(p, 3, [LOG[2]], T0 + 60)
    # An answer that starts before this tracker's offset (a read shared with another wait): only its new lines count.
    lines = read_next(p, 4, [LOG[1], LOG[2], LOG[3]], T0 + 120, offset=1)
    assert lines and "epoch 1.00/3" in lines[0]
    assert p.offset == 4


def test_a_log_that_grew_by_more_than_one_read_skips_to_its_latest_lines():
    p = started(at=2)
    read_next(p, 5000, [LOG[2]] * READ_LINES, T0 + 60)
    assert p.offset == 5000 - TAIL_LINES
    p.on_answer(job(), "RUNNING", T0 + 120)
    assert p.next_read() == FetchLogs(5000 - TAIL_LINES, READ_LINES)


def test_without_n_epochs_the_epoch_is_shown_without_share_or_time_left():
    p = TrainingProgress(JOB_ID, every_polls=1, rand=last_poll)
    p.on_answer(job(hyper_parameters={}), "RUNNING", T0)
    p.next_read()
    p.on_logs(LogSlice(0, 2, ()), T0)
    p.on_answer(job(hyper_parameters={}), "RUNNING", T0 + 60)
    p.next_read()
    assert messages(p.on_logs(LogSlice(2, 3, (LOG[2],)), T0 + 60)) == [
        f"Fine-tune job {JOB_ID} training: epoch 0.50, step 10, loss 2.5500"
    ]


# ----------------------------------------------------------------------------------------------------------------
# Best effort
# ----------------------------------------------------------------------------------------------------------------
def busy() -> ServiceUnavailableError:
    return ServiceUnavailableError("busy", status_code=503, code="ServiceUnavailable")


def test_a_failed_read_warns_once_per_streak_and_the_next_read_tries_again():
    p = started()
    p.on_answer(job(), "RUNNING", T0 + 1)
    p.next_read()
    first = p.on_logs(busy(), T0 + 1)
    p.on_answer(job(), "RUNNING", T0 + 2)
    p.next_read()
    second = p.on_logs(busy(), T0 + 2)
    assert [line.level for line in first] == [logging.WARNING]
    assert "could not read the training log" in messages(first)[0]
    assert [line.level for line in second] == [logging.DEBUG]
    assert read_next(p, 3, [LOG[2]], T0 + 3)  # works again
    assert p.enabled


def test_an_answer_that_cannot_succeed_later_turns_progress_off_for_the_wait():
    p = started()
    p.on_answer(job(), "RUNNING", T0 + 1)
    p.next_read()
    lines = p.on_logs(NotFoundError("no logs", status_code=404, code="NotFound"), T0 + 1)
    assert [line.level for line in lines] == [logging.WARNING]
    assert "no progress lines for this wait" in messages(lines)[0]
    for i in range(10):
        p.on_answer(job(), "RUNNING", T0 + 2 + i)
        assert p.next_read() is None


def test_a_bug_in_a_read_turns_progress_off_with_its_traceback():
    p = started()
    p.on_answer(job(), "RUNNING", T0 + 1)
    p.next_read()
    error = KeyError("total")
    lines = p.on_logs(error, T0 + 1)
    assert lines[0].error is error
    assert not p.enabled


# ----------------------------------------------------------------------------------------------------------------
# The end
# ----------------------------------------------------------------------------------------------------------------
def test_a_success_reads_the_end_of_the_log_once_then_sums_up():
    p = started(at=2)
    read_next(p, 4, LOG[2:4], T0 + 60)
    assert p.on_end(job("SUCCEEDED", usage=279808), Outcome.SUCCESS) == []
    assert p.summary_due
    read = p.next_read()
    assert read == FetchLogs(4, READ_LINES, final=True)
    assert p.on_logs(LogSlice(4, 8, tuple(LOG[4:])), T0 + 300) == []
    assert not p.summary_due
    assert messages(p.summary(job("SUCCEEDED", usage=279808))) == [
        f"Fine-tune job {JOB_ID} finished training: trained for 4 min, 279808 tokens, final loss 1.2000"
    ]


def test_a_success_with_an_unknown_end_of_log_reads_it_in_two_steps():
    p = TrainingProgress(JOB_ID, every_polls=1, rand=last_poll)
    p.on_answer(job(), "RUNNING", T0)
    p.next_read()
    p.on_logs(busy(), T0)  # the first read failed: the end of the log is not known
    p.on_end(job("SUCCEEDED"), Outcome.SUCCESS)
    assert p.next_read() == FetchLogs(0, 1, final=True)
    p.on_logs(LogSlice(0, 8, (LOG[0],)), T0 + 1)
    assert p.next_read() == FetchLogs(0, READ_LINES, final=True)  # the last TAIL_LINES lines (the log has 8)
    p.on_logs(LogSlice(0, 8, tuple(LOG)), T0 + 2)
    assert not p.summary_due
    assert "final loss 1.2000" in messages(p.summary(job("SUCCEEDED")))[0]


def test_a_success_never_seen_training_gives_no_read_and_no_summary():
    p = TrainingProgress(JOB_ID, rand=last_poll)
    p.on_answer(job("PENDING"), "PENDING", T0)
    assert p.on_end(job("SUCCEEDED"), Outcome.SUCCESS) == []
    assert not p.summary_due and p.next_read() is None


@pytest.mark.parametrize("outcome", [Outcome.FAILED, Outcome.CANCELLED])
def test_a_job_that_did_not_succeed_gets_no_summary(outcome):
    p = started()
    assert p.on_end(job("FAILED"), outcome) == []
    assert not p.summary_due


def test_when_the_log_cannot_be_read_the_summary_comes_from_the_job_alone():
    p = started()
    p.on_answer(job(), "RUNNING", T0 + 1)
    p.next_read()
    p.on_logs(NotFoundError("no logs", status_code=404, code="NotFound"), T0 + 1)
    ended = job("SUCCEEDED", usage=5000, create_time="2024-10-29 16:00:00", end_time="2024-10-29 17:05:00")
    assert messages(p.on_end(ended, Outcome.SUCCESS)) == [
        f"Fine-tune job {JOB_ID} finished training: took 1 h 05 min from creation, 5000 tokens"
    ]


def test_a_failed_last_read_still_gives_the_summary_from_what_is_known():
    p = started()
    read_next(p, 3, [LOG[2]], T0 + 60)
    p.on_end(job("SUCCEEDED", usage=10), Outcome.SUCCESS)
    p.next_read()
    p.on_logs(busy(), T0 + 61)
    assert not p.summary_due
    assert messages(p.summary(job("SUCCEEDED", usage=10))) == [
        f"Fine-tune job {JOB_ID} finished training: 10 tokens, final loss 2.5500"
    ]


# ----------------------------------------------------------------------------------------------------------------
# The setting
# ----------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("value", "expected"), [(None, 10), ("3", 3), ("1", 1), ("0", 10), ("-2", 10), ("often", 10)])
def test_the_cadence_is_an_airflow_setting_with_a_safe_default(monkeypatch, value, expected):
    monkeypatch.delenv("AIRFLOW__DASHSCOPE__TRAINING_PROGRESS_EVERY_POLLS", raising=False)
    if value is not None:
        monkeypatch.setenv("AIRFLOW__DASHSCOPE__TRAINING_PROGRESS_EVERY_POLLS", value)
    assert every_polls_setting() == expected


@pytest.mark.parametrize("every", [0, -1, 1.5, True])
def test_a_bad_cadence_is_refused_by_the_tracker(every):
    with pytest.raises(ValueError, match="every_polls"):
        TrainingProgress(JOB_ID, every_polls=every)


def test_the_summary_of_a_job_with_validation_files_has_its_final_eval_loss():
    p = started(at=2)
    read_next(p, 4, LOG[2:4], T0 + 60)
    p.on_end(job("SUCCEEDED", usage=10), Outcome.SUCCESS)
    p.next_read()
    evaluated = (
        "2024-10-29 17:10:00,000 - INFO - {'eval_loss': 0.8123, 'eval_runtime': 1.2, 'epoch': 3.0}",
        "2024-10-29 17:11:25,175 - INFO - ##FT_COMPLETE##",
    )
    p.on_logs(LogSlice(4, 6, evaluated), T0 + 300)
    assert p.eval_loss == 0.8123
    assert messages(p.summary(job("SUCCEEDED", usage=10)))[0].endswith("final loss 1.2000, final eval_loss 0.8123")
