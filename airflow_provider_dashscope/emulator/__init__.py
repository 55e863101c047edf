"""Local emulator of the DashScope (Alibaba Cloud Model Studio) fine-tunes, files and deployments API.

Imports only the standard library and aiohttp. Run it with ``dashscope-emulator --port 8089``
or, in tests, with :class:`.testing.EmulatorThread`. Where each rule lives:

* :mod:`.config` - settings, clock, zone, auth; :mod:`.times` - time formats;
* :mod:`.jobs` - a job's life cycle (timeline, usage, JSON form); :mod:`.schedule` - the
  one-at-a-time training slot; :mod:`.logs` - the synthesized training log;
* :mod:`.job_input` - create bodies and seed entries; :mod:`.scenario` - scenario files;
* :mod:`.store` - :class:`EmulatorState`: quota, cancel and delete rules, seeding, plans;
* :mod:`.files` and :mod:`.uploads` - uploaded files, their limits, the multipart body;
* :mod:`.deployments` - a deployment's life cycle; :mod:`.deployment_store` - the deployment routes' rules;
* :mod:`.persistence` - the state file; :mod:`.stats` - request counters;
* :mod:`.routes` - the route table; :mod:`.app` - the HTTP handlers; :mod:`.admin` - the
  ``/_emulator`` control routes; :mod:`.faults` and :mod:`.fault_responses` - fault injection;
* :mod:`.__main__` - the ``dashscope-emulator`` command; :mod:`.jobs_cli` - its ``jobs`` subcommands.

The keys of scenario jobs, files and deployments, with their types and meanings, are
:data:`.scenario.JOB_SCHEMA`, :data:`.scenario.FILE_SCHEMA` and :data:`.scenario.DEPLOYMENT_SCHEMA`
(``dashscope-emulator --help`` prints them); the cookbook is ``docs/emulator.md``.
"""

from .app import API_PREFIX, STATE_KEY, create_app, start_site
from .config import EmulatorConfig
from .errors import ApiError
from .faults import KINDS as FAULT_KINDS, Fault, FaultSet, parse_fault_spec
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
