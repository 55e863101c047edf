"""The route table: path resolution and the spelling of route templates."""

from __future__ import annotations

import pytest

from airflow_provider_dashscope.emulator.faults import ROUTES
from airflow_provider_dashscope.emulator.routes import (
    TABLE,
    UNMATCHED,
    WRONG_METHOD,
    Match,
    normalize_route,
    resolve,
)


@pytest.mark.parametrize(
    "method, path, expected",
    [
        ("POST", "/api/v1/fine-tunes", Match("/fine-tunes", None, "create_job")),
        ("GET", "/api/v1/fine-tunes/", Match("/fine-tunes", None, "list_jobs")),
        ("GET", "/api/v1/fine-tunes/ft-1", Match("/fine-tunes/{job_id}", "ft-1", "get_job")),
        ("DELETE", "/api/v1/fine-tunes/ft-1/", Match("/fine-tunes/{job_id}", "ft-1", "delete_job")),
        ("POST", "/api/v1/fine-tunes/ft-1/cancel", Match("/fine-tunes/{job_id}/cancel", "ft-1", "cancel_job")),
        ("GET", "/api/v1/fine-tunes/ft-1/logs", Match("/fine-tunes/{job_id}/logs", "ft-1", "job_logs")),
        ("PUT", "/api/v1/fine-tunes", Match("/fine-tunes", None, WRONG_METHOD)),
        ("GET", "/api/v1/fine-tunes/ft-1/cancel", Match("/fine-tunes/{job_id}/cancel", "ft-1", WRONG_METHOD)),
        ("GET", "/api/v1/nope", Match(UNMATCHED, None, None)),
        ("GET", "/api/v1/fine-tunes/ft-1/stream/x", Match(UNMATCHED, None, None)),
        ("GET", "/api/v1", Match(UNMATCHED, None, None)),
    ],
)
def test_resolve(method, path, expected) -> None:
    assert resolve(method, path) == expected


def test_every_route_resolves_to_its_own_operation() -> None:
    for route in TABLE:
        path = "/api/v1" + route.template.replace("{job_id}", "the-id")
        match = resolve(route.method, path)
        assert (match.template, match.operation) == (route.template, route.operation)


def test_faults_name_the_routes_of_the_table() -> None:
    assert tuple((r.method, r.template) for r in TABLE) == ROUTES


@pytest.mark.parametrize(
    "route, method, expected",
    [
        ("GET /fine-tunes/{id}", None, ("GET", "/fine-tunes/{job_id}")),
        ("/api/v1/fine-tunes/{x}/logs/", "get", ("GET", "/fine-tunes/{job_id}/logs")),
        (None, None, ("*", "*")),
        ("*", "POST", ("POST", "*")),
        ("fine-tunes", None, ("*", "/fine-tunes")),
        ("/not/served/{id}", None, ("*", "/not/served/{id}")),
    ],
)
def test_normalize_route(route, method, expected) -> None:
    assert normalize_route(route, method) == expected
