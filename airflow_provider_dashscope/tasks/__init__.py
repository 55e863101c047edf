"""What the Airflow tasks that wait on a resource share, around the wait engine
(:mod:`airflow_provider_dashscope.wait`).

* :mod:`.wait` — the flow of every waiting task: check once, finish, defer or wait on the worker, complete;
* :mod:`.fine_tunes` and :mod:`.deployments` — what a task needs to know of its resource;
* :mod:`.identity` — what identifies a task instance across its tries.
"""
