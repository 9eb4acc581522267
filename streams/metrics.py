"""Prometheus metrics of a projection worker, served on a small HTTP port per worker process."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

EVENTS = Counter("streams_events_total", "Events handled, by outcome", ["projection", "outcome"])
BATCH_SIZE = Histogram(
    "streams_batch_size", "Events per batch", ["projection"], buckets=(1, 10, 50, 100, 250, 500, 1000, 2000, 5000)
)
APPLY_SECONDS = Histogram(
    "streams_apply_latency_seconds",
    "Time from a batch's arrival to its committed checkpoint (decode, load, project, flush)",
    ["projection"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
FLUSH_SECONDS = Histogram(
    "streams_flush_seconds", "Time of one bulk write to the store and DLQ", ["projection"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)  # fmt: skip
FLUSH_FAILURES = Counter("streams_flush_failures_total", "Failed flush attempts (each is retried)", ["projection"])
LAG_EVENTS = Gauge("streams_consumer_lag_events", "Events in the topic not yet applied", ["projection", "partition"])
LAG_SECONDS = Gauge(
    "streams_consumer_lag_seconds",
    "How old the newest applied event is on partitions with a backlog (0 when caught up): how far behind in time",
    ["projection"],
)
BATCH_FRESHNESS = Histogram(
    "streams_batch_freshness_seconds",
    "Age of each batch's newest event when the batch was applied (end-to-end freshness; its p99 is alerted on)",
    ["projection"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
)
FRESHNESS_SECONDS = Gauge(
    "streams_freshness_seconds", "Age of the newest applied event when it was applied (end-to-end)", ["projection"]
)
PARKED = Gauge("streams_dlq_parked_orders", "Orders with parked events in the DLQ", ["projection"])
DLQ_EVENTS = Gauge("streams_dlq_parked_events", "Events parked in the DLQ", ["projection"])
GENERATION = Gauge("streams_generation", "Target generation this worker writes", ["projection"])


def serve(port: int, host: str = "127.0.0.1") -> None:
    """Expose /metrics on `host`:`port` (port 0: don't)."""
    if port:
        start_http_server(port, addr=host)
