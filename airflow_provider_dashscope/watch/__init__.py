"""Watching an account's fine-tune jobs for the ones that end, for event-driven scheduling (no I/O here).

* :mod:`.scan` — one look at the jobs through the list endpoint (newest first), reading only the pages needed: a
  :class:`~.scan.Snapshot` of every job created since a point, and where the next look may stop;
* :mod:`.cursor` — what one watcher has reported and how far it has looked (the :class:`~.cursor.WatchCursor` it
  keeps in the asset state store), and the rule that turns each snapshot into the jobs to report.

The trigger that drives them is :class:`airflow_provider_dashscope.triggers.events.DashScopeFineTuneJobEventTrigger`.
"""
