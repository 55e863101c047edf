"""The state of one emulated account: its jobs, files, deployments, plans, faults and request counters.

:class:`EmulatorState` is the one object the HTTP handlers, the CLI and tests talk to. It
holds the lock, applies the API's rules to the job records of :mod:`.jobs` and schedules them
with :mod:`.schedule`; its ``files`` (:mod:`.files`) and ``deployments``
(:mod:`.deployment_store`) share that lock. Rules enforced here:

* **Quota.** Create is refused with 429 ``Throttling`` when the number of jobs in PENDING,
  QUEUING, RUNNING or SUCCEEDED is ``>= quota`` (default 20). FAILED, CANCELING and CANCELED
  jobs do not count. The quota is per emulator (one account), not per workspace.
* **Cancel** is allowed for every non-terminal status, pinned unknown ones included (a cancel
  un-pins them); a second cancel while CANCELING is a no-op; cancel of a terminal job is a
  400 ``UnsupportedOperation``.
* **Delete.** Only terminal jobs (SUCCEEDED, FAILED, CANCELED) can be deleted; deleting any
  other (pinned non-terminal ones included) is a 400 ``UnsupportedOperation``. The
  reference's message reads as if terminal jobs could not be deleted, but its advice on the
  quota is to delete old jobs, so the emulator allows that. A deleted job that had trained
  still held the slot until it ended: jobs created after the delete queue behind that time.
* **Strict file ids.** With ``strict_file_ids`` on (off by default), create refuses a job whose
  ``training_file_ids``, ``validation_file_ids`` or ``file_id`` datasets name a file that is not
  uploaded (never uploaded, or deleted): 400 ``InvalidParameter`` naming the id.
* **Seeded and planned statuses** start a job where the seed or plan says (see :mod:`.jobs`); which plan a
  created job takes is in :mod:`.plans`.
"""

from __future__ import annotations

import dataclasses
import os
import random
import threading
from collections.abc import Iterable
from typing import Any

from . import jobs as lifecycle, persistence
from .config import EmulatorConfig
from .deployment_store import DeploymentStore
from .errors import ApiError, invalid, not_found, unsupported
from .faults import FaultSet
from .files import FileStore
from .job_input import (
    CreateRequest,
    check_seed_entry,
    job_from_request,
    job_from_seed,
    parse_create_body,
)
from .jobs import QUOTA_STATUSES, SUCCEEDED, TERMINAL, Job
from .logs import training_log
from .plans import PlanQueue, parse_plan_entry
from .routes import normalize_route
from .schedule import SlotRequest, assign_slots
from .stats import RequestStats
from .times import minute_stamp, parse_plain, plain

_NO_FLOOR = float("-inf")


class EmulatorState:
    """All jobs, faults and request counters of one emulator. Thread-safe."""

    def __init__(self, config: EmulatorConfig | None = None, **overrides: Any) -> None:
        if config is None:
            config = EmulatorConfig(**overrides)
        elif overrides:
            config = dataclasses.replace(config, **overrides)
        self.config = config
        self.faults = FaultSet()
        self._lock = threading.RLock()
        self._jobs: dict[str, Job] = {}
        self._seq = 0
        self._slot_floor = _NO_FLOOR  # the slot is busy until then because of deleted jobs
        self._plans = PlanQueue()
        self._rng = random.Random(config.random_seed)
        self._stats = RequestStats()
        self.files = FileStore(config, self._lock, self._rng, self._persist)
        self.deployments = DeploymentStore(config, self._lock, self.model_base, self._persist)
        if config.state_file and os.path.exists(config.state_file):
            self.load(config.state_file)

    # ------------------------------------------------------------------------------------------------- time
    def now(self) -> float:
        return float(self.config.clock())

    def fmt_time(self, epoch: float) -> str:
        return plain(epoch, self.config.tz)

    def parse_time(self, value: Any) -> float:
        return parse_plain(value, self.config.tz)

    def _new_job_id(self, created: float) -> str:
        stamp = minute_stamp(created, self.config.tz)
        for _ in range(1000):
            job_id = f"ft-{stamp}-{self._rng.getrandbits(16):04x}"
            if job_id not in self._jobs:
                return job_id
        raise ApiError(500, "InternalError", "Internal server error!")  # pragma: no cover

    # ----------------------------------------------------------------------------------------- scheduling
    def _reschedule(self, now: float) -> None:
        """Give the training slot to jobs that have not started, in creation order (lock held)."""
        free = self._slot_floor
        waiting: list[Job] = []
        for job in self._jobs.values():
            if job.pinned or not job.trains:
                continue
            if lifecycle.has_started(job, now):
                release = lifecycle.slot_release(job)
                if release is not None:
                    free = max(free, release)
            else:
                waiting.append(job)
        waiting.sort(key=lambda j: (j.created, j.seq))
        requests = []
        for job in waiting:
            ready = lifecycle.ready_at(job)
            if lifecycle.run_window(job) is not None:  # already planned: it cannot start in the past
                ready = max(ready, now)
            requests.append(SlotRequest(ready, lifecycle.slot_hold_seconds(job)))
        for job, start in zip(waiting, assign_slots(requests, free), strict=True):
            lifecycle.plan_run(job, start)

    def _start(self, job: Job, now: float, settings: dict[str, Any]) -> None:
        """Start a new job per the ``status``/``pin``/``end_time`` a seed or plan gives (see :func:`.jobs.start`)."""
        status = settings.get("status")
        ended = None
        if status is not None and settings.get("end_time") is not None:
            try:
                ended = self.parse_time(settings["end_time"])
            except ValueError:
                pass  # end_time is shown verbatim; the timeline keeps its default end
        lifecycle.start(job, now, None if status is None else str(status), bool(settings.get("pin")), ended)

    def _check_file_ids(self, request: CreateRequest) -> None:
        """Refuse ids of files that are not uploaded (only with ``strict_file_ids``)."""
        named = [("training_file_ids", f) for f in request.training_file_ids]
        named += [("validation_file_ids", f) for f in request.validation_file_ids]
        for field_name, datasets in (
            ("training_datasets", request.training_datasets),
            ("validation_datasets", request.validation_datasets),
        ):
            named += [(field_name, d["file_id"]) for d in datasets or [] if isinstance(d, dict) and "file_id" in d]
        for field_name, file_id in named:
            if not isinstance(file_id, str) or not self.files.exists(file_id):
                raise invalid(f"Invalid {field_name}: file {file_id} not found.")

    def model_base(self, model: str) -> str | None:
        """The base model of a model a deployment may name: a known base model, a SUCCEEDED job's output, or a
        checkpoint's exported model."""
        if model in self.config.deployable_models:
            return model
        with self._lock:
            now = self.now()
            for job in self._jobs.values():
                if lifecycle.finetuned_output_of(job) == model and lifecycle.status_at(job, now) == SUCCEEDED:
                    return job.base_model
            from .checkpoints import list_checkpoints

            for job in self._jobs.values():  # a checkpoint's model, once exported
                if job.exports and any(c.get("model_name") == model for c in list_checkpoints(job, now, self.config)):
                    return job.base_model
        return None

    def create_job(self, body: Any, workspace: str | None = None, plan: dict[str, Any] | None = None) -> dict[str, Any]:
        """Create a job; ``plan`` is the checked inline plan of this request (else it takes a queued one)."""
        request = parse_create_body(body)
        with self._lock:
            if self.config.strict_file_ids:
                self._check_file_ids(request)
            now = self.now()
            cfg = self.config
            if self._count_quota(now) >= cfg.quota:
                raise ApiError(
                    429, "Throttling", f"Only {cfg.quota} fine-tune job in running or succeeded allowed per user."
                )
            self._seq += 1
            job = job_from_request(request, self._new_job_id(now), self._seq, now, workspace, cfg)
            settings: dict[str, Any] = {}
            planned = plan if plan is not None else self._plans.take(request.job_name)
            for extra in (cfg.model_profiles.get(request.model), planned):
                if extra:
                    lifecycle.apply_settings(job, extra)
                    settings.update(extra)
            self._start(job, now, settings)
            self._jobs[job.job_id] = job
            self._reschedule(now)
            self._persist()
            return lifecycle.render(job, now, cfg)

    def _count_quota(self, now: float) -> int:
        return sum(1 for j in self._jobs.values() if lifecycle.status_at(j, now) in QUOTA_STATUSES)

    def _existing(self, job_id: str) -> Job:
        """The job, or the API's 404 (call with the lock held)."""
        job = self._jobs.get(job_id)
        if job is None:
            raise not_found()
        return job

    def get_job(self, job_id: str) -> dict[str, Any]:
        with self._lock:
            return lifecycle.render(self._existing(job_id), self.now(), self.config)

    def job_status(self, job_id: str) -> str | None:
        with self._lock:
            job = self._jobs.get(job_id)
            return None if job is None else lifecycle.status_at(job, self.now())

    def list_jobs(self, page_no: int = 1, page_size: int = 10, model: str | None = None) -> dict[str, Any]:
        """A page of jobs, newest first, optionally of one model; ``total`` counts before paging."""
        if page_no < 1:
            raise invalid("Invalid page_no: must be >= 1")
        if not 1 <= page_size <= 100:
            raise invalid("Invalid page_size: must be between 1 and 100")
        with self._lock:
            now = self.now()
            found = [j for j in self._jobs.values() if model is None or j.model == model]
            found.sort(key=lambda j: (j.created, j.seq), reverse=True)
            start = (page_no - 1) * page_size
            return {
                "page_no": page_no,
                "page_size": page_size,
                "total": len(found),
                "jobs": [lifecycle.render(j, now, self.config) for j in found[start : start + page_size]],
            }

    def cancel_job(self, job_id: str) -> dict[str, Any]:
        with self._lock:
            job = self._existing(job_id)
            now = self.now()
            status = lifecycle.status_at(job, now)
            if status in TERMINAL:
                raise unsupported(
                    "The fine-tuning job cannot be canceled because it has already succeeded, failed, or been canceled."
                )
            if status == lifecycle.CANCELING:
                return {"status": "success"}
            job.trains = job.trains and not job.pinned and lifecycle.has_started(job, now)
            job.timeline = lifecycle.cancel_phases(job, now)
            job.pinned = False
            self._reschedule(now)
            self._persist()
            return {"status": "success"}

    def delete_job(self, job_id: str) -> dict[str, Any]:
        with self._lock:
            job = self._existing(job_id)
            now = self.now()
            status = lifecycle.status_at(job, now)
            if status not in TERMINAL:
                raise unsupported(
                    f"The fine-tuning job cannot be deleted because its status is {status}; "
                    "only SUCCEEDED, FAILED or CANCELED jobs can be deleted."
                )
            release = lifecycle.slot_release(job) if not job.pinned else None
            if release is not None:
                self._slot_floor = max(self._slot_floor, release)
            del self._jobs[job_id]
            self._persist()
            return {"status": "success"}

    def job_logs(self, job_id: str, offset: int = 0, line: int = 100) -> dict[str, Any]:
        if offset < 0:
            raise invalid("Invalid offset: must be >= 0")
        if not 1 <= line <= 1000:
            raise invalid("Invalid line: must be between 1 and 1000")
        with self._lock:
            log = training_log(self._existing(job_id), self.now(), self.config)
            return {"total": log.total, "logs": log.page(offset, line)}

    def list_checkpoints(self, job_id: str) -> list[dict[str, Any]]:
        from .checkpoints import list_checkpoints

        with self._lock:
            return list_checkpoints(self._existing(job_id), self.now(), self.config)

    def export_checkpoint(self, job_id: str, checkpoint: str, model_name: Any) -> bool:
        from .checkpoints import export

        with self._lock:
            job = self._existing(job_id)
            done = export(job, checkpoint, model_name, self.now(), self.config, list(self._jobs.values()))
            self._persist()
            return done

    # ---------------------------------------------------------------------------------------- admin helpers
    def seed(self, jobs: Iterable[dict[str, Any]] | dict[str, Any]) -> list[str]:
        """Add jobs from scenario entries; returns their ids (see :mod:`.job_input` for the keys)."""
        if isinstance(jobs, dict):
            jobs = jobs.get("jobs", [jobs]) if "jobs" in jobs else [jobs]
        ids: list[str] = []
        with self._lock:
            now = self.now()
            cfg = self.config
            for raw in jobs:
                spec = check_seed_entry(raw)
                created = self.parse_time(spec["create_time"]) if spec.get("create_time") is not None else now
                self._seq += 1
                job = job_from_seed(spec, spec.get("job_id") or self._new_job_id(created), self._seq, created, cfg)
                self._start(job, now, spec)
                self._jobs[job.job_id] = job
                ids.append(job.job_id)
            self._reschedule(now)
            self._persist()
        return ids

    def plan_next(self, *settings: dict[str, Any]) -> list[str]:
        """Queue plans (settings, each optionally bound to a ``job_name``) for jobs not created yet; their ids."""
        entries = [parse_plan_entry(s) for s in settings]  # all checked before any is queued
        with self._lock:
            return [self._plans.add(plan, job_name) for plan, job_name in entries]

    def pending_plans(self) -> list[dict[str, Any]]:
        with self._lock:
            return self._plans.pending()

    def forget_plans(self, plan_id: str | None = None) -> None:
        """Forget every queued plan, or the one with ``plan_id`` (``KeyError`` when there is none)."""
        with self._lock:
            if plan_id is None:
                self._plans.clear()
            elif not self._plans.remove(plan_id):
                raise KeyError(plan_id)

    def reset(self) -> None:
        """Forget all jobs, files, deployments, plans, faults and counters."""
        with self._lock:
            self._jobs.clear()
            self._plans.clear()
            self.files.clear()
            self.deployments.clear()
            self._slot_floor = _NO_FLOOR
            self._stats.clear()
            self.faults.clear()
            self._persist()

    def job_ids(self) -> list[str]:
        with self._lock:
            return list(self._jobs)

    # ------------------------------------------------------------------------------------------- statistics
    def record_request(self, method: str, route: str, job_id: str | None) -> None:
        """Count one request (an overridable hook: subclasses may also keep their own record).

        ``job_id`` is the id in the request's path: a job id, a file id or a deployed model.
        """
        self._stats.record(method, route, job_id)

    def stats(self) -> dict[str, Any]:
        return self._stats.summary()

    def request_count(self, method: str | None = None, route: str | None = None, job_id: str | None = None) -> int:
        m, r = normalize_route(route, method)
        return self._stats.count(m, r, job_id)

    # ------------------------------------------------------------------------------------------ persistence
    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            floor = self._slot_floor
            return {
                "version": persistence.VERSION,
                "seq": self._seq,
                "slot_floor": None if floor == _NO_FLOOR else floor,
                "jobs": [job.to_dict() for job in self._jobs.values()],
                "files": self.files.snapshot(),
                "deployments": self.deployments.snapshot(),
            }

    def load(self, path: str) -> None:
        data = persistence.read(path)
        with self._lock:
            self._jobs = {}
            for raw in data.get("jobs", []):
                job = Job.from_dict(raw)
                self._jobs[job.job_id] = job
            self._seq = int(data.get("seq") or len(self._jobs))
            floor = data.get("slot_floor")
            self._slot_floor = _NO_FLOOR if floor is None else float(floor)
            self.files.restore(data.get("files") or {})
            self.deployments.restore(data.get("deployments") or {})

    def _persist(self) -> None:
        if self.config.state_file:
            persistence.write_atomic(self.config.state_file, self.snapshot())
