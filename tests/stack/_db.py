"""Read-only views of Airflow's metadata database for the real-stack tests (SQLite or PostgreSQL).

The pytest process never imports Airflow to poll states: it reads the tables with ``sqlite3`` or ``psycopg2``
(quick, and independent of the Airflow under test). Queries use ``?`` placeholders for both databases. The
assertions that matter are made through Airflow's ORM in a subprocess (``AirflowStack.orm_snapshot``).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any


class MetadataReader:
    """Queries on Airflow 3's metadata tables; subclasses say how to run SQL."""

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        raise NotImplementedError

    def close(self) -> None:
        pass

    # ---------------------------------------------------------------------------------------------- runs and tasks
    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        """State by task id of the run's unmapped task instances."""
        rows = self.query(
            "SELECT task_id, state FROM task_instance WHERE dag_id = ? AND run_id = ? AND map_index = -1",
            (dag_id, run_id),
        )
        return dict(rows)

    def mapped_states(self, dag_id: str, run_id: str, task_id: str) -> dict[int, str | None]:
        """State by map index of a mapped task's instances."""
        rows = self.query(
            "SELECT map_index, state FROM task_instance WHERE dag_id = ? AND run_id = ? AND task_id = ? "
            "AND map_index >= 0",
            (dag_id, run_id, task_id),
        )
        return {int(index): state for index, state in rows}

    def dag_run_state(self, dag_id: str, run_id: str) -> str | None:
        rows = self.query("SELECT state FROM dag_run WHERE dag_id = ? AND run_id = ?", (dag_id, run_id))
        return rows[0][0] if rows else None

    def dag_ready(self, dag_id: str) -> bool:
        """The DAG is serialized and not paused."""
        return bool(
            self.query(
                "SELECT 1 FROM serialized_dag s JOIN dag d ON d.dag_id = s.dag_id WHERE s.dag_id = ? "
                "AND d.is_paused = ?",
                (dag_id, False),
            )
        )

    # ----------------------------------------------------------------------------------------- triggers/triggerers
    def trigger_row(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> tuple | None:
        """(trigger id, classpath, triggerer_id) of the trigger the task instance waits on, if any."""
        rows = self.query(
            "SELECT t.id, t.classpath, t.triggerer_id FROM trigger t JOIN task_instance ti ON ti.trigger_id = t.id "
            "WHERE ti.dag_id = ? AND ti.run_id = ? AND ti.task_id = ? AND ti.map_index = ?",
            (dag_id, run_id, task_id, map_index),
        )
        return rows[0] if rows else None

    def trigger_holders(self, dag_id: str, run_id: str, task_id: str) -> dict[int, int | None]:
        """The triggerer job id (or None) holding each mapped task instance's trigger, by map index."""
        rows = self.query(
            "SELECT ti.map_index, t.triggerer_id FROM task_instance ti JOIN trigger t ON ti.trigger_id = t.id "
            "WHERE ti.dag_id = ? AND ti.run_id = ? AND ti.task_id = ?",
            (dag_id, run_id, task_id),
        )
        return {int(index): (None if holder is None else int(holder)) for index, holder in rows}

    def alive_triggerer_jobs(self) -> list[tuple]:
        """(job id, state, latest_heartbeat, hostname) of triggerer jobs that have not ended."""
        return self.query(
            "SELECT id, state, latest_heartbeat, hostname FROM job WHERE job_type = 'TriggererJob' "
            "AND end_date IS NULL AND state = 'running'"
        )


class SqliteReader(MetadataReader):
    def __init__(self, path: Path) -> None:
        self.path = path

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        if not self.path.exists():
            return []
        conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=10)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()


class PostgresReader(MetadataReader):
    """One autocommit connection; every query sees the latest committed rows."""

    def __init__(self, dsn: dict[str, Any]) -> None:
        self.dsn = dict(dsn)
        self._conn: Any = None

    def _connection(self) -> Any:
        import psycopg2  # type: ignore[import-untyped]

        if self._conn is None or self._conn.closed:
            self._conn = psycopg2.connect(connect_timeout=10, **self.dsn)
            self._conn.set_session(readonly=True, autocommit=True)
        return self._conn

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        import psycopg2  # type: ignore[import-untyped]
        from psycopg2 import errors  # type: ignore[import-untyped]

        try:
            with self._connection().cursor() as cur:
                cur.execute(sql.replace("?", "%s"), params)
                return cur.fetchall()
        except errors.UndefinedTable:  # before `airflow db migrate` made the tables
            return []
        except psycopg2.InterfaceError:  # the connection went away: reconnect on the next query
            self._conn = None
            raise psycopg2.OperationalError("metadata DB connection closed") from None

    def close(self) -> None:
        if self._conn is not None and not self._conn.closed:
            self._conn.close()
        self._conn = None
