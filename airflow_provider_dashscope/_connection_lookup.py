"""A connection id that is not found: which ``dashscope`` connection the DAG author probably meant.

Only read when a lookup has already failed, so it costs nothing on the normal path. It reads connection ids and
types, never a password: from ``AIRFLOW_CONN_*`` variables (their JSON ``conn_type`` or URI scheme), from the
metadata DB where this process may read it (Airflow 2, ``airflow dags test``; an Airflow 3 worker may not), and,
when those say nothing, it asks Airflow for the provider's default connection id if that one is close.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from airflow_provider_dashscope._regions import DEFAULT_CONN_ID

CONN_TYPE = "dashscope"
_ENV_PREFIX = "AIRFLOW_CONN_"
#: How alike two ids must be (difflib's ratio) to suggest one for the other: a typo or two, a different case.
SIMILARITY = 0.8


def closest(missing: str, candidates: Iterable[str]) -> str | None:
    """The candidate most like ``missing`` (ignoring case), if one is alike enough; never ``missing`` itself."""
    by_folded: dict[str, str] = {}
    for candidate in candidates:
        if candidate != missing:
            by_folded.setdefault(candidate.lower(), candidate)
    matches = difflib.get_close_matches(missing.lower(), list(by_folded), n=1, cutoff=SIMILARITY)
    return by_folded[matches[0]] if matches else None


def conn_type_of(value: str) -> str | None:
    """The ``conn_type`` of an ``AIRFLOW_CONN_*`` value (JSON or URI form), reading nothing else of it."""
    text = value.strip()
    if text.startswith("{"):
        try:
            document = json.loads(text)
        except ValueError:
            return None
        conn_type = document.get("conn_type") if isinstance(document, dict) else None
        return conn_type.lower() if isinstance(conn_type, str) else None
    scheme, separator, _ = text.partition("://")
    return scheme.lower().replace("-", "_") if separator else None


def env_conn_ids(environ: Mapping[str, str], conn_type: str = CONN_TYPE) -> list[str]:
    """Ids of the connections of ``conn_type`` defined as ``AIRFLOW_CONN_<ID>`` variables (ids in lower case)."""
    return [
        key[len(_ENV_PREFIX) :].lower()
        for key, value in environ.items()
        if key.startswith(_ENV_PREFIX) and len(key) > len(_ENV_PREFIX) and conn_type_of(value) == conn_type
    ]


def db_conn_ids(conn_type: str = CONN_TYPE, limit: int = 500) -> list[str]:
    """Ids of the connections of ``conn_type`` in the metadata DB, or none when this process may not read it."""
    try:
        from airflow.models.connection import Connection
        from airflow.utils.session import create_session
        from sqlalchemy import select

        with create_session() as session:
            query = select(Connection.conn_id).where(Connection.conn_type == conn_type).limit(limit)
            return [str(conn_id) for conn_id in session.scalars(query)]
    except Exception:  # no DB here (an Airflow 3 worker or triggerer), or no table yet: nothing to suggest
        return []


def similar_conn_id(
    missing: str,
    *,
    environ: Mapping[str, str] | None = None,
    look_in_db: bool = True,
    lookup: Callable[[str], Any] | None = None,
) -> str | None:
    """A ``dashscope`` connection Airflow can see whose id is close to ``missing``, or ``None``.

    ``lookup(conn_id)`` returns a connection or raises; it is asked only about the default id, and only when the
    variables and the DB name nothing close (an Airflow 3 worker cannot list connections).
    """
    candidates = env_conn_ids(os.environ if environ is None else environ)
    if look_in_db:
        candidates += db_conn_ids()
    found = closest(missing, candidates)
    if found is not None or lookup is None or closest(missing, [DEFAULT_CONN_ID]) is None:
        return found
    try:
        conn = lookup(DEFAULT_CONN_ID)
    except Exception:
        return None
    return DEFAULT_CONN_ID if getattr(conn, "conn_type", None) == CONN_TYPE else None
