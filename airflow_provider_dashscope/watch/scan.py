"""One look at an account's fine-tune jobs through ``GET /fine-tunes`` (newest first), reading only the pages needed.

A job can end long after it was created, so a look must reach back to the oldest job that was not yet ended at the
previous look: its **horizon**. Every job created before the horizon had ended then, and an ended job never changes,
so nothing older needs reading again. :class:`ListScan` reads page after page until a page holds a job created
before the point it was asked to stop at (or the list ends, or :data:`MAX_SCAN_PAGES` pages were read) and gives a
:class:`Snapshot`: the jobs it saw, which creation times it covers completely, and the horizon of the next look.
A look with no stopping point (a watch that starts) reads the whole list, up to the page limit.

Creation times come from the API (seconds); a page boundary may split jobs created in the same second, so a
snapshot claims only the jobs created strictly after the oldest one it read. Jobs without a creation time are kept
and never used to stop.
"""

from __future__ import annotations

from dataclasses import dataclass

import pendulum

from airflow_provider_dashscope.models import FineTuneJob, FineTuneJobPage

#: Jobs per page of a look. Page 1 is usually enough: an account holds few jobs that have not ended.
LIST_PAGE_SIZE = 50
#: The most pages one look reads (1,000 jobs); older jobs are then not watched (the trigger says so).
MAX_SCAN_PAGES = 20
_END_OF_TIME = pendulum.datetime(9999, 12, 31, tz="UTC")


@dataclass(frozen=True)
class Snapshot:
    """What one look saw."""

    #: Each job once, newest first.
    jobs: tuple[FineTuneJob, ...]
    #: Every job created strictly after this time is in :attr:`jobs`; ``None``: every job of the account is.
    covers_after: pendulum.DateTime | None
    #: Where the next look may stop: the oldest job not ended (or the newest job, when all had ended).
    horizon: pendulum.DateTime | None
    #: The page limit stopped the look before it reached what it was asked to cover.
    truncated: bool = False
    #: Requests the look made.
    pages: int = 0

    def covers(self, since: pendulum.DateTime | None) -> bool:
        """Whether every job created at or after ``since`` (``None``: every job) is in this snapshot."""
        if self.covers_after is None:
            return True
        return since is not None and self.covers_after < since


def horizon_of(jobs: tuple[FineTuneJob, ...]) -> pendulum.DateTime | None:
    """The creation time of the oldest job not ended, or of the newest job when all have ended."""
    times = [job.create_time for job in jobs if job.create_time is not None]
    if not times:
        return None
    if any(not job.is_terminal and job.create_time is None for job in jobs):
        return None  # a running job that cannot be placed in time: look at everything next time
    running = [job.create_time for job in jobs if not job.is_terminal and job.create_time is not None]
    return min(running) if running else max(times)


class ListScan:
    """Which pages to read, newest first, and what they add up to. Feed it each page; ask for the next one."""

    def __init__(
        self,
        stop_before: pendulum.DateTime | None,
        *,
        page_size: int | None = None,
        max_pages: int | None = None,
    ) -> None:
        self.stop_before = stop_before
        self.page_size = page_size or LIST_PAGE_SIZE
        self.max_pages = max_pages or MAX_SCAN_PAGES
        self._jobs: list[FineTuneJob] = []
        self._seen: set[str] = set()
        self._pages = 0
        self._listed = 0
        self._oldest: pendulum.DateTime | None = None
        self._ended_list = False
        self._reached = False
        self._truncated = False

    @property
    def done(self) -> bool:
        return self._ended_list or self._reached or self._truncated

    def next_page(self) -> int | None:
        """The page number to read next, or ``None`` when the look is complete."""
        return None if self.done else self._pages + 1

    def on_page(self, page: FineTuneJobPage) -> None:
        self._pages += 1
        self._listed += len(page.jobs)
        for job in page.jobs:
            if job.job_id not in self._seen:  # jobs created while paging push older ones to the next page
                self._seen.add(job.job_id)
                self._jobs.append(job)
        times = [job.create_time for job in page.jobs if job.create_time is not None]
        if times:
            oldest = min(times)
            self._oldest = oldest if self._oldest is None else min(self._oldest, oldest)
        if (
            not page.jobs
            or (page.total is not None and self._listed >= page.total)
            or (page.total is None and len(page.jobs) < self.page_size)
        ):
            self._ended_list = True
        elif self.stop_before is not None and times and min(times) < self.stop_before:
            self._reached = True
        elif self._pages >= self.max_pages:
            self._truncated = True

    def snapshot(self) -> Snapshot:
        jobs = tuple(self._jobs)
        # Without a single creation time, a partial look covers no stretch of time at all.
        partial = self._oldest if self._oldest is not None else _END_OF_TIME
        covers_after = None if self._ended_list else partial
        return Snapshot(
            jobs=jobs,
            covers_after=covers_after,
            horizon=horizon_of(jobs),
            truncated=self._truncated,
            pages=self._pages,
        )
