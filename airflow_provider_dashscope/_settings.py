"""The provider's Airflow settings (``[dashscope]`` in ``airflow.cfg``), read by the Airflow classes and passed
into the wait engine, which reads no configuration of its own."""

from __future__ import annotations

import logging

from airflow_provider_dashscope.wait.progress import DEFAULT_EVERY_POLLS

CONFIG_SECTION = "dashscope"
CONFIG_EVERY_POLLS = "training_progress_every_polls"


def every_polls_setting() -> int:
    """``[dashscope] training_progress_every_polls``: read the log at most once every this many polls (default 10).

    A value that is not an integer >= 1 gives the default, with a WARNING (a logging setting never fails a wait).
    """
    from airflow.providers.common.compat.sdk import conf

    raw = conf.get(CONFIG_SECTION, CONFIG_EVERY_POLLS, fallback=None)
    if raw is None or str(raw).strip() == "":
        return DEFAULT_EVERY_POLLS
    try:
        value = int(str(raw).strip())
    except ValueError:
        value = 0
    if value < 1:
        logging.getLogger(__name__).warning(
            "[%s] %s must be an integer >= 1 (polls between two reads of the training log), got %r; using %d",
            CONFIG_SECTION,
            CONFIG_EVERY_POLLS,
            raw,
            DEFAULT_EVERY_POLLS,
        )
        return DEFAULT_EVERY_POLLS
    return value
