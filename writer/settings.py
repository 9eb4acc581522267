"""Configuration of the writer service: one pydantic-settings model, read from `CQRS_WRITER_*` variables.

Every default works on a developer machine with the native stack running (`cqrs stack up postgres`); a
deployment overrides the database URL and the JWT secret.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from infra.slot_retention import DEFAULT_MIN_SAFE_FRACTION
from schemas.read_models import DLQ_PREFIX, EVENTS_TOPIC, MIRROR_PREFIX
from servicekit.settings import Port, ServiceSettings, stack_database_url


class WriterSettings(ServiceSettings):
    """Settings of one writer process (each uvicorn worker reads them and opens its own pool); host, workers, log level
    and the JWT fields (`CQRS_WRITER_JWT_SECRET`, …) come from `ServiceSettings`."""

    model_config = SettingsConfigDict(env_prefix="CQRS_WRITER_", extra="ignore")

    database_url: str = Field(
        default_factory=lambda: stack_database_url("cqrs_writer"),
        description="libpq URL of the write model, as the writer's own role (rows only: no DDL, no replication)",
    )
    migration_database_url: str = Field(
        default_factory=stack_database_url, description="the write model as its owner: what `migrate` connects as"
    )
    pool_min_size: int = Field(2, ge=1)
    pool_max_size: int = Field(16, ge=1)
    pool_timeout_s: float = Field(5.0, gt=0, description="how long a request waits for a connection → 503")
    pool_max_waiting: int = Field(
        64,
        ge=0,
        description="requests queued for a connection beyond which a command is refused at once (503, Retry-After):"
        " an overloaded writer sheds load instead of making every request wait pool_timeout_s; 0: no bound",
    )

    idempotency_ttl_s: int = Field(24 * 3600, ge=1, description="how long a stored response is replayed")
    idempotency_purge_interval_s: float = Field(300.0, gt=0)
    max_body_bytes: int = Field(64 * 1024, ge=1024, description="larger request bodies get 413")
    batch_max_body_bytes: int = Field(
        64 * 1024 * 1024, ge=1024, description="limit of one POST /commands/batch body (~150k typical lines)"
    )
    batch_lines_per_transaction: int = Field(
        500, ge=1, description="lines of a batch applied in one transaction (each line keeps its own outcome)"
    )
    batch_max_lines: int = Field(200_000, ge=1, description="command lines of one batch; more get 422")
    batch_max_per_subject: int = Field(
        2, ge=1, description="batches one subject runs at once per worker; more get 429 with Retry-After"
    )

    relay_slot: str = Field("cqrs_outbox", description="Debezium's replication slot to guard ('' turns the guard off)")
    relay_slot_min_safe_fraction: float = Field(
        DEFAULT_MIN_SAFE_FRACTION, ge=0, lt=1, description="503 once less of max_slot_wal_keep_size is left"
    )
    relay_slot_poll_interval_s: float = Field(1.0, gt=0, description="how often the slot's retention is read")
    relay_connect_url: str = Field(
        "",
        description="Kafka Connect's REST API: the relay connector's state is exported as gauges, and readiness"
        " (`/health/ready`) also asks whether the connector, its task and its slot run ('' turns both off)",
    )
    relay_connector: str = Field("orders-outbox", description="the relay's Debezium connector in Kafka Connect")
    relay_connect_poll_interval_s: float = Field(5.0, gt=0, description="how often the connector's state is read")

    # The command trace (`GET /commands/{commandId}`, writer/trace): where a command's events are. It reads the
    # projections' checkpoint mirror in Redis and the event and dead-letter topics in Kafka, nothing else of the read
    # side: no read-store credentials at all (docs/security.md). Clients connect on the first trace, not at start-up.
    trace_redis_url: str = Field(
        default_factory=lambda: _stack_url("redis", "redis://127.0.0.1:{port}/0"),
        description="Redis holding the projections' checkpoint mirror (read only: GET, HGET, SUBSCRIBE)",
    )
    trace_mirror_prefix: str = Field(MIRROR_PREFIX, description="the workers' `CQRS_STREAMS_REDIS_PREFIX`")
    trace_kafka_bootstrap: str = Field(
        default_factory=lambda: _stack_url("kafka", "127.0.0.1:{port}"),
        description="Kafka, to find a command's events in the event topic and its parked events in the DLQ topics",
    )
    trace_events_topic: str = Field(EVENTS_TOPIC, description="the topic the relay writes (`CQRS_STREAMS_TOPIC`)")
    trace_dlq_prefix: str = Field(DLQ_PREFIX, description="the workers' `CQRS_STREAMS_DLQ_PREFIX`")
    trace_wait_default_s: float = Field(5.0, gt=0, description="how long `?wait=applied` waits without a `timeout`")
    trace_wait_max_s: float = Field(30.0, gt=0, description="the largest `timeout` a `?wait=applied` may ask for")
    trace_max_waiters: int = Field(100, ge=1, description="traces waiting at once per process; beyond it 503")
    trace_timeout_s: float = Field(3.0, gt=0, description="bound of each Kafka or Redis lookup of one trace")

    port: Port = 8001
    grpc_enabled: bool = Field(True, description="serve the gRPC command API (writer/grpc) beside HTTP")
    grpc_port: int = Field(
        50051,
        ge=0,
        le=65535,
        description="port of the gRPC command API on `host`; 0: any free one (tests). Every worker process listens on"
        " it (SO_REUSEPORT, gRPC's default), as they share the HTTP port",
    )


def _stack_url(service: str, template: str) -> str:
    """A service of the native stack (`cqrs stack up`): the defaults that work on a developer machine."""
    from infra.settings import stack_settings

    return template.format(port=getattr(stack_settings().ports, service))


@lru_cache(maxsize=1)
def writer_settings() -> WriterSettings:
    """The settings of this process, read from the environment once."""
    return WriterSettings()
