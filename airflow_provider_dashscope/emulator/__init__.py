"""Local emulator of the DashScope (Alibaba Cloud Model Studio) fine-tunes API.

Imports only the standard library and aiohttp. Run it with ``dashscope-emulator --port 8089``
or, in tests, with :class:`.testing.EmulatorThread`. Where each rule lives:

* :mod:`.config` - settings, clock, zone, auth; :mod:`.times` - time formats;
* :mod:`.jobs` - a job's life cycle (timeline, usage, JSON form); :mod:`.schedule` - the
  one-at-a-time training slot; :mod:`.logs` - the synthesized training log;
* :mod:`.job_input` - create bodies and scenario (seed) entries;
* :mod:`.store` - :class:`EmulatorState`: quota, cancel and delete rules, seeding, plans;
* :mod:`.persistence` - the state file; :mod:`.stats` - request counters;
* :mod:`.routes` - the route table; :mod:`.app` - the HTTP handlers; :mod:`.admin` - the
  ``/_emulator`` control routes; :mod:`.faults` and :mod:`.fault_responses` - fault injection.

Scenario / seed job keys (all optional except ``model``): ``job_id``, ``job_name``,
``model``, ``base_model``, ``training_file_ids``, ``validation_file_ids``,
``training_datasets``, ``validation_datasets``, ``hyper_parameters``, ``training_type``,
``create_time`` ("YYYY-MM-DD HH:MM:SS" in the emulator zone, or epoch seconds),
``workspace_id``, ``model_name``, ``outcome`` (SUCCEEDED/FAILED/CANCELED),
``pending_seconds``/``running_seconds``/``canceling_seconds`` (or a ``durations``
object with those keys), ``usage``, ``failure_code``/``failure_message`` (or
``code``/``message``), ``finetuned_output``, ``finetuned_output_suffix``, ``end_time``,
``status`` (the status the job starts in at seed time; it then follows its life cycle,
see :mod:`.store`), ``pin`` (true: keep ``status`` forever; an unknown status is always
pinned; pinned jobs take no training slot) and ``extra`` (more fields merged into the job
object).
"""

from .app import API_PREFIX, STATE_KEY, create_app, start_site
from .config import EmulatorConfig
from .errors import ApiError
from .faults import KINDS as FAULT_KINDS
from .faults import Fault, FaultSet, parse_fault_spec
from .jobs import QUOTA_STATUSES, TERMINAL, Job
from .store import EmulatorState
from .testing import EmulatorThread, FakeClock

__all__ = [
    "API_PREFIX",
    "FAULT_KINDS",
    "QUOTA_STATUSES",
    "STATE_KEY",
    "TERMINAL",
    "ApiError",
    "EmulatorConfig",
    "EmulatorState",
    "EmulatorThread",
    "FakeClock",
    "Fault",
    "FaultSet",
    "Job",
    "create_app",
    "parse_fault_spec",
    "start_site",
]
