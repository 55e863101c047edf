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
    assert stats.count("GET", "/files") == 0
    assert stats.count("GET") == 3
    assert stats.count("*", "/fine-tunes") == 1
    assert stats.count("GET", "/fine-tunes/{job_id}", "a") == 2
    assert stats.count(resource_id="b") == 1
    stats.record("DELETE", "/files/{file_id}", "f-1")
    stats.record("PUT", "/deployments/{deployed_model}/scale", "qwen3-8b")
    stats.record("GET", "<unmatched>", None)
    assert stats.summary() == {
        "total": 7,
        "by_route": {
            "GET /fine-tunes/{job_id}": 3,
            "POST /fine-tunes": 1,
            "DELETE /files/{file_id}": 1,
            "PUT /deployments/{deployed_model}/scale": 1,
            "GET <unmatched>": 1,
        },
        "by_job": {"a": 2, "b": 1},
        "by_file": {"f-1": 1},
        "by_deployment": {"qwen3-8b": 1},
    }
    stats.clear()
    assert stats.summary() == {"total": 0, "by_route": {}, "by_job": {}, "by_file": {}, "by_deployment": {}}
