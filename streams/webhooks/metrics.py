"""Prometheus metrics of the webhook agent (served on `CQRS_WEBHOOKS_METRICS_PORT`)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

ATTEMPTS = Counter("webhook_attempts_total", "HTTP attempts, by endpoint and outcome", ["endpoint", "outcome"])
DELIVERIES = Counter(
    "webhook_deliveries_total",
    "Deliveries settled, by endpoint and outcome (delivered; parked after the retries; held behind a parked one)",
    ["endpoint", "outcome"],
)
ATTEMPT_SECONDS = Histogram(
    "webhook_attempt_latency_seconds", "Time of one HTTP attempt, answer or failure", ["endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)  # fmt: skip
BATCH_SECONDS = Histogram(
    "webhook_batch_seconds", "Time from a batch's arrival until every delivery in it is delivered or parked",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)  # fmt: skip
SUSPENDED = Gauge("webhook_suspended_endpoints", "Endpoints currently suspended after repeated parked deliveries")
LAG_EVENTS = Gauge("webhook_consumer_lag_events", "Events in the topic not yet handled", ["partition"])
UNDECODABLE = Counter("webhook_undecodable_events_total", "Events skipped because they cannot be decoded")
