"""Prometheus metrics of the gRPC service, per RPC and status code (served by the writer's `/metrics`).

Commands are also counted in the writer's own command metrics (`writer_commands_total{command,outcome}`), whichever
way they came; these say how the gRPC transport answered.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

# The command metrics' buckets: fine-grained below 15 ms, where the writer's latency target is judged.
_BUCKETS = (0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

CALLS = Counter("writer_grpc_calls", "gRPC calls answered, per method and status code.", ["method", "code"])
CALL_LATENCY = Histogram(
    "writer_grpc_call_duration_seconds",
    "Time from a received gRPC call to its answer, per method and status code.",
    ["method", "code"],
    buckets=_BUCKETS,
)


def record_call(method: str, code: str, seconds: float) -> None:
    CALLS.labels(method, code).inc()
    CALL_LATENCY.labels(method, code).observe(seconds)
