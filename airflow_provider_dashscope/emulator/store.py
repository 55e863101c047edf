"""The state of one emulated account: its jobs, plans, faults and request counters.

:class:`EmulatorState` is the one object the HTTP handlers, the CLI and tests talk to. It
holds the lock, applies the API's rules to the job records of :mod:`.jobs` and schedules them
with :mod:`.schedule`. Rules enforced here:

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
* **Seeded and planned statuses.** A seed entry's (or plan's) ``status`` is where the job
  starts: PENDING, QUEUING, RUNNING or CANCELING at seed time, after which it follows its life
  cycle with its durations to its outcome (a seeded RUNNING job trains for ``running_seconds``
  from seed time and holds the training slot; a seeded QUEUING one trains as soon as the slot is
  free; a seeded CANCELING one never trains). A terminal status is the job's end state: it ended
  at its ``end_time`` if given, else at ``create_time + pending + running`` or at seed time,
  whichever is earlier. ``"pin": true`` keeps the status forever instead, and an unknown status
  (e.g. ``PAUSED``) is always pinned; pinned jobs take no training slot.
"""

from __future__ import annotations

import dataclasses
import os
import random
import threading
from collections.abc import Iterable
from typing import Any

from . import jobs as lifecycle
from . import persistence
from .config import EmulatorConfig
from .errors import ApiError, invalid, not_found, unsupported
from .faults import FaultSet
from .job_input import as_id_list, check_plan, check_seed_entry, parse_create_body
from .jobs import QUOTA_STATUSES, TERMINAL, Job
from .logs import training_log
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
        self._plans: list[dict[str, Any]] = []
        self._rng = random.Random(config.random_seed)
        self._stats = RequestStats()
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
        for job, start in zip(waiting, assign_slots(requests, free)):
            lifecycle.plan_run(job, start)

    def _start(self, job: Job, now: float, settings: dict[str, Any]) -> None:
        """Put a new job on its life cycle, in the status a seed or plan gives (or pin it)."""
        status, pin = settings.get("status"), bool(settings.get("pin"))
        if status is None:
            if pin:
                raise ValueError("'pin' needs a 'status' to pin")
            job.timeline = lifecycle.waiting_phases(job.created, job.pending_seconds)
            return
        job.seeded_status = status = str(status)
        if pin or status not in lifecycle.KNOWN_STATUSES:
            job.pinned, job.trains = True, False
        elif status == lifecycle.PENDING:
            job.timeline = [(now, lifecycle.PENDING)]
        elif status == lifecycle.QUEUING:
            job.timeline = [(now, lifecycle.QUEUING)]
        elif status == lifecycle.RUNNING:
            job.timeline = lifecycle.run_phases(job, now, now)
        elif status == lifecycle.CANCELING:
            job.trains = False
            job.timeline = lifecycle.cancel_phases(job, now)
        else:
            job.trains = False
            job.timeline = lifecycle.ended_phases(status, self._seeded_end(job, now, settings.get("end_time")))

    def _seeded_end(self, job: Job, now: float, end_time: Any) -> float:
        """When a job seeded as over ended: its ``end_time`` if readable, else after its nominal run."""
        if end_time is not None:
            try:
                return self.parse_time(end_time)
            except ValueError:
                pass
        return min(job.created + job.pending_seconds + job.running_seconds, now)

    # -------------------------------------------------------------------------------------------- API ops
    def create_job(self, body: Any, workspace: str | None = None) -> dict[str, Any]:
        request = parse_create_body(body)
        with self._lock:
            now = self.now()
            cfg = self.config
            if self._count_quota(now) >= cfg.quota:
                raise ApiError(
                    429, "Throttling", f"Only {cfg.quota} fine-tune job in running or succeeded allowed per user."
                )
            job_id = self._new_job_id(now)
            self._seq += 1
            job = Job(
                job_id=job_id,
                job_name=request.job_name or job_id,
                model=request.model,
                base_model=request.model,
                created=now,
                seq=self._seq,
                training_file_ids=request.training_file_ids,
                validation_file_ids=request.validation_file_ids,
                training_datasets=request.training_datasets,
                validation_datasets=request.validation_datasets,
                hyper_parameters=request.hyper_parameters,
                training_type=request.training_type,
                workspace_id=workspace or cfg.workspace_id,
                model_name=request.model_name,
                suffix=request.suffix,
                **self._default_settings(),
            )
            settings: dict[str, Any] = {}
            for extra in (cfg.model_profiles.get(request.model), self._plans.pop(0) if self._plans else None):
                if extra:
                    lifecycle.apply_settings(job, extra)
                    settings.update(extra)
            self._start(job, now, settings)
            self._jobs[job_id] = job
            self._reschedule(now)
            self._persist()
            return lifecycle.render(job, now, cfg)

    def _default_settings(self) -> dict[str, Any]:
        cfg = self.config
        return {
            "pending_seconds": cfg.pending_seconds,
            "running_seconds": cfg.running_seconds,
            "canceling_seconds": cfg.canceling_seconds,
            "outcome": cfg.default_outcome,
            "failure_code": cfg.failure_code,
            "failure_message": cfg.failure_message,
        }

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
                model = spec["model"]
                created = self.parse_time(spec["create_time"]) if spec.get("create_time") is not None else now
                job_id = spec.get("job_id") or self._new_job_id(created)
                self._seq += 1
                job = Job(
                    job_id=job_id,
                    job_name=spec.get("job_name") or job_id,
                    model=model,
                    base_model=spec.get("base_model") or model,
                    created=created,
                    seq=self._seq,
                    training_file_ids=as_id_list(spec.get("training_file_ids", ["file-emulator-seed"]), "training"),
                    validation_file_ids=as_id_list(spec.get("validation_file_ids"), "validation"),
                    training_datasets=spec.get("training_datasets"),
                    validation_datasets=spec.get("validation_datasets"),
                    hyper_parameters=dict(spec.get("hyper_parameters") or {}),
                    training_type=spec.get("training_type") or "sft",
                    workspace_id=spec.get("workspace_id") or cfg.workspace_id,
                    model_name=spec.get("model_name"),
                    extra=dict(spec.get("extra") or {}),
                    **self._default_settings(),
                )
                lifecycle.apply_settings(job, spec)
                self._start(job, now, spec)
                self._jobs[job_id] = job
                ids.append(job_id)
            self._reschedule(now)
            self._persist()
        return ids

    def plan_next(self, *settings: dict[str, Any]) -> None:
        """Queue settings (outcome, durations, usage, code/message, status...) for the next created jobs."""
        with self._lock:
            self._plans.extend(check_plan(s) for s in settings)

    def reset(self) -> None:
        """Forget all jobs, plans, faults and counters."""
        with self._lock:
            self._jobs.clear()
            self._plans.clear()
            self._slot_floor = _NO_FLOOR
            self._stats.clear()
            self.faults.clear()
            self._persist()

    def job_ids(self) -> list[str]:
        with self._lock:
            return list(self._jobs)

    # ------------------------------------------------------------------------------------------- statistics
    def record_request(self, method: str, route: str, job_id: str | None) -> None:
        """Count one request (an overridable hook: subclasses may also keep their own record)."""
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

    def _persist(self) -> None:
        if self.config.state_file:
            persistence.write_atomic(self.config.state_file, self.snapshot())
