"""The wait engine: waiting on a remote resource with one set of rules for every mode, and no Airflow in it.

* :mod:`.outcomes` — how a wait ends (typed, with the JSON payload a trigger fires);
* :mod:`.policy` — what differs per resource: when a status means done, what to log, what to hand on;
  :mod:`.fine_tunes` and :mod:`.deployments` are the policies;
* :mod:`.machine` — the rules of a wait as a state machine with no I/O (told the time and each poll's result,
  it says what to do next);
* :mod:`.drivers` — the sync and async loops that carry out what the machine says;
* :mod:`.training_log` and :mod:`.progress` — a fine-tune's training log read line by line, and the progress
  the machine reports from it.

The Airflow side of a wait (checking, deferring, completing a task) is :mod:`airflow_provider_dashscope.tasks`.
"""
