"""Training progress while a wait runs: a tracker that decides when to read a job's log and what to write (no I/O).

The lines are read by :mod:`.training_log`.

:class:`TrainingProgress` is owned by a :class:`~.machine.WaitMachine`. It reads the log only while the job is
RUNNING, and at most once every ``every_polls`` answered polls:

* the first read comes after a random number of RUNNING answers between 1 and ``every_polls`` (waits that start
  together, e.g. after a triggerer restart, spread their first reads instead of sending them all in one interval),
  then one every ``every_polls``;
* a wait that sees the job before it trains (PENDING, QUEUING) reads its log from the start, which then holds no
  training line yet; any other wait (one that starts on a RUNNING job, or is rebuilt after a triggerer restart)
  first asks for one line, only to learn where the log ends: it starts from the end of the log, never from line 0;
* each read asks for the lines after the last one read (up to :data:`READ_LINES`); when the log grew faster than
  that, it skips ahead to the last :data:`TAIL_LINES` lines, since only the latest state is reported;
* after a read that shows training moved on (epoch, step or loss changed), one INFO line: epoch (and the fraction of
  ``n_epochs``), step, loss and, once two reads at different epochs allow it, the time left;
* when the wait ends with success, one more read (the end of the log) and one summary line: how long training ran,
  the tokens it consumed, the final loss and, for a job given validation files, its final eval loss.

It is best effort: a failed read never touches the wait's failure budget or its outcome. A transient failure is
logged once (WARNING) and the next read tries again; an answer that cannot succeed later (404, 403...) turns the
progress lines off for this wait, with one WARNING.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import Any

from airflow_provider_dashscope._http.retry import is_transient
from airflow_provider_dashscope.exceptions import DashScopeError
from airflow_provider_dashscope.models import FineTuneJob
from airflow_provider_dashscope.wait.evaluation import parse_eval_line
from airflow_provider_dashscope.wait.machine import FetchLogs, LogLine
from airflow_provider_dashscope.wait.outcomes import Outcome
from airflow_provider_dashscope.wait.training_log import LogSlice, TrainingRecord, n_epochs_of, parse_line

#: Read the log at most once every this many answered polls while the job is RUNNING (the Airflow setting
#: ``[dashscope] training_progress_every_polls`` changes it for a deployment: see ``_settings``).
DEFAULT_EVERY_POLLS = 10
#: Lines one read asks for (the API's maximum).
READ_LINES = 1000
#: When the log grew by more than one read, the next read starts this many lines before its end.
TAIL_LINES = 20
#: The status in which a job trains, and those before it.
TRAINING_STATUS = "RUNNING"
BEFORE_TRAINING = frozenset({"PENDING", "QUEUING"})


def format_duration(seconds: float) -> str:
    """``45 s``, ``12 min``, ``1 h 05 min``."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


class TrainingProgress:
    """What a wait reads from a fine-tune job's log and writes about it (see the module docstring)."""

    __slots__ = (
        "_asked", "_due", "_epoch_at", "_failing", "_final", "_first_epoch_at", "_next_after", "_polls", "_reported",
        "_trained",
        "enabled", "epoch", "eval_loss", "every_polls", "job_id", "kind", "loss", "n_epochs", "offset", "runtime",
        "step", "tokens",
    )  # fmt: skip

    def __init__(
        self,
        job_id: str,
        *,
        every_polls: int = DEFAULT_EVERY_POLLS,
        kind: str = "Fine-tune job",
        rand: Callable[[], float] = random.random,
    ) -> None:
        if not isinstance(every_polls, int) or isinstance(every_polls, bool) or every_polls < 1:
            raise ValueError(f"every_polls must be an integer >= 1, got {every_polls!r}")
        self.job_id = job_id
        self.kind = kind
        self.every_polls = every_polls
        #: RUNNING answers before the next read: the first after 1 to ``every_polls``, then ``every_polls``.
        self._next_after = min(every_polls, 1 + int(rand() * every_polls))
        self.enabled = True
        #: Lines already read; ``None`` until the first read said where the log ends.
        self.offset: int | None = None
        self.n_epochs: float | None = None
        self._polls = 0
        self._due = False
        self._asked: FetchLogs | None = None
        self._final = False
        self._failing = False
        self._trained = False
        # The latest state read, what was last written, and the first epoch seen (for the time left).
        self.epoch: float | None = None
        self.step: int | None = None
        self.loss: float | None = None
        self.runtime: float | None = None
        self.tokens: int | None = None
        #: The latest evaluation loss read (a job given validation files logs one at each checkpoint).
        self.eval_loss: float | None = None
        self._epoch_at: tuple[float, float] | None = None
        self._first_epoch_at: tuple[float, float] | None = None
        self._reported: tuple[Any, ...] | None = None

    # ------------------------------------------------------------------------------------------------------------
    # What to read
    # ------------------------------------------------------------------------------------------------------------
    def on_answer(self, job: FineTuneJob, status: str, now: float) -> None:
        """An answered poll whose status does not end the wait: every ``every_polls`` RUNNING answers, a read."""
        if not self.enabled:
            return
        if status != TRAINING_STATUS:
            if status in BEFORE_TRAINING and self.offset is None and not self._trained:
                self.offset = 0  # seen before it trains: all of its log is new to this wait
            return
        self._trained = True
        self.n_epochs = n_epochs_of(job.hyper_parameters) or self.n_epochs
        self._polls += 1
        if self._polls >= self._next_after:
            self._due = True

    def on_end(self, job: FineTuneJob, outcome: Outcome) -> list[LogLine]:
        """The wait ends with ``outcome`` on a polled answer. After a success of a job seen training, the end of the
        log is read once (:attr:`summary_due`) and then :meth:`summary` written; when the log cannot be read, the
        summary comes from the job alone, at once."""
        self._due = False
        if outcome is not Outcome.SUCCESS or not self._trained:
            return []
        self.n_epochs = n_epochs_of(job.hyper_parameters) or self.n_epochs
        if self.enabled:
            self._final = True
            return []
        return self.summary(job)

    @property
    def summary_due(self) -> bool:
        """A last read is wanted before :meth:`summary`."""
        return self._final

    def next_read(self) -> FetchLogs | None:
        """The read to make now, if any (the machine asks before every sleep)."""
        if not self.enabled or not (self._due or self._final) or self._asked is not None:
            return None
        self._due = False
        self._polls = 0
        self._next_after = self.every_polls
        if self.offset is None:
            read = FetchLogs(0, 1, final=self._final)
        else:
            read = FetchLogs(self.offset, READ_LINES, final=self._final)
        self._asked = read
        return read

    # ------------------------------------------------------------------------------------------------------------
    # What came back
    # ------------------------------------------------------------------------------------------------------------
    def on_logs(self, result: LogSlice | BaseException, now: float) -> list[LogLine]:
        """Take what a read brought (or the exception it raised); return the lines to write."""
        asked, self._asked = self._asked, None
        if asked is None:
            raise RuntimeError("on_logs() without an outstanding read")
        if isinstance(result, BaseException):
            return self._on_error(result)
        if self._failing:
            self._failing = False
        if self.offset is None:
            self.offset = result.total
            if asked.final and result.total > 0:  # the end of the log comes in a second read
                self.offset = max(0, result.total - TAIL_LINES)
            else:
                self._final = False
            return []
        first_new = max(0, self.offset - result.offset)
        for text in result.lines[first_new:]:
            record = parse_line(text)
            if record is not None:
                self._take(record)
            metrics = parse_eval_line(text)
            if metrics is not None and "eval_loss" in metrics:
                self.eval_loss = metrics["eval_loss"]
        if self.epoch is not None:  # the pace is taken between reads: the latest epoch of each, at its time
            self._epoch_at = (now, self.epoch)
            if self._first_epoch_at is None:
                self._first_epoch_at = self._epoch_at
        end = result.offset + len(result.lines)
        self.offset = max(self.offset, end)
        if end < result.total:  # the log grew by more than one read: only its latest lines matter
            self.offset = max(self.offset, result.total - TAIL_LINES)
        if asked.final:
            self._final = False
            return []
        return self._progress_line(now)

    def _take(self, record: TrainingRecord) -> None:
        if record.epoch is not None:
            self.epoch = record.epoch
        if record.step is not None:
            self.step = record.step
        if record.loss is not None:
            self.loss = record.loss
        if record.train_runtime is not None:
            self.runtime = record.train_runtime
        if record.tokens is not None:
            self.tokens = record.tokens

    def _on_error(self, error: BaseException) -> list[LogLine]:
        if self._final:
            self._final = False  # the summary comes from the job alone
        if isinstance(error, DashScopeError) and is_transient(error):
            if self._failing:
                return [LogLine(logging.DEBUG, "%s %s: the training log is still unreadable: %s", self._id(error))]
            self._failing = True
            return [
                LogLine(
                    logging.WARNING,
                    "%s %s: could not read the training log (%s); progress lines resume when it can be read",
                    self._id(error),
                )
            ]
        self.enabled = False
        return [
            LogLine(
                logging.WARNING,
                "%s %s: the training log cannot be read (%s); no progress lines for this wait",
                self._id(error),
                None if isinstance(error, DashScopeError) else error,
            )
        ]

    def _id(self, error: BaseException) -> tuple[Any, ...]:
        return (self.kind, self.job_id, error if isinstance(error, DashScopeError) else f"{type(error).__name__}")

    # ------------------------------------------------------------------------------------------------------------
    # What to write
    # ------------------------------------------------------------------------------------------------------------
    def time_left(self) -> float | None:
        """Seconds until the last epoch, from the pace between the first and the latest epoch read."""
        if self.n_epochs is None or self._first_epoch_at is None or self._epoch_at is None:
            return None
        (t0, e0), (t1, e1) = self._first_epoch_at, self._epoch_at
        if t1 <= t0 or e1 <= e0:
            return None
        return max(0.0, (self.n_epochs - e1) * (t1 - t0) / (e1 - e0))

    def _progress_line(self, now: float) -> list[LogLine]:
        state = (self.epoch, self.step, self.loss)
        if state == (None, None, None) or state == self._reported:
            return []
        self._reported = state
        parts = []
        if self.epoch is not None:
            if self.n_epochs:
                share = min(100.0, 100.0 * self.epoch / self.n_epochs)
                parts.append(f"epoch {self.epoch:.2f}/{self.n_epochs:g} ({share:.0f}%)")
            else:
                parts.append(f"epoch {self.epoch:.2f}")
        if self.step is not None:
            parts.append(f"step {self.step}")
        if self.loss is not None:
            parts.append(f"loss {self.loss:.4f}")
        left = self.time_left()
        if left is not None and left > 0:
            parts.append(f"about {format_duration(left)} left")
        return [LogLine(logging.INFO, "%s %s training: %s", (self.kind, self.job_id, ", ".join(parts)))]

    def summary(self, job: FineTuneJob) -> list[LogLine]:
        """The one line written when the wait ends with success."""
        parts = []
        if self.runtime is not None:
            parts.append(f"trained for {format_duration(self.runtime)}")
        elif job.create_time is not None and job.end_time is not None:
            parts.append(f"took {format_duration((job.end_time - job.create_time).total_seconds())} from creation")
        tokens = job.usage if job.usage is not None else self.tokens
        if tokens is not None:
            parts.append(f"{tokens} tokens")
        if self.loss is not None:
            parts.append(f"final loss {self.loss:.4f}")
        if self.eval_loss is not None:
            parts.append(f"final eval_loss {self.eval_loss:.4f}")
        if not parts:
            return []
        return [LogLine(logging.INFO, "%s %s finished training: %s", (self.kind, self.job_id, ", ".join(parts)))]
