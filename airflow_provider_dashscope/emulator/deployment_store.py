"""The account's deployments and the rules of their routes.

Rules (the reference gives the messages; where it is silent, the emulator chose):

* **Create** takes ``model_name`` (required), ``capacity`` (required), optional ``plan`` and
  ``suffix``; every other field is echoed in the deployment object. A model that is neither a
  known base model (``deployable_models``) nor the ``finetuned_output`` of a SUCCEEDED job is a
  404 ``NotFound`` "Model: <name> not found!". A second deployment with the same
  ``deployed_model`` (same model, no new suffix) is a 409 ``Conflict``, as long as the first
  exists (while DELETING too).
* **capacity** must be an integer from 1 to 999 (``base_capacity`` is 1); anything else is a
  400 ``InvalidParameter`` in the documented message shape. **suffix** is 1 to 8 characters
  of ``a-z0-9`` (400 otherwise). ``plan`` is echoed without checking its value.
* **Scale** (``PUT /deployments/{deployed_model}/scale``) works on a RUNNING deployment only
  (400 ``UnsupportedOperation`` otherwise); a ``deployed_model`` in the body must name the
  deployment of the path.
* **Delete** works in every status and answers the object, DELETING; deleting a DELETING
  deployment again answers the same. An unknown deployment is a 404 ``NotFound`` "Not found.".
* **List** is newest first, ``page_size`` 1..200, default 50.
* **Outcome.** A plan (``/_emulator/deployment-plans``) or a seed entry may set ``outcome``
  ``FAILED`` (the deployment ends FAILED instead of RUNNING) and the durations.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from typing import Any

from . import deployments as lc
from .config import EmulatorConfig
from .deployments import Deployment
from .errors import ApiError, invalid, not_found, unsupported
from .times import parse_plain

MAX_CAPACITY = 1000  # exclusive, per the API's message
_SUFFIX = re.compile(r"[a-z0-9]{1,8}")
_REQUEST_KEYS = frozenset({"model_name", "capacity", "plan", "suffix"})
SEED_KEYS = lc.SETTING_KEYS | {
    "deployed_model",
    "model_name",
    "base_model",
    "capacity",
    "plan",
    "suffix",
    "workspace_id",
    "gmt_create",
    "extra",
}


def gone() -> ApiError:
    return not_found("Not found.")


def check_capacity(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value < MAX_CAPACITY:
        raise invalid(
            f"Invalid capacity ({value}), capacity must be larger than or equal to 1 and multiples of 1 "
            f"and less than {MAX_CAPACITY}!"
        )
    return value


def check_suffix(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _SUFFIX.fullmatch(value):
        raise invalid(f"Invalid suffix ({value}), suffix must be 1 to 8 lowercase letters or digits.")
    return value


class DeploymentStore:
    """Deployments by ``deployed_model``; thread-safe under the lock it shares with the rest of the state.

    ``base_of(model)`` tells the base model of a deployable model, or None when it does not exist.
    """

    def __init__(
        self,
        config: EmulatorConfig,
        lock: threading.RLock,
        base_of: Callable[[str], str | None],
        on_change: Callable[[], None],
    ) -> None:
        self.config = config
        self._lock = lock
        self._base_of = base_of
        self._on_change = on_change
        self._items: dict[str, Deployment] = {}
        self._plans: list[dict[str, Any]] = []
        self._seq = 0

    def _now(self) -> float:
        return float(self.config.clock())

    def _live(self, now: float) -> dict[str, Deployment]:
        """Forget deployments whose delete has finished (lock held)."""
        for name in [n for n, d in self._items.items() if lc.status_at(d, now) == lc.GONE]:
            del self._items[name]
        return self._items

    def _existing(self, deployed_model: str, now: float) -> Deployment:
        record = self._live(now).get(deployed_model)
        if record is None:
            raise gone()
        return record

    def create(self, body: Any, workspace: str | None = None) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise invalid("Request body must be a JSON object")
        model = body.get("model_name")
        if not isinstance(model, str) or not model.strip():
            raise invalid("Missing model_name")
        capacity = check_capacity(body.get("capacity"))
        suffix = check_suffix(body.get("suffix"))
        plan = body.get("plan")
        if plan is not None and not isinstance(plan, str):
            raise invalid("Invalid plan: must be a string")
        with self._lock:
            base = self._base_of(model)
            if base is None:
                raise not_found(f"Model: {model} not found!")
            now = self._now()
            name = lc.deployed_name(model, suffix)
            if name in self._live(now):
                raise ApiError(409, "Conflict", f"Deployed model {name} already exists, please specify a suffix.")
            self._seq += 1
            record = Deployment(
                deployed_model=name,
                model_name=model,
                base_model=base,
                capacity=capacity,
                created=now,
                seq=self._seq,
                plan=plan,
                workspace_id=workspace or self.config.workspace_id,
                echoed={k: v for k, v in body.items() if k not in _REQUEST_KEYS},
                **lc.defaults(self.config),
            )
            settings = self._plans.pop(0) if self._plans else {}
            lc.apply_settings(record, settings)
            self._start(record, now, settings)
            self._items[name] = record
            self._on_change()
            return lc.render(record, now, self.config)

    def _start(self, record: Deployment, now: float, settings: dict[str, Any]) -> None:
        status, pin = settings.get("status"), bool(settings.get("pin"))
        if status is None:
            if pin:
                raise ValueError("'pin' needs a 'status' to pin")
            record.timeline = lc.deploy_phases(record, now)
            return
        record.seeded_status = status = str(status)
        if pin or status not in lc.STATUSES:
            record.pinned = True
        else:
            record.timeline = lc.seeded_phases(record, status, now)

    def get(self, deployed_model: str) -> dict[str, Any]:
        with self._lock:
            now = self._now()
            return lc.render(self._existing(deployed_model, now), now, self.config)

    def status(self, deployed_model: str) -> str | None:
        with self._lock:
            record = self._items.get(deployed_model)
            return None if record is None else lc.status_at(record, self._now())

    def page(self, page_no: int = 1, page_size: int = 50) -> dict[str, Any]:
        if page_no < 1:
            raise invalid("Invalid page_no: must be >= 1")
        if not 1 <= page_size <= 200:
            raise invalid("Invalid page_size: must be between 1 and 200")
        with self._lock:
            now = self._now()
            found = sorted(self._live(now).values(), key=lambda d: (d.created, d.seq), reverse=True)
            start = (page_no - 1) * page_size
            return {
                "page_no": page_no,
                "page_size": page_size,
                "total": len(found),
                "deployments": [lc.render(d, now, self.config) for d in found[start : start + page_size]],
            }

    def scale(self, deployed_model: str, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise invalid("Request body must be a JSON object")
        named = body.get("deployed_model")
        if named is not None and named != deployed_model:
            raise invalid(f"Invalid deployed_model ({named}): the path names {deployed_model}")
        capacity = check_capacity(body.get("capacity"))
        with self._lock:
            now = self._now()
            record = self._existing(deployed_model, now)
            status = lc.status_at(record, now)
            if status != lc.RUNNING:
                raise unsupported(
                    f"The deployment {deployed_model} cannot be scaled because its status is {status}; "
                    "only RUNNING deployments can be scaled."
                )
            record.timeline = lc.scale_phases(record, now)
            record.pinned = False
            record.previous_capacity, record.capacity = record.capacity, capacity
            self._on_change()
            return lc.render(record, now, self.config)

    def delete(self, deployed_model: str) -> dict[str, Any]:
        with self._lock:
            now = self._now()
            record = self._existing(deployed_model, now)
            if lc.status_at(record, now) != lc.DELETING:
                record.timeline = lc.delete_phases(record, now)
                record.pinned = False
                self._on_change()
            return lc.render(record, now, self.config)

    # ------------------------------------------------------------------------------------------------ admin
    def plan_next(self, *settings: dict[str, Any]) -> None:
        with self._lock:
            for s in settings:
                if not isinstance(s, dict):
                    raise TypeError("a deployment plan must be an object of settings")
                unknown = set(s) - lc.SETTING_KEYS
                if unknown:
                    raise ValueError(f"unknown deployment settings: {sorted(unknown)}")
                if s.get("pin") and s.get("status") is None:
                    raise ValueError("'pin' needs a 'status' to pin")
                lc.apply_settings(Deployment("plan", "", "", 1, 0.0, 0), s)  # raises on a bad outcome or duration
                self._plans.append(dict(s))

    def seed(self, entries: Iterable[Any]) -> list[str]:
        """Add deployments from scenario entries (``model_name`` required, no existence check)."""
        names = []
        with self._lock:
            now = self._now()
            for entry in entries:
                if not isinstance(entry, dict):
                    raise TypeError("each seeded deployment must be an object")
                unknown = set(entry) - SEED_KEYS
                if unknown:
                    raise ValueError(f"unknown deployment seed keys: {sorted(unknown)}")
                model = entry.get("model_name")
                if not model:
                    raise ValueError("a seeded deployment needs a model_name")
                name = entry.get("deployed_model") or lc.deployed_name(model, entry.get("suffix"))
                if name in self._live(now):
                    raise ValueError(f"deployment {name} already exists")
                created = now
                if entry.get("gmt_create") is not None:
                    created = parse_plain(entry["gmt_create"], self.config.tz, "gmt_create")
                self._seq += 1
                record = Deployment(
                    deployed_model=name,
                    model_name=model,
                    base_model=entry.get("base_model") or self._base_of(model) or model,
                    capacity=int(entry.get("capacity", 1)),
                    created=created,
                    seq=self._seq,
                    plan=entry.get("plan"),
                    workspace_id=entry.get("workspace_id") or self.config.workspace_id,
                    echoed=dict(entry.get("extra") or {}),
                    **lc.defaults(self.config),
                )
                lc.apply_settings(record, entry)
                self._start(record, now, entry)
                self._items[name] = record
                names.append(name)
            self._on_change()
        return names

    def names(self) -> list[str]:
        with self._lock:
            return list(self._live(self._now()))

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._plans.clear()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"seq": self._seq, "deployments": [d.to_dict() for d in self._items.values()]}

    def restore(self, data: dict[str, Any]) -> None:
        with self._lock:
            records = [Deployment.from_dict(raw) for raw in data.get("deployments", [])]
            self._items = {d.deployed_model: d for d in records}
            self._seq = int(data.get("seq") or len(records))
