"""The delivery agent: the `BatchHandler` a Kafka runner drives (consumer group `webhooks` on `events.Order`).

A batch becomes one chain of deliveries per (endpoint, order), in offset order. Chains run concurrently, so an order
or an endpoint that fails only delays itself; within a chain, an event is sent only after the previous one was
delivered. A chain whose delivery is parked holds the rest of that order's events for that endpoint (parked too, as
`held`), in this batch and later ones, until `cqrs webhooks dlq replay` sends them in order. `process` returns once
every delivery is delivered, parked or deferred (and the log, DLQ and queue rows are committed): only then does the
runner commit the batch's offsets. Delivery is at least once; receivers deduplicate on `webhook-id` (the eventId).

A batch has a deadline (`batch_deadline_s`) below Kafka's poll interval: a consumer that does not poll in time is
put out of its group and the whole batch is redelivered, to every endpoint. So the chains still running at the
deadline (a slow endpoint) are cancelled and their rest is deferred: queued in `webhook_deferred` with the attempts
made so far, sent first by the next batches (or between batches), and the new events of those (endpoint, order)
pairs queue behind them. The other endpoints get each event once.
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
from streams.webhooks.cipher import encrypt_plaintext_secrets, secret_cipher
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


@dataclass(slots=True, kw_only=True)
class _Chain:
    """One (endpoint, order)'s deliveries of a batch, in order, and how far a run got: `position` items settled,
    `tried` the attempts at the next one so far (a deadline may cancel it midway)."""

    endpoint: Endpoint
    held: bool
    from_queue: bool = False
    """The items came from the deferred queue (taken out of it once settled, or deferred again)."""
    items: list[ledger.Deferred] = field(default_factory=list)
    settled: _Settled = field(default_factory=_Settled)
    position: int = 0
    tried: list[Attempt] = field(default_factory=list)
    sending: bool = False
    """A delivery is under way: if the deadline cuts it, its attempt in flight counts (the endpoint may have got it)."""

    def add(self, item: ledger.Deferred) -> None:
        self.items.append(item)

    def left(self) -> list[ledger.Deferred]:
        """What the run did not settle, to be deferred; the interrupted delivery keeps count of its attempts."""
        left = self.items[self.position :]
        if not left:
            return []
        head = left[0]
        self.settled.log += self.tried
        done = head.attempts + len(self.tried) + int(self.sending)
        if done > head.attempts or not self.from_queue:  # a queued delivery that waited again is not news
            self.settled.log.append(
                Attempt(delivery=head.delivery, number=done, outcome="deferred", error="deferred: batch deadline")
            )
            metrics.DELIVERIES.labels(str(self.endpoint.id), "deferred").inc()
        return [ledger.Deferred(head.delivery, done), *left[1:]]


class WebhookAgent:
    def __init__(self, settings: WebhookSettings, pool: Pool, *, sender: Sender | None = None) -> None:
        self.settings = settings
        self.retired = asyncio.Event()  # never set: the agent has no generations to follow
        self._pool = pool
        self._directory = EndpointDirectory(pool, settings.endpoints_refresh_s, secret_cipher(settings))
        self._sender = sender or Sender(settings)
        self._processed = False
        self._partitions: set[int] = set()
        """Of the topic, assigned to this agent: it works the deferred queue of their events only."""
        self._health = EndpointHealth(settings.suspend_after, settings.suspend_s)
        self._slots: defaultdict[UUID, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(settings.endpoint_concurrency)
        )

    @classmethod
    async def open(cls, settings: WebhookSettings) -> WebhookAgent:
        cipher = secret_cipher(settings)  # no key outside dev mode: refuse before anything starts
        pool: Pool = AsyncConnectionPool(
            settings.database, min_size=1, max_size=4, open=False, name="cqrs-webhooks",
            kwargs={"autocommit": True, "application_name": "cqrs-webhooks"},
        )  # fmt: skip
        await pool.open(wait=True)
        async with pool.connection() as conn:
            if sealed := await encrypt_plaintext_secrets(conn, cipher):
                log.info("encrypted %d webhook secret(s) stored in clear", sealed)
        return cls(settings, pool)

    @property
    def group_id(self) -> str:
        return self.settings.group_id

    @property
    def topic(self) -> str:
        return self.settings.topic

    async def process(self, records: Sequence[Record]) -> None:
        self._processed = True
        await self._deliver(records)

    async def _deliver(self, records: Sequence[Record]) -> None:
        """Deliver the deferred queue's head and a batch's records, until every delivery is settled or the deadline
        (below Kafka's poll interval) has come: what is left then is deferred, and the batch is done all the same."""
        started = time.perf_counter()
        newest_s = max((record.timestamp_ms for record in records), default=0) / 1000
        endpoints = {endpoint.id: endpoint for endpoint in await self._directory.current(newest_s)}
        chains = self._chains(records, list(endpoints.values()))
        async with self._pool.connection() as conn:
            backlog = await ledger.deferred(
                conn, self._partitions, per_sequence=self.settings.batch_size, limit=self.settings.batch_size
            )
            queued = await ledger.deferred_sequences(conn, list({endpoint for endpoint, _ in chains}))
            keys = set(chains) | {(item.delivery.endpoint_id, item.delivery.order_id) for item in backlog}
            blocked = await ledger.parked_sequences(
                conn, list({endpoint for endpoint, _ in keys}), list({order for _, order in keys})
            )
        runs: dict[Sequence_, _Chain] = {}
        for item in backlog:
            key = (item.delivery.endpoint_id, item.delivery.order_id)
            if key[0] in endpoints:
                runs.setdefault(key, _Chain(endpoint=endpoints[key[0]], held=key in blocked, from_queue=True)).add(item)
        queue_behind: list[ledger.Deferred] = []
        for key, chain in chains.items():
            if key in queued:  # deliveries of this (endpoint, order) wait in the queue: these go behind them
                queue_behind += [ledger.Deferred(delivery) for delivery in chain]
            else:
                runs[key] = _Chain(
                    endpoint=endpoints[key[0]], held=key in blocked, items=[ledger.Deferred(d) for d in chain]
                )
        if not runs and not queue_behind:
            return
        deadline = started + self.settings.deadline_s
        await self._run_until(list(runs.values()), deadline)
        deferred = [item for run in runs.values() for item in run.left()] + queue_behind  # logs too: first
        async with self._pool.connection() as conn:
            await ledger.record(
                conn, [a for run in runs.values() for a in run.settled.log],
                [p for run in runs.values() for p in run.settled.parked],
                taken=[item.delivery for run in runs.values() if run.from_queue for item in run.items],
                deferred=deferred,
            )  # fmt: skip
        metrics.BATCH_SECONDS.observe(time.perf_counter() - started)

    async def _run_until(self, runs: list[_Chain], deadline: float) -> None:
        """Run the chains concurrently; cancel those still running at `deadline` (`time.perf_counter()`)."""
        if not runs:
            return
        tasks = [asyncio.create_task(self._run(run, deadline)) for run in runs]
        _, pending = await asyncio.wait(tasks, timeout=max(deadline - time.perf_counter(), 0))
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        for task in tasks:
            if not task.cancelled():
                task.result()  # a bug in a chain fails the batch, as before: nothing is committed
        if pending:
            log.info("webhooks: batch deadline reached, %d chain(s) deferred", len(pending))

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

    async def _run(self, run: _Chain, deadline: float) -> None:
        """Send one order's events to one endpoint in order; from the first parked one on, park the rest. A delivery
        whose attempt could outlast the deadline is not begun: it and the rest are deferred."""
        endpoint, settled = run.endpoint, run.settled
        behind = "an event of this order parked earlier" if run.held else None
        for item in run.items:
            delivery = item.delivery
            if behind is not None:
                settled.park(delivery, [], f"held behind {behind}", held=True)
            elif self._health.suspended(endpoint.id):
                settled.park(delivery, [], "endpoint suspended after repeated parked deliveries")
                behind = f"parked event {delivery.event_id}"
            else:
                async with self._slots[endpoint.id]:
                    if time.perf_counter() + self.settings.timeout_s > deadline:
                        return
                    run.sending = True
                    attempts = await self._sender.deliver(
                        endpoint, delivery, attempts=max(self.settings.max_attempts - item.attempts, 1),
                        done=item.attempts, tried=run.tried,
                    )  # fmt: skip
                run.tried, run.sending = [], False
                if attempts[-1].delivered:
                    settled.log += attempts
                    self._health.delivered(endpoint.id)
                    metrics.DELIVERIES.labels(str(endpoint.id), "delivered").inc()
                else:
                    settled.park(delivery, attempts, attempts[-1].error or "failed")
                    self._health.parked(endpoint.id)
                    behind = f"parked event {delivery.event_id}"
            run.position += 1

    async def tick(self) -> None:
        """When no batch came since the last tick, work on the deferred queue (a batch does that itself; and a
        tick right after a batch would add its own deadline to the batch's before the next poll)."""
        if self._processed:
            self._processed = False
            return
        await self._deliver(())

    def assigned(self, partitions: set[int]) -> None:
        self._partitions |= partitions
        log.info("webhooks: partitions assigned %s", sorted(partitions))

    def revoked(self, partitions: set[int]) -> None:
        self._partitions -= partitions
        log.info("webhooks: partitions revoked %s", sorted(partitions))

    def observe_highwaters(self, highwaters: Mapping[int, int], positions: Mapping[int, int]) -> None:
        for partition, highwater in highwaters.items():
            metrics.LAG_EVENTS.labels(str(partition)).set(max(highwater - positions.get(partition, highwater), 0))

    async def close(self) -> None:
        await self._sender.close()
        await self._pool.close()
