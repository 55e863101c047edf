"""Which ``dashscope`` connection a DAG author probably meant when a connection id is not found."""

from __future__ import annotations

import json

import pytest

from airflow_provider_dashscope._connection_lookup import (
    closest,
    conn_type_of,
    db_conn_ids,
    env_conn_ids,
    similar_conn_id,
)

SECRET = "sk-SECRET-never-read-9f1c"


def env(**connections: str) -> dict[str, str]:
    return {f"AIRFLOW_CONN_{conn_id.upper()}": value for conn_id, value in connections.items()}


def as_json(conn_type: str = "dashscope") -> str:
    return json.dumps({"conn_type": conn_type, "password": SECRET, "host": "http://127.0.0.1:8089"})


@pytest.mark.parametrize(
    ("missing", "candidates", "expected"),
    [
        ("dashscope_defualt", ["dashscope_default", "dashscope_prod"], "dashscope_default"),
        ("DASHSCOPE_DEFAULT", ["dashscope_default"], "dashscope_default"),
        ("dashscope_prd", ["dashscope_prod", "dashscope_default"], "dashscope_prod"),
        ("dashscope_prod", ["dashscope_default"], None),  # another name, not a typo
        ("openai_default", ["dashscope_default"], None),
        ("dashscope_default", ["dashscope_default"], None),  # never itself
        ("dashscope_defualt", [], None),
    ],
)
def test_closest_suggests_only_a_near_miss(missing, candidates, expected):
    assert closest(missing, candidates) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (as_json(), "dashscope"),
        (as_json("http"), "http"),
        (f"dashscope://:{SECRET}@dashscope-intl.aliyuncs.com/?workspace=llm-1", "dashscope"),
        (f"google-cloud-platform://:{SECRET}@", "google_cloud_platform"),
        ("not a connection", None),
        ('{"password": "x"}', None),
        ("{broken json", None),
    ],
)
def test_the_type_of_a_connection_variable_in_json_or_uri_form(value, expected):
    assert conn_type_of(value) == expected


def test_only_dashscope_connection_ids_are_read_from_the_environment_never_their_values():
    environ = env(dashscope_default=as_json(), http_default=as_json("http"), dashscope_prod=f"dashscope://:{SECRET}@")
    environ.update(AIRFLOW_CONN_="dashscope://", AIRFLOW__CORE__X="dashscope://", DASHSCOPE_API_KEY=SECRET)
    found = env_conn_ids(environ)
    assert sorted(found) == ["dashscope_default", "dashscope_prod"]
    assert SECRET not in repr(found)


def test_no_metadata_db_means_nothing_to_suggest_from_it():
    # The test session's AIRFLOW_HOME has no migrated DB; a worker that may not read it gets the same answer.
    assert db_conn_ids() == []


def test_a_close_connection_from_the_environment_is_suggested_without_asking_airflow():
    asked = []
    found = similar_conn_id(
        "dashscope_defualt", environ=env(dashscope_default=as_json()), look_in_db=False, lookup=asked.append
    )
    assert found == "dashscope_default"
    assert asked == []


class Conn:
    def __init__(self, conn_type: str) -> None:
        self.conn_type = conn_type


def test_without_a_list_it_asks_airflow_for_the_default_id_only_when_that_is_close():
    asked: list[str] = []

    def lookup(conn_id: str) -> Conn:
        asked.append(conn_id)
        return Conn("dashscope")

    assert similar_conn_id("dashscope_defualt", environ={}, look_in_db=False, lookup=lookup) == "dashscope_default"
    assert similar_conn_id("my_openai", environ={}, look_in_db=False, lookup=lookup) is None
    assert asked == ["dashscope_default"]


def test_the_default_id_is_suggested_only_if_it_exists_and_is_a_dashscope_connection():
    def missing(conn_id: str) -> Conn:
        raise LookupError(conn_id)

    assert similar_conn_id("dashscope_defualt", environ={}, look_in_db=False, lookup=missing) is None
    assert similar_conn_id("dashscope_defualt", environ={}, look_in_db=False, lookup=lambda _: Conn("http")) is None
    assert similar_conn_id("dashscope_defualt", environ={}, look_in_db=False, lookup=None) is None
