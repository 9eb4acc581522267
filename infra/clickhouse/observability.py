"""Structured logs (one JSON line per query, never row data) and Prometheus metrics for /metrics."""

from __future__ import annotations

import logging
import sys

import structlog
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)

# Statement kinds used as a metric label; anything else is "OTHER" so user input cannot blow up cardinality.
_KINDS = frozenset(
    {
        "SELECT",
        "WITH",
        "INSERT",
        "CREATE",
        "DROP",
        "ALTER",
        "TRUNCATE",
        "RENAME",
        "OPTIMIZE",
        "SHOW",
        "DESCRIBE",
    }
    | {"DESC", "EXPLAIN", "EXISTS", "SYSTEM", "KILL", "SET", "USE", "CHECK", "DELETE", "UPDATE"}
)


def metric_kind(kind: str) -> str:
    return kind if kind in _KINDS else "OTHER"


def configure_logging(level: str) -> None:
    """JSON lines on stderr for our events and for uvicorn's (stdlib) loggers alike."""
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(),
            ],
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


class Metrics:
    """A registry of its own (plus process metrics such as RSS): several apps in one process never clash."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        self.queries = Counter(
            "clickhouse_http_queries",
            "Queries answered, by user, statement kind and outcome (ok or the ClickHouse error name).",
            ["user", "kind", "outcome"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "clickhouse_http_query_duration_seconds",
            "Request time in the server: body read, decompression, engine queue and execution.",
            ["kind"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=self.registry,
        )
        self.queue_wait = Histogram(
            "clickhouse_engine_queue_wait_seconds",
            "Time a query waited for the single engine thread (contention between clients).",
            buckets=(0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30),
            registry=self.registry,
        )
        self.written_rows = Counter(
            "clickhouse_written_rows", "Rows written, materialized views included.", registry=self.registry
        )
        self.read_rows = Counter("clickhouse_read_rows", "Rows read by queries.", registry=self.registry)
        self.in_flight = Gauge(
            "clickhouse_http_requests_in_flight",
            "Queries received and not yet answered.",
            registry=self.registry,
        )

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
