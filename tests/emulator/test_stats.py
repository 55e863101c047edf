"""Request counters, without a server."""

from __future__ import annotations

from airflow_provider_dashscope.emulator.stats import RequestStats


def test_counts_filter_by_method_route_and_id() -> None:
    stats = RequestStats()
    for method, route, rid in [
        ("GET", "/fine-tunes/{job_id}", "a"),
        ("GET", "/fine-tunes/{job_id}", "a"),
        ("GET", "/fine-tunes/{job_id}", "b"),
        ("POST", "/fine-tunes", None),
    ]:
        stats.record(method, route, rid)
    assert stats.count() == 4
    assert stats.count("GET") == 3
    assert stats.count("*", "/fine-tunes") == 1
    assert stats.count("GET", "/fine-tunes/{job_id}", "a") == 2
    assert stats.count(resource_id="b") == 1
    assert stats.summary() == {
        "total": 4,
        "by_route": {"GET /fine-tunes/{job_id}": 3, "POST /fine-tunes": 1},
        "by_job": {"a": 2, "b": 1},
    }
    stats.clear()
    assert stats.summary() == {"total": 0, "by_route": {}, "by_job": {}}
