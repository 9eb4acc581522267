"""The webhook endpoint registry port, as the `/webhooks` routes use it: operators register where events go; the
delivery agent reads the registry (`endpoints`) and writes the delivery log (`ledger`) this port serves back.

Adapter: `streams.webhooks.postgres.PostgresWebhookRegistry` (the tables of `migrations/0007_webhooks.sql`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID


@dataclass(frozen=True, slots=True, kw_only=True)
class WebhookEndpoint:
    id: UUID
    url: str
    event_types: tuple[str, ...]
    """Empty: every event type."""
    description: str | None
    secret: str
    created_by: str
    created_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryLogEntry:
    """One attempt (or the parking of a delivery) as the agent logged it."""

    event_id: UUID
    event_type: str
    order_id: str
    version: int
    attempt: int
    outcome: str
    http_status: int | None
    error: str | None
    duration_ms: float | None
    at: datetime


class WebhookRegistry(Protocol):
    """Where operators' endpoints are kept; an unreachable store raises `WebhookStoreUnavailable` (503)."""

    async def register(self, endpoint: WebhookEndpoint) -> None: ...

    async def live(self) -> list[WebhookEndpoint]:
        """Registered endpoints that were not deleted, oldest first."""
        ...

    async def find(self, endpoint_id: UUID) -> WebhookEndpoint | None:
        """A live endpoint, or None."""
        ...

    async def delete(self, endpoint_id: UUID) -> bool:
        """Stop deliveries to a live endpoint (its log stays); False if there was none."""
        ...

    async def deliveries(
        self, endpoint_id: UUID, *, limit: int, outcome: str | None = None
    ) -> tuple[list[DeliveryLogEntry], int]:
        """The newest log entries of an endpoint, and how many of its deliveries are parked now."""
        ...
