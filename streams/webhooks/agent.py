"""The delivery agent: the `BatchHandler` a Kafka runner drives (consumer group `webhooks` on `events.Order`).

A batch becomes one chain of deliveries per (endpoint, order), in offset order. Chains run concurrently, so an order
or an endpoint that fails only delays itself; within a chain, an event is sent only after the previous one was
delivered. A chain whose delivery is parked holds the rest of that order's events for that endpoint (parked too, as
`held`), in this batch and later ones, until `cqrs webhooks dlq replay` sends them in order. `process` returns once
every delivery is delivered or parked (and the log and DLQ rows are committed): only then does the runner commit the
batch's offsets. Delivery is at least once; receivers deduplicate on `webhook-id` (the eventId).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from uuid import UUID

from psycopg_pool import AsyncConnectionPool

from streams.errors import PoisonEvent
from streams.records import Record, decode
from streams.webhooks import ledger, metrics
from streams.webhooks.delivery import Attempt, Delivery, Outcome, Sender
from streams.webhooks.endpoints import Endpoint, EndpointDirectory, Pool
from streams.webhooks.health import EndpointHealth
from streams.webhooks.payload import render
from streams.webhooks.settings import WebhookSettings

log = logging.getLogger(__name__)

Sequence_ = tuple[UUID, str]
"""(endpoint id, order id): the unit of ordering."""


@dataclass(slots=True)
class _Settled:
    """What a chain leaves behind: log rows, and deliveries for the DLQ."""

    log: list[Attempt] = field(default_factory=list)
    parked: list[ledger.Parked] = field(default_factory=list)

    def park(self, delivery: Delivery, attempts: Sequence[Attempt], reason: str, *, held: bool = False) -> None:
        self.log += attempts
        outcome: Outcome = "held" if held else "parked"
        self.log.append(Attempt(delivery=delivery, number=len(attempts), outcome=outcome, error=reason))
        self.parked.append(ledger.Parked(delivery, reason, len(attempts)))
        metrics.DELIVERIES.labels(str(delivery.endpoint_id), outcome).inc()


class WebhookAgent:
    def __init__(self, settings: WebhookSettings, pool: Pool, *, sender: Sender | None = None) -> None:
        self.settings = settings
        self.retired = asyncio.Event()  # never set: the agent has no generations to follow
        self._pool = pool
        self._directory = EndpointDirectory(pool, settings.endpoints_refresh_s)
        self._sender = sender or Sender(settings)
        self._health = EndpointHealth(settings.suspend_after, settings.suspend_s)
        self._slots: defaultdict[UUID, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(settings.endpoint_concurrency)
        )

    @classmethod
    async def open(cls, settings: WebhookSettings) -> WebhookAgent:
        pool: Pool = AsyncConnectionPool(
            settings.database, min_size=1, max_size=4, open=False, name="cqrs-webhooks",
            kwargs={"autocommit": True, "application_name": "cqrs-webhooks"},
        )  # fmt: skip
        await pool.open(wait=True)
        return cls(settings, pool)

    @property
    def group_id(self) -> str:
        return self.settings.group_id

    @property
    def topic(self) -> str:
        return self.settings.topic

    async def process(self, records: Sequence[Record]) -> None:
        started = time.perf_counter()
        endpoints = {endpoint.id: endpoint for endpoint in await self._directory.current()}
        chains = self._chains(records, list(endpoints.values()))
        if not chains:
            return
        async with self._pool.connection() as conn:
            blocked = await ledger.parked_sequences(
                conn, list({endpoint for endpoint, _ in chains}), list({order for _, order in chains})
            )
        settled = await asyncio.gather(
            *(self._run(endpoints[key[0]], chain, held=key in blocked) for key, chain in chains.items())
        )
        async with self._pool.connection() as conn:
            await ledger.record(conn, [a for s in settled for a in s.log], [p for s in settled for p in s.parked])
        metrics.BATCH_SECONDS.observe(time.perf_counter() - started)

    def _chains(self, records: Sequence[Record], endpoints: list[Endpoint]) -> dict[Sequence_, list[Delivery]]:
        """The deliveries of a batch, grouped by (endpoint, order) in offset order (one order is one partition)."""
        chains: dict[Sequence_, list[Delivery]] = {}
        for record in records:
            # The header routes without decoding; an event no endpoint wants costs nothing more.
            header_type = record.header("eventType")
            if header_type is not None and not any(endpoint.wants(header_type) for endpoint in endpoints):
                continue
            try:
                envelope = decode(record)
            except PoisonEvent as error:  # the projections' DLQ keeps it; there is nothing to send
                metrics.UNDECODABLE.inc()
                log.warning("skipping undecodable event at %s: %s", record.source, error)
                continue
            body: bytes | None = None
            for endpoint in endpoints:
                if not endpoint.wants(envelope.event_type) or envelope.timestamp < endpoint.created_at:
                    continue
                body = body or render(envelope)
                delivery = Delivery(
                    endpoint_id=endpoint.id, event_id=str(envelope.event_id), event_type=envelope.event_type,
                    order_id=envelope.aggregate_id, version=envelope.version, sequence=envelope.sequence,
                    source=record.source, body=body,
                )  # fmt: skip
                chains.setdefault((endpoint.id, envelope.aggregate_id), []).append(delivery)
        return chains

    async def _run(self, endpoint: Endpoint, chain: list[Delivery], *, held: bool) -> _Settled:
        """Send one order's events to one endpoint in order; from the first parked one on, park the rest."""
        settled = _Settled()
        behind = "an event of this order parked earlier" if held else None
        for delivery in chain:
            if behind is not None:
                settled.park(delivery, [], f"held behind {behind}", held=True)
                continue
            if self._health.suspended(endpoint.id):
                settled.park(delivery, [], "endpoint suspended after repeated parked deliveries")
                behind = f"parked event {delivery.event_id}"
                continue
            async with self._slots[endpoint.id]:
                attempts = await self._sender.deliver(endpoint, delivery, attempts=self.settings.max_attempts)
            if attempts[-1].delivered:
                settled.log += attempts
                self._health.delivered(endpoint.id)
                metrics.DELIVERIES.labels(str(endpoint.id), "delivered").inc()
            else:
                settled.park(delivery, attempts, attempts[-1].error or "failed")
                self._health.parked(endpoint.id)
                behind = f"parked event {delivery.event_id}"
        return settled

    async def tick(self) -> None:
        """Nothing to do between batches: endpoints are re-read by `process` when due."""

    def assigned(self, partitions: set[int]) -> None:
        log.info("webhooks: partitions assigned %s", sorted(partitions))

    def revoked(self, partitions: set[int]) -> None:
        log.info("webhooks: partitions revoked %s", sorted(partitions))

    def observe_highwaters(self, highwaters: Mapping[int, int], positions: Mapping[int, int]) -> None:
        for partition, highwater in highwaters.items():
            metrics.LAG_EVENTS.labels(str(partition)).set(max(highwater - positions.get(partition, highwater), 0))

    async def close(self) -> None:
        await self._sender.close()
        await self._pool.close()
