"""Plans: life-cycle settings (outcome, durations, usage, failure text...) for jobs not created yet.

A plan is bound to the create it belongs to, so it never gives its outcome to another job:

* **Inline** (what ``dashscope-emulator jobs create`` sends): the create request carries its plan in the
  :data:`PLAN_HEADER` header, a JSON object of settings. It applies to that job only; a refused create leaves
  nothing behind.
* **Queued** (``POST /_emulator/plans``): a plan with a ``job_name`` applies to the next job created with that
  name; a plan without one to the next job created that no named plan matched. A create the emulator refuses
  (bad body, unknown file under ``--strict-file-ids``, quota) takes no plan. ``GET /_emulator/plans`` lists the
  pending plans (with their ``plan_id``), ``DELETE /_emulator/plans`` forgets them (``?plan_id=`` one of them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .job_input import check_plan

#: Header of a create request that carries the plan of the job it creates.
PLAN_HEADER = "X-DashScope-Emulator-Plan"


@dataclass
class PendingPlan:
    plan_id: str
    settings: dict[str, Any]
    job_name: str | None = None

    def as_dict(self) -> dict[str, Any]:
        bound = {} if self.job_name is None else {"job_name": self.job_name}
        return {"plan_id": self.plan_id, **bound, **self.settings}


def parse_plan_entry(entry: Any) -> tuple[dict[str, Any], str | None]:
    """A queued plan's settings (checked) and the job name it is bound to, if any."""
    if not isinstance(entry, dict):
        raise TypeError("a plan must be an object of job settings")
    settings = dict(entry)
    job_name = settings.pop("job_name", None)
    if job_name is not None and (not isinstance(job_name, str) or not job_name):
        raise ValueError("a plan's job_name must be a non-empty string")
    return check_plan(settings), job_name


def parse_plan_header(value: str) -> dict[str, Any]:
    """The settings an inline plan header carries (checked); ``ValueError`` when it is not a JSON object of them."""
    try:
        settings = json.loads(value)
    except ValueError:
        raise ValueError(f"{PLAN_HEADER} is not JSON") from None
    if isinstance(settings, dict) and "job_name" in settings:
        raise ValueError(f"{PLAN_HEADER} applies to its own request: it takes no job_name")
    try:
        return check_plan(settings)
    except TypeError as err:
        raise ValueError(str(err)) from None


class PlanQueue:
    """Queued plans in the order they were added (not thread-safe: the state's lock guards it)."""

    def __init__(self) -> None:
        self._plans: list[PendingPlan] = []
        self._next = 1

    def add(self, settings: dict[str, Any], job_name: str | None = None) -> str:
        plan = PendingPlan(f"plan-{self._next}", settings, job_name)
        self._next += 1
        self._plans.append(plan)
        return plan.plan_id

    def take(self, job_name: str | None) -> dict[str, Any] | None:
        """The settings for a job created now: the first plan bound to its name, else the first unbound one."""
        for bound in (True, False):
            for plan in self._plans:
                if (plan.job_name is not None and plan.job_name == job_name) if bound else plan.job_name is None:
                    self._plans.remove(plan)
                    return plan.settings
        return None

    def pending(self) -> list[dict[str, Any]]:
        return [plan.as_dict() for plan in self._plans]

    def remove(self, plan_id: str) -> bool:
        for plan in self._plans:
            if plan.plan_id == plan_id:
                self._plans.remove(plan)
                return True
        return False

    def clear(self) -> None:
        self._plans.clear()
