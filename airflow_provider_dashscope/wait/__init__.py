"""Waiting on a remote resource, one set of rules for every mode.

* :mod:`.events` — the event that ends a wait (typed, with the JSON payload a trigger fires);
* :mod:`.policy` — what differs per resource: when a status means done, what to log, what to hand on;
* :mod:`.machine` — the rules of a wait as a state machine with no I/O (told the time and each poll's result,
  it says what to do next);
* :mod:`.drivers` — the sync and async loops that carry out what the machine says;
* :mod:`.task` — what operators and sensors share around a wait: the check, deferring, completing.
"""
