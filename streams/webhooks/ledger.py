"""What happened to deliveries, in Postgres: the delivery log (one row per attempt), the DLQ of parked ones, and
the queue of deliveries deferred at a batch deadline (sent, in order, by the agent's next batches).

An agent batch writes its log rows and parked deliveries in one transaction before its offsets are committed, so
a parked delivery is durable before Kafka forgets the event for this consumer group.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import TupleRow

from streams.webhooks.delivery import Attempt, Delivery

Connection = AsyncConnection[TupleRow]

_LOG = """
INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, order_id, version, attempt, outcome, http_status,
                                error, duration_ms)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
"""
# ON CONFLICT: a batch redelivered after a crash may park the same event again.
_PARK = """
INSERT INTO webhook_parked (endpoint_id, event_id, event_type, order_id, version, sequence, source, body, reason,
                            attempts)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (endpoint_id, event_id) DO NOTHING
"""
_PARKED_SEQUENCES = """
SELECT DISTINCT endpoint_id, order_id FROM webhook_parked WHERE endpoint_id = ANY(%s) AND order_id = ANY(%s)
"""
_LIST_PARKED = """
SELECT endpoint_id, event_id, event_type, order_id, version, sequence, source, body, reason, attempts, parked_at
FROM webhook_parked
WHERE (%(endpoint)s::uuid IS NULL OR endpoint_id = %(endpoint)s) AND (%(order)s::text IS NULL OR order_id = %(order)s)
ORDER BY endpoint_id, order_id, version, sequence
LIMIT %(limit)s
"""
_DEFERRED = """
SELECT endpoint_id, event_id, event_type, order_id, version, sequence, source, body, attempts
FROM (
    SELECT d.*, row_number() OVER (PARTITION BY d.endpoint_id, d.order_id ORDER BY d.version, d.sequence) AS place
    FROM webhook_deferred d JOIN webhook_endpoints e ON e.id = d.endpoint_id AND e.deleted_at IS NULL
    WHERE d.partition = ANY(%(partitions)s)
) queued
WHERE place <= %(per_sequence)s
ORDER BY endpoint_id, order_id, version, sequence
LIMIT %(limit)s
"""
# DELETE stops deliveries: what a deleted endpoint still had queued is dropped (its log keeps what was sent).
_FORGET_DELETED = """
DELETE FROM webhook_deferred d USING webhook_endpoints e WHERE e.id = d.endpoint_id AND e.deleted_at IS NOT NULL
"""
_DEFERRED_SEQUENCES = "SELECT DISTINCT endpoint_id, order_id FROM webhook_deferred WHERE endpoint_id = ANY(%s)"
_DEFER = """
INSERT INTO webhook_deferred (endpoint_id, event_id, event_type, order_id, version, sequence, source, partition, body,
                              attempts)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (endpoint_id, event_id) DO UPDATE SET attempts = excluded.attempts
"""
_UNDEFER = "DELETE FROM webhook_deferred WHERE endpoint_id = %s AND event_id = %s"
_UNPARK = "DELETE FROM webhook_parked WHERE endpoint_id = %s AND event_id = %s"
_STILL_FAILING = """
UPDATE webhook_parked SET attempts = attempts + %s, reason = %s WHERE endpoint_id = %s AND event_id = %s
"""


@dataclass(frozen=True, slots=True)
class Parked:
    """A delivery in the DLQ; `reason` is the last error, or which parked event it is held behind."""

    delivery: Delivery
    reason: str
    attempts: int
    parked_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Deferred:
    """A delivery a batch deadline cut short, and the attempts it has had (its retries resume from there)."""

    delivery: Delivery
    attempts: int = 0


async def deferred(conn: Connection, partitions: Iterable[int], *, per_sequence: int, limit: int) -> list[Deferred]:
    """The head of the deferred queue of live endpoints, for events of these partitions (those this agent owns:
    another agent of the group works the others'), in order per (endpoint, order)."""
    await conn.execute(_FORGET_DELETED)
    params = {"partitions": sorted(partitions), "per_sequence": per_sequence, "limit": limit}
    rows = await (await conn.execute(_DEFERRED, params)).fetchall()
    return [Deferred(_delivery(row[:8]), row[8]) for row in rows]


async def deferred_sequences(conn: Connection, endpoints: Sequence[UUID]) -> set[tuple[UUID, str]]:
    """The (endpoint, order) pairs with deferred deliveries: their new events queue behind them."""
    if not endpoints:
        return set()
    rows = await (await conn.execute(_DEFERRED_SEQUENCES, (list(endpoints),))).fetchall()
    return {(endpoint_id, order_id) for endpoint_id, order_id in rows}


async def parked_sequences(conn: Connection, endpoints: Sequence[UUID], orders: Sequence[str]) -> set[tuple[UUID, str]]:
    """The (endpoint, order) pairs among these that have parked deliveries: their next events must wait too."""
    if not endpoints or not orders:
        return set()
    rows = await (await conn.execute(_PARKED_SEQUENCES, (list(endpoints), list(orders)))).fetchall()
    return {(endpoint_id, order_id) for endpoint_id, order_id in rows}


async def record(
    conn: Connection,
    attempts: Iterable[Attempt],
    parked: Iterable[Parked],
    *,
    taken: Iterable[Delivery] = (),
    deferred: Iterable[Deferred] = (),
) -> None:
    """Log the attempts, park the deliveries, take the deferred ones a batch settled (`taken`) out of the queue and
    queue those it `deferred`: all or nothing."""
    async with conn.transaction(), conn.cursor() as cursor:
        await cursor.executemany(_LOG, [_log_row(attempt) for attempt in attempts])
        await cursor.executemany(_PARK, [_park_row(item) for item in parked])
        await cursor.executemany(_UNDEFER, [(delivery.endpoint_id, delivery.event_id) for delivery in taken])
        await cursor.executemany(_DEFER, [_defer_row(item) for item in deferred])


async def list_parked(
    conn: Connection, *, endpoint_id: UUID | None = None, order_id: str | None = None, limit: int = 10_000
) -> list[Parked]:
    """Parked deliveries in replay order: per endpoint, per order, by version and sequence."""
    params = {"endpoint": endpoint_id, "order": order_id, "limit": limit}
    rows = await (await conn.execute(_LIST_PARKED, params)).fetchall()
    return [_parked(row) for row in rows]


async def unpark(conn: Connection, item: Parked, attempts: Sequence[Attempt]) -> None:
    """A replayed delivery went through: log its attempts and take it out of the DLQ."""
    async with conn.transaction(), conn.cursor() as cursor:
        await cursor.executemany(_LOG, [_log_row(attempt) for attempt in attempts])
        await cursor.execute(_UNPARK, (item.delivery.endpoint_id, item.delivery.event_id))


async def still_failing(conn: Connection, item: Parked, attempts: Sequence[Attempt]) -> None:
    """A replay failed again: log it, keep the delivery parked with the new reason."""
    reason = (attempts[-1].error or "failed") if attempts else "not attempted"
    async with conn.transaction(), conn.cursor() as cursor:
        await cursor.executemany(_LOG, [_log_row(attempt) for attempt in attempts])
        await cursor.execute(_STILL_FAILING, (len(attempts), reason, item.delivery.endpoint_id, item.delivery.event_id))


def _log_row(attempt: Attempt) -> tuple[object, ...]:
    return (
        *_event_columns(attempt.delivery),
        attempt.number, attempt.outcome, attempt.http_status, attempt.error, attempt.duration_ms,
    )  # fmt: skip


def _park_row(item: Parked) -> tuple[object, ...]:
    delivery = item.delivery
    return (*_event_columns(delivery), delivery.sequence, delivery.source, delivery.body, item.reason, item.attempts)


def _defer_row(item: Deferred) -> tuple[object, ...]:
    delivery = item.delivery
    return (
        *_event_columns(delivery),
        delivery.sequence, delivery.source, delivery.partition, delivery.body, item.attempts,
    )  # fmt: skip


def _event_columns(delivery: Delivery) -> tuple[object, ...]:
    """The columns the log, the DLQ and the deferred queue all start with: which event, due at which endpoint."""
    return delivery.endpoint_id, delivery.event_id, delivery.event_type, delivery.order_id, delivery.version


def _delivery(row: TupleRow) -> Delivery:
    endpoint_id, event_id, event_type, order_id, version, sequence, source, body = row
    return Delivery(
        endpoint_id=endpoint_id, event_id=str(event_id), event_type=event_type, order_id=order_id, version=version,
        sequence=sequence, source=source, body=bytes(body),
    )  # fmt: skip


def _parked(row: TupleRow) -> Parked:
    *delivery, reason, attempts, parked_at = row
    return Parked(_delivery(tuple(delivery)), reason, attempts, parked_at)
