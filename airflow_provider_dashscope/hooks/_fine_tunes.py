"""The fine-tunes API methods of :class:`~airflow_provider_dashscope.hooks.dashscope.DashScopeHook`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from itertools import takewhile
from typing import TYPE_CHECKING, Any, TypeVar

from airflow_provider_dashscope._console import job_console_url
from airflow_provider_dashscope.exceptions import DashScopeConfigError
from airflow_provider_dashscope.hooks._paging import iter_pages
from airflow_provider_dashscope.resources import fine_tunes

if TYPE_CHECKING:
    from airflow_provider_dashscope._config import ClientConfig
    from airflow_provider_dashscope._http.api_request import ApiRequest
    from airflow_provider_dashscope._http.api_response import Parser
    from airflow_provider_dashscope.models import FineTuneJob, FineTuneJobLogs, FineTuneJobPage

T = TypeVar("T")


class FineTunesMixin:
    """Submit, read, list, cancel and delete fine-tune jobs, and read their training logs."""

    if TYPE_CHECKING:

        @property
        def config(self) -> ClientConfig: ...

        def _send(self, request: ApiRequest, parse: Parser[T]) -> T: ...

        async def _asend(self, request: ApiRequest, parse: Parser[T]) -> T: ...

    def console_url(self, job_id: str) -> str:
        """Link to a fine-tune job in the Model Studio console of the connection's region."""
        config = self.config
        return job_console_url(job_id, region=config.region, base_url=config.base_url)

    def get_fine_tune_job(self, job_id: str) -> FineTuneJob:
        """``GET /fine-tunes/{job_id}``."""
        return self._send(fine_tunes.get_job_request(job_id), fine_tunes.parse_job)

    async def aget_fine_tune_job(self, job_id: str) -> FineTuneJob:
        """Async ``GET /fine-tunes/{job_id}``; never blocks the event loop."""
        return await self._asend(fine_tunes.get_job_request(job_id), fine_tunes.parse_job)

    def list_fine_tune_jobs(self, page_no: int = 1, page_size: int = 10, model: str | None = None) -> FineTuneJobPage:
        """``GET /fine-tunes``: one page, newest first."""
        return self._send(fine_tunes.list_jobs_request(page_no, page_size, model), fine_tunes.parse_page)

    async def alist_fine_tune_jobs(
        self, page_no: int = 1, page_size: int = 10, model: str | None = None
    ) -> FineTuneJobPage:
        return await self._asend(fine_tunes.list_jobs_request(page_no, page_size, model), fine_tunes.parse_page)

    def iter_fine_tune_jobs(
        self, page_size: int = 100, model: str | None = None, created_after: datetime | None = None
    ) -> Iterator[FineTuneJob]:
        """Every job, newest first, page after page; each job once even if jobs shift pages while paging.

        :param created_after: Stop at the first job created before this aware datetime (the API lists newest
            first, so later pages hold only older jobs).
        """
        if created_after is not None and created_after.utcoffset() is None:
            raise DashScopeConfigError(
                f"created_after must be a timezone-aware datetime (e.g. pendulum.now('UTC')), got {created_after!r}"
            )
        fine_tunes.list_jobs_request(1, page_size, model)  # checks the arguments before the first request
        return self._iter_pages(page_size, model, created_after)

    def _iter_pages(self, page_size: int, model: str | None, created_after: datetime | None) -> Iterator[FineTuneJob]:
        def fetch(page_no: int) -> tuple[Sequence[FineTuneJob], int | None]:
            page = self.list_fine_tune_jobs(page_no=page_no, page_size=page_size, model=model)
            return page.jobs, page.total

        jobs = iter_pages(fetch, page_size, key=lambda job: job.job_id)
        if created_after is None:
            return jobs
        return takewhile(lambda job: job.create_time is None or job.create_time >= created_after, jobs)

    def create_fine_tune_job(
        self,
        model: str,
        training_file_ids: list[str] | str,
        validation_file_ids: list[str] | str | None = None,
        hyper_parameters: Mapping[str, Any] | None = None,
        training_type: str | None = None,
        job_name: str | None = None,
        model_name: str | None = None,
    ) -> FineTuneJob:
        """``POST /fine-tunes``. Retried only when the API certainly did not create the job (refused, 429)."""
        request = fine_tunes.create_job_request(
            model=model,
            training_file_ids=training_file_ids,
            validation_file_ids=validation_file_ids,
            hyper_parameters=hyper_parameters,
            training_type=training_type,
            job_name=job_name,
            model_name=model_name,
        )
        return self._send(request, fine_tunes.parse_job)

    def cancel_fine_tune_job(self, job_id: str) -> str:
        """``POST /fine-tunes/{job_id}/cancel``; returns the API's status text (``success``)."""
        return self._send(fine_tunes.cancel_job_request(job_id), fine_tunes.parse_status)

    async def acancel_fine_tune_job(self, job_id: str) -> str:
        return await self._asend(fine_tunes.cancel_job_request(job_id), fine_tunes.parse_status)

    def delete_fine_tune_job(self, job_id: str) -> str:
        """``DELETE /fine-tunes/{job_id}``; returns the API's status text (``success``)."""
        return self._send(fine_tunes.delete_job_request(job_id), fine_tunes.parse_status)

    def get_fine_tune_job_logs(self, job_id: str, offset: int = 0, line: int = 100) -> FineTuneJobLogs:
        """``GET /fine-tunes/{job_id}/logs``: ``line`` lines (at most 1000) after skipping ``offset``."""
        return self._send(fine_tunes.job_logs_request(job_id, offset, line), fine_tunes.parse_logs)

    async def aget_fine_tune_job_logs(self, job_id: str, offset: int = 0, line: int = 100) -> FineTuneJobLogs:
        """Async ``GET /fine-tunes/{job_id}/logs``."""
        return await self._asend(fine_tunes.job_logs_request(job_id, offset, line), fine_tunes.parse_logs)

    def tail_fine_tune_job_logs(self, job_id: str, lines: int = 20) -> list[str]:
        """The last ``lines`` lines (1 to 1000) of a job's training log (two cheap calls)."""
        fine_tunes.job_logs_request(job_id, 0, lines)  # checks job_id and lines before any request
        total = self.get_fine_tune_job_logs(job_id, offset=0, line=1).total
        return list(self.get_fine_tune_job_logs(job_id, offset=max(0, total - lines), line=max(1, lines)).lines)
