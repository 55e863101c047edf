"""Local emulator of the DashScope (Alibaba Cloud Model Studio) fine-tunes API.

Imports only the standard library and aiohttp. See :mod:`.state` for the life-cycle,
quota, delete and time-zone rules, :mod:`.faults` for fault injection and :mod:`.app`
for the routes. Run it with ``dashscope-emulator --port 8089`` or, in tests, with
:class:`.testing.EmulatorThread`.

Scenario / seed job keys (all optional except ``model``): ``job_id``, ``job_name``,
``model``, ``base_model``, ``training_file_ids``, ``validation_file_ids``,
``training_datasets``, ``validation_datasets``, ``hyper_parameters``, ``training_type``,
``create_time`` ("YYYY-MM-DD HH:MM:SS" in the emulator zone, or epoch seconds),
``workspace_id``, ``model_name``, ``outcome`` (SUCCEEDED/FAILED/CANCELED),
``pending_seconds``/``running_seconds``/``canceling_seconds`` (or a ``durations``
object with those keys), ``usage``, ``failure_code``/``failure_message`` (or
``code``/``message``), ``finetuned_output``, ``finetuned_output_suffix``, ``end_time``,
``status`` (pin the job to this status forever, known or not; pinned jobs take no
training slot) and ``extra`` (more fields merged into the job object).
"""

from .app import API_PREFIX, STATE_KEY, create_app, start_site
from .faults import KINDS as FAULT_KINDS
from .faults import Fault, FaultSet, parse_fault_spec
from .state import (
    QUOTA_STATUSES,
    TERMINAL,
    ApiError,
    EmulatorConfig,
    EmulatorState,
    Job,
)
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
