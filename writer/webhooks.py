"""The webhook endpoint registry port: operators register where events go; the delivery agent
(`streams.webhooks`) reads the registry and writes the delivery log this port serves back.

Adapter: `writer.postgres.webhooks.PostgresWebhookRegistry` (tables of migration 0007).
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
