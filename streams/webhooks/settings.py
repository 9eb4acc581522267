"""Settings of the webhook delivery agent and its CLI: one model, `CQRS_WEBHOOKS_*`, defaults for the native stack."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from infra.settings import Ports


def _ports() -> Ports:
    return Ports()


class WebhookSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CQRS_WEBHOOKS_", extra="ignore")

    ports: Ports = Field(default_factory=_ports)
    kafka_host: str = "127.0.0.1"
    """Where Kafka is (a service name under docker-compose)."""
    database_url: str | None = None
    """The write model's database (endpoints, delivery log, DLQ); default: the native stack's `orders`."""
    topic: str = "events.Order"
    group_id: str = "webhooks"

    max_attempts: int = Field(5, ge=1)
    """Attempts per delivery before it is parked in the DLQ."""
    backoff_initial_s: float = Field(0.5, ge=0)
    """First pause between attempts; it doubles per attempt (plus jitter) up to `backoff_max_s`."""
    backoff_max_s: float = Field(8.0, ge=0)
    backoff_jitter_s: float = Field(0.5, ge=0)
    """Up to this much random delay is added to each pause, so retries of many deliveries do not arrive in step."""
    timeout_s: float = Field(10.0, gt=0)
    """Per attempt: an endpoint slower than this has failed the attempt."""
    endpoint_concurrency: int = Field(8, ge=1)
    """Deliveries in flight per endpoint (each to a different order): one endpoint's slowness uses only its slots."""
    suspend_after: int = Field(3, ge=1)
    """Parked deliveries in a row (no success between) after which an endpoint counts as down…"""
    suspend_s: float = Field(60.0, ge=0)
    """…for this long: its deliveries are parked at once, without attempts, so it cannot slow the batches down.
    The first delivery after the pause is a normal one (a probe); a success ends the suspension."""

    batch_size: int = Field(500, ge=1)
    batch_timeout_s: float = Field(0.2, ge=0)
    endpoints_refresh_s: float = Field(2.0, ge=0)
    """How stale the agent's copy of the endpoint registry may be (a new endpoint waits at most this long)."""
    metrics_port: int = Field(59410, ge=0)
    """Prometheus /metrics of the agent; 0 turns it off."""

    @property
    def kafka_bootstrap(self) -> str:
        return f"{self.kafka_host}:{self.ports.kafka}"

    @property
    def database(self) -> str:
        return self.database_url or f"postgresql://postgres@127.0.0.1:{self.ports.postgres}/orders"
