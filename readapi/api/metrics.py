"""Prometheus metrics of the read API's requests, timed by the kit's `RequestMetricsMiddleware` and served by its
`/metrics` (the read flows count their cache lookups and waits in `readapi.reads`)."""

from __future__ import annotations

from prometheus_client import Histogram

# Fine-grained at the low end: the cached detail's target is p99 ≤ 5 ms, search's p99 ≤ 50 ms.
_LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUEST_LATENCY = Histogram(
    "readapi_request_duration_seconds", "Time to answer, per route and status.", ["route", "status"],
    buckets=_LATENCY_BUCKETS,
)  # fmt: skip
