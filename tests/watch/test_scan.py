"""One look at the list of jobs: which pages it reads, what it covers, where the next look may stop. Plain pages."""

from __future__ import annotations

import pendulum

from airflow_provider_dashscope.models import FineTuneJob, FineTuneJobPage
from airflow_provider_dashscope.watch.scan import ListScan, Snapshot, horizon_of

BASE = pendulum.datetime(2026, 11, 25, 8, 0, tz="Asia/Shanghai")


def job(n: int, status: str = "SUCCEEDED", *, minute: int | None = None) -> FineTuneJob:
    created = BASE.add(minutes=n if minute is None else minute)
    return FineTuneJob(job_id=f"ft-{n:04d}", status=status, create_time=created)


def account(*jobs: FineTuneJob) -> list[FineTuneJob]:
    """The jobs as the API lists them: newest first."""
    return sorted(jobs, key=lambda j: j.create_time, reverse=True)


def run(scan: ListScan, jobs: list[FineTuneJob], *, total: bool = True) -> tuple[Snapshot, list[int]]:
    pages = []
    page_no = scan.next_page()
    while page_no is not None:
        pages.append(page_no)
        chunk = jobs[(page_no - 1) * scan.page_size : page_no * scan.page_size]
        scan.on_page(FineTuneJobPage(page_no, scan.page_size, len(jobs) if total else None, tuple(chunk)))
        page_no = scan.next_page()
    return scan.snapshot(), pages


def test_a_first_look_reads_the_whole_list():
    jobs = account(*(job(n) for n in range(25)))
    snapshot, pages = run(ListScan(None, page_size=10), jobs)

    assert pages == [1, 2, 3]
    assert [j.job_id for j in snapshot.jobs] == [j.job_id for j in jobs]
    assert snapshot.covers_after is None and snapshot.covers(None) and snapshot.covers(BASE)
    assert snapshot.horizon == BASE.add(minutes=24)  # all ended: the newest job
    assert not snapshot.truncated and snapshot.pages == 3


def test_a_later_look_stops_at_the_first_page_that_reaches_before_the_horizon():
    jobs = account(*(job(n) for n in range(100)))
    snapshot, pages = run(ListScan(BASE.add(minutes=95), page_size=10), jobs)

    assert pages == [1]
    assert snapshot.covers(BASE.add(minutes=95)) and not snapshot.covers(BASE.add(minutes=90))
    snapshot, pages = run(ListScan(BASE.add(minutes=85), page_size=10), jobs)
    assert pages == [1, 2]
    assert snapshot.covers(BASE.add(minutes=85))


def test_the_horizon_is_the_oldest_job_not_ended():
    jobs = account(job(1), job(2, "RUNNING"), job(3), job(4, "PENDING"), job(5))
    assert horizon_of(tuple(jobs)) == BASE.add(minutes=2)
    assert horizon_of(()) is None


def test_a_running_job_without_a_creation_time_means_look_at_everything():
    jobs = (job(1), FineTuneJob(job_id="ft-undated", status="RUNNING"))
    assert horizon_of(jobs) is None


def test_jobs_created_in_the_same_second_across_a_page_boundary_are_not_claimed():
    same = [job(100 + n, minute=50) for n in range(12)]
    jobs = account(*(job(n) for n in range(40)), *same)
    snapshot, pages = run(ListScan(BASE.add(minutes=50), page_size=10), jobs)

    # Page 1 holds only jobs of the second 08:50 (the horizon): two more of them are on page 2, so the look goes on
    # to the page that reaches before it.
    assert pages == [1, 2]
    assert {j.job_id for j in same} <= {j.job_id for j in snapshot.jobs}
    assert snapshot.covers(BASE.add(minutes=50))


def test_the_page_limit_truncates_a_look_and_says_so():
    jobs = account(*(job(n) for n in range(100)))
    snapshot, pages = run(ListScan(None, page_size=10, max_pages=3), jobs)

    assert pages == [1, 2, 3]
    assert snapshot.truncated
    assert snapshot.covers_after == BASE.add(minutes=70)
    assert not snapshot.covers(None) and not snapshot.covers(BASE.add(minutes=70))


def test_a_list_without_a_total_ends_at_a_short_page():
    jobs = account(*(job(n) for n in range(15)))
    snapshot, pages = run(ListScan(None, page_size=10), jobs, total=False)
    assert pages == [1, 2] and snapshot.covers(None)


def test_a_job_pushed_to_the_next_page_by_a_new_one_is_kept_once():
    scan = ListScan(None, page_size=2)
    scan.on_page(FineTuneJobPage(1, 2, 4, (job(4), job(3))))
    scan.on_page(FineTuneJobPage(2, 2, 5, (job(3), job(2))))  # ft-0005 was created meanwhile: ft-0003 moved down
    scan.on_page(FineTuneJobPage(3, 2, 5, (job(1),)))
    assert [j.job_id for j in scan.snapshot().jobs] == ["ft-0004", "ft-0003", "ft-0002", "ft-0001"]
