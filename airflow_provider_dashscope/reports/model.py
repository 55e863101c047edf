"""A report's content: the parts of a report and how they are computed from jobs (no I/O)."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from airflow_provider_dashscope.reports.costs import check_prices, cost_of
from airflow_provider_dashscope.reports.formatting import iso

if TYPE_CHECKING:
    from airflow_provider_dashscope.models import Deployment, FineTuneJob

#: Label of jobs that have no base model.
UNKNOWN_BASE_MODEL = "(unknown)"
#: Label of the row that spans every base model in the durations table.
ALL_BASE_MODELS = "(all)"


@dataclass(frozen=True)
class JobRow:
    """One job of the window, as it appears in the CSV."""

    job_id: str
    job_name: str | None
    status: str
    model: str | None
    base_model: str | None
    create_time: datetime
    end_time: datetime | None
    duration_seconds: float | None
    usage: int | None
    code: str | None
    message: str | None
    finetuned_output: str | None = None

    @property
    def base_model_label(self) -> str:
        return self.base_model if self.base_model else UNKNOWN_BASE_MODEL


@dataclass(frozen=True)
class TokenUsage:
    """Tokens used by the jobs of one base model."""

    base_model: str
    jobs: int
    jobs_with_usage: int
    tokens: int
    #: ``tokens`` priced at the user's price per 1,000 tokens of the base model; None without a price.
    cost: float | None = None


@dataclass(frozen=True)
class DurationStats:
    """Durations (seconds) of the terminal jobs of one base model, or of all (``base_model == "(all)"``)."""

    base_model: str
    count: int
    min: float | None
    median: float | None
    max: float | None
    total: float

    @classmethod
    def of(cls, base_model: str, durations: Iterable[float]) -> DurationStats:
        values = sorted(durations)
        if not values:
            return cls(base_model, 0, None, None, None, 0.0)
        return cls(
            base_model,
            count=len(values),
            min=float(values[0]),
            median=float(statistics.median(values)),
            max=float(values[-1]),
            total=float(sum(values)),
        )


@dataclass(frozen=True)
class Failure:
    """A job that ended FAILED, with the job's own error code and message."""

    job_id: str
    base_model: str
    status: str
    code: str | None
    message: str | None
    end_time: datetime | None


@dataclass(frozen=True)
class ModelProduced:
    """A model a job of the window produced (a SUCCEEDED job's ``finetuned_output``)."""

    job_id: str
    job_name: str | None
    finetuned_output: str
    base_model: str
    tokens: int | None
    #: ``deployed_model (STATUS)`` of each deployment serving it; None when no deployment list was given.
    deployments: tuple[str, ...] | None
    cost: float | None = None


@dataclass(frozen=True)
class PeriodTotals:
    """The numbers of a period compared with the report's window: jobs created, tokens used, failures."""

    window_start: datetime
    window_end: datetime
    jobs: int
    tokens: int
    failures: int


@dataclass(frozen=True)
class FineTuneReport:
    """Everything a report says about the jobs created in ``[window_start, window_end)``."""

    window_start: datetime
    window_end: datetime
    jobs: tuple[JobRow, ...]
    status_counts: tuple[tuple[str, int], ...]
    tokens: tuple[TokenUsage, ...]
    durations: tuple[DurationStats, ...]
    failures: tuple[Failure, ...]
    listed: int
    undated: int
    models_produced: tuple[ModelProduced, ...] = ()
    #: The period of the same length just before the window; None when not compared.
    previous: PeriodTotals | None = None
    #: Whether a deployment list was given (the "models produced" table then says which are deployed).
    deployments_known: bool = False
    #: The user's price per 1,000 tokens per base model, and its currency; None for no cost column.
    prices: Mapping[str, float] | None = None
    currency: str = ""

    @property
    def total_jobs(self) -> int:
        return len(self.jobs)

    @property
    def total_tokens(self) -> int:
        return sum(row.tokens for row in self.tokens)

    @property
    def total_cost(self) -> float | None:
        """The cost of the base models that have a price (None without prices)."""
        if self.prices is None:
            return None
        return sum(t.cost for t in self.tokens if t.cost is not None)

    def status_count(self, status: str) -> int:
        return dict(self.status_counts).get(str(status), 0)

    @property
    def overall_durations(self) -> DurationStats:
        return self.durations[-1]

    def summary_text(self) -> str:
        """A few lines for the task log."""
        from airflow_provider_dashscope.reports.render import summary_text

        return summary_text(self)

    def csv_text(self) -> str:
        """The per-job table as CSV text (header + one row per job in the window)."""
        from airflow_provider_dashscope.reports.render import csv_text

        return csv_text(self)

    def markdown_text(self) -> str:
        """The report for people: summary, tokens per base model, durations, failures."""
        from airflow_provider_dashscope.reports.render import markdown_text

        return markdown_text(self)

    def as_dict(self) -> dict[str, Any]:
        """Small and JSON-safe: the numbers of the summary (for XCom)."""
        return {
            "window_start": iso(self.window_start),
            "window_end": iso(self.window_end),
            "total_jobs": self.total_jobs,
            "listed_jobs": self.listed,
            "undated_jobs": self.undated,
            "status_counts": dict(self.status_counts),
            "total_tokens": self.total_tokens,
            "tokens_by_base_model": {t.base_model: t.tokens for t in self.tokens},
            "failures": len(self.failures),
            "models_produced": [m.finetuned_output for m in self.models_produced],
            **(
                {}
                if self.previous is None
                else {
                    "previous_period": {
                        "jobs": self.previous.jobs,
                        "tokens": self.previous.tokens,
                        "failures": self.previous.failures,
                    }
                }
            ),
            **({} if self.total_cost is None else {"total_cost": round(self.total_cost, 2)}),
        }


def build_report(
    jobs: Iterable[FineTuneJob],
    window_start: datetime,
    window_end: datetime,
    *,
    deployments: Iterable[Deployment] | None = None,
    prices_per_1k_tokens: Mapping[str, float] | None = None,
    currency: str = "",
    compare_previous: bool = True,
) -> FineTuneReport:
    """Select the jobs created in ``[window_start, window_end)`` and compute the report (see the package doc).

    :param deployments: The account's deployments (e.g. ``hook.iter_deployments()``): the "models produced" table
        then says which models a deployment serves.
    :param prices_per_1k_tokens: Your price per 1,000 training tokens per base model (``{"qwen3-14b": 0.04}``):
        adds a cost column. The provider keeps no price table: prices change.
    :param currency: Shown beside the costs (e.g. ``"USD"``).
    :param compare_previous: Count jobs, tokens and failures of the period of the same length just before the
        window (``jobs`` must then reach back to its start) and show the change.
    """
    from airflow_provider_dashscope.models import JobStatus

    _check_window(window_start, window_end)
    prices = check_prices(prices_per_1k_tokens)
    length = window_end - window_start
    previous_start = window_start - length
    listed = undated = 0
    selected: list[JobRow] = []
    before: list[JobRow] = []
    for job in jobs:
        listed += 1
        created = job.create_time
        if created is None:
            undated += 1
            continue
        if created.tzinfo is None or created.utcoffset() is None:
            raise ValueError(f"job {job.job_id}: create_time {created!r} has no time zone")
        if window_start <= created < window_end:
            selected.append(_row(job))
        elif previous_start <= created < window_start:
            before.append(_row(job))
    selected.sort(key=lambda r: (r.create_time.timestamp(), r.job_id))

    counts: dict[str, int] = {}
    for row in selected:
        counts[row.status] = counts.get(row.status, 0) + 1
    known = [status.value for status in JobStatus]  # life-cycle order, then statuses the provider does not know
    ordered_counts = tuple((s, counts[s]) for s in known if s in counts) + tuple(
        (s, counts[s]) for s in sorted(set(counts) - set(known))
    )

    by_model: dict[str, list[JobRow]] = {}
    for row in selected:
        by_model.setdefault(row.base_model_label, []).append(row)
    models = sorted(by_model, key=lambda m: (m == UNKNOWN_BASE_MODEL, m))
    tokens = tuple(
        TokenUsage(
            base_model=model,
            jobs=len(by_model[model]),
            jobs_with_usage=sum(1 for r in by_model[model] if r.usage is not None),
            tokens=sum(r.usage or 0 for r in by_model[model]),
            cost=cost_of(prices, model, sum(r.usage or 0 for r in by_model[model])),
        )
        for model in models
    )
    durations = (
        *(
            DurationStats.of(model, (r.duration_seconds for r in by_model[model] if r.duration_seconds is not None))
            for model in models
        ),
        DurationStats.of(ALL_BASE_MODELS, (r.duration_seconds for r in selected if r.duration_seconds is not None)),
    )

    failed = [r for r in selected if r.status == JobStatus.FAILED.value]
    failed.sort(key=lambda r: ((r.end_time or r.create_time).timestamp(), r.job_id))
    failures = tuple(Failure(r.job_id, r.base_model_label, r.status, r.code, r.message, r.end_time) for r in failed)
    serving = _serving(deployments)
    produced = tuple(
        ModelProduced(
            job_id=r.job_id,
            job_name=r.job_name,
            finetuned_output=str(r.finetuned_output),
            base_model=r.base_model_label,
            tokens=r.usage,
            deployments=None if serving is None else tuple(serving.get(str(r.finetuned_output), ())),
            cost=cost_of(prices, r.base_model_label, r.usage or 0),
        )
        for r in selected
        if r.status == JobStatus.SUCCEEDED.value and r.finetuned_output
    )
    previous = None
    if compare_previous and length.total_seconds() > 0:
        previous = PeriodTotals(
            window_start=previous_start,
            window_end=window_start,
            jobs=len(before),
            tokens=sum(r.usage or 0 for r in before),
            failures=sum(1 for r in before if r.status == JobStatus.FAILED.value),
        )
    return FineTuneReport(
        window_start=window_start,
        window_end=window_end,
        jobs=tuple(selected),
        status_counts=ordered_counts,
        tokens=tokens,
        durations=durations,
        failures=failures,
        listed=listed,
        undated=undated,
        models_produced=produced,
        previous=previous,
        deployments_known=serving is not None,
        prices=prices,
        currency=currency,
    )


def _serving(deployments: Iterable[Deployment] | None) -> dict[str, list[str]] | None:
    """``{model_name: ["deployed_model (STATUS)", ...]}`` of the deployments given, or None without a list."""
    if deployments is None:
        return None
    serving: dict[str, list[str]] = {}
    for deployment in deployments:
        if deployment.model_name:
            serving.setdefault(deployment.model_name, []).append(
                f"{deployment.deployed_model} ({deployment.status_text})"
            )
    return {model: sorted(names) for model, names in serving.items()}


def _check_window(start: Any, end: Any) -> None:
    for name, value in (("window_start", start), ("window_end", end)):
        if not isinstance(value, datetime):
            raise TypeError(f"{name} must be a datetime, got {type(value).__name__} {value!r}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{name} must be timezone-aware, got {value!r}")
    if end < start:
        raise ValueError(f"the window ends before it starts: [{start.isoformat()}, {end.isoformat()})")


def _row(job: FineTuneJob) -> JobRow:
    assert job.create_time is not None
    duration = None
    if job.is_terminal and job.end_time is not None and job.end_time >= job.create_time:
        duration = (job.end_time - job.create_time).total_seconds()
    return JobRow(
        job_id=job.job_id,
        job_name=job.job_name,
        status=str(job.status),
        model=job.model,
        base_model=job.base_model,
        create_time=job.create_time,
        end_time=job.end_time,
        duration_seconds=duration,
        usage=job.usage,
        code=job.code,
        message=job.message,
        finetuned_output=job.finetuned_output,
    )
