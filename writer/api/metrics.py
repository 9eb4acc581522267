"""Prometheus metrics of the writer (served by the kit's `/metrics`, across workers)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

# Fine-grained below 15 ms: that is where the latency target (p99 ≤ 15 ms) has to be judged.
_LATENCY_BUCKETS = (0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

COMMAND_LATENCY = Histogram(
    "writer_command_duration_seconds",
    "Time from a validated request to its answer, per command and outcome (accepted, replayed, a problem).",
    ["command", "outcome"],
    buckets=_LATENCY_BUCKETS,
)
COMMANDS = Counter("writer_commands", "Commands answered, per command and outcome.", ["command", "outcome"])
COMMANDS_IN_FLIGHT = Gauge(
    "writer_commands_in_flight", "Commands being handled right now.", multiprocess_mode="livesum"
)
EVENTS_STORED = Counter("writer_events_stored", "Events written to the outbox, per event type.", ["event_type"])
# Every HTTP answer by route template and status (the kit's middleware): what a 5xx-rate alert and latency panel read.
REQUEST_LATENCY = Histogram(
    "writer_request_duration_seconds", "Time to answer, per route and status.", ["route", "status"],
    buckets=_LATENCY_BUCKETS,
)  # fmt: skip


def record_command(command: str, outcome: str, seconds: float) -> None:
    COMMAND_LATENCY.labels(command, outcome).observe(seconds)
    COMMANDS.labels(command, outcome).inc()
