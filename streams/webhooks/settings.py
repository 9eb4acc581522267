"""Settings of the webhook delivery agent and its CLI: one model, `CQRS_WEBHOOKS_*`, defaults for the native stack."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from infra.settings import Ports

AGENT_ROLE = "cqrs_webhooks"
"""The agent's PostgreSQL role (migrations/webhooks_0003_agent_role.sql): the webhook tables, not the orders."""
DEV_MODE_VARIABLE = "CQRS_DEV_MODE"
"""The same variable as `servicekit.tokens.DEV_MODE_VARIABLE` (the APIs' dev mode), so one switch covers both."""


def _ports() -> Ports:
    return Ports()


class WebhookSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CQRS_WEBHOOKS_", extra="ignore", populate_by_name=True)

    ports: Ports = Field(default_factory=_ports)
    kafka_host: str = "127.0.0.1"
    """Where Kafka is (a service name under docker-compose)."""
    database_url: str | None = None
    """The write model's database (endpoints, delivery log, DLQ); default: the native stack's `orders` as the agent's
    own role, `cqrs_webhooks` (webhook migration `webhooks_0003_agent_role`: the webhook tables only)."""
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

    dev_mode: bool = Field(False, validation_alias=DEV_MODE_VARIABLE)
    """`CQRS_DEV_MODE`, the one dev-mode switch of every service. A developer machine: endpoints may be plain http
    on loopback (the demo's and tests' receivers), and without `secret_key` the secrets are encrypted with a
    built-in, public dev key. Never in production."""
    secret_key: SecretStr | None = None
    """Fernet key(s) encrypting the endpoints' signing secrets at rest, comma-separated: the first encrypts, all
    decrypt (rotation). Required outside dev mode; the writer (which registers) and the agent need the same."""

    batch_size: int = Field(500, ge=1)
    batch_timeout_s: float = Field(0.2, ge=0)
    max_poll_interval_ms: int = Field(300_000, ge=1000)
    """Kafka's bound on the time between polls: a consumer slower than this is put out of its group, and the batch
    is redelivered (to every endpoint). The agent's batches therefore end before it (`batch_deadline_s`)."""
    batch_deadline_s: float | None = Field(None, gt=0)
    """How long a batch may deliver: deliveries not done by then are deferred (kept in order, tried again by the
    next batches) and the batch commits. Default: half the poll interval; it must stay below it."""
    endpoints_refresh_s: float = Field(2.0, ge=0)
    """How stale the agent's copy of the endpoint registry may be (a new endpoint waits at most this long)."""
    metrics_port: int = Field(59410, ge=0)
    """Prometheus /metrics of the agent; 0 turns it off."""
    metrics_host: str = "127.0.0.1"
    """Where it listens: loopback natively; a container's Prometheus needs 0.0.0.0 (compose)."""

    @model_validator(mode="after")
    def _deadline_below_poll_interval(self) -> WebhookSettings:
        if self.batch_deadline_s is not None and self.batch_deadline_s * 1000 >= self.max_poll_interval_ms:
            raise ValueError("batch_deadline_s must be below max_poll_interval_ms, or the group rebalances")
        if self.timeout_s >= self.deadline_s:
            raise ValueError("timeout_s must be below the batch deadline, or a slow endpoint's attempts never end")
        return self

    @property
    def deadline_s(self) -> float:
        """The batch deadline in effect."""
        return self.batch_deadline_s or self.max_poll_interval_ms / 2000

    @property
    def kafka_bootstrap(self) -> str:
        return f"{self.kafka_host}:{self.ports.kafka}"

    @property
    def database(self) -> str:
        return self.database_url or f"postgresql://{AGENT_ROLE}@127.0.0.1:{self.ports.postgres}/orders"
