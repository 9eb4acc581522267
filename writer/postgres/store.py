"""`CommandStore` on PostgreSQL with psycopg 3: one transaction per command, as few statements as possible.

A command costs BEGIN, the order's row lock, one statement for every write, COMMIT (plus two statements with
an Idempotency-Key); a create without a key is a single statement, which is its own transaction. Writes are
one statement of data-modifying CTEs, and a trigger deletes the outbox rows again.

Why not pipeline mode: on a local database the bound is client CPU, not latency, and in asyncio every
pipelined statement still costs the driver a poll and a flush; measured, plain sequential statements used
~15 % less CPU per command. Statements are prepared automatically by psycopg after a few executions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID, uuid4

import psycopg
from psycopg import AsyncConnection
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from writer import ports
from writer.accepting import accept
from writer.domain import Decision, Order, OrderAlreadyExists, evolve
from writer.errors import IdempotencyKeyReused, StoreUnavailable
from writer.outbox import OutboxRow
from writer.postgres import sql
from writer.postgres.rows import order_from_row, order_params
from writer.postgres.slot_guard import SlotGuard

Pool = AsyncConnectionPool[AsyncConnection[TupleRow]]
Connection = AsyncConnection[TupleRow]


class PostgresCommandStore:
    """Runs each command in one transaction on a connection from `pool` (which the caller opens and closes)."""

    def __init__(
        self, pool: Pool, *, new_event_id: Callable[[], UUID] = uuid4, slot_guard: SlotGuard | None = None
    ) -> None:
        self._pool = pool
        self._new_event_id = new_event_id
        self._slot_guard = slot_guard

    async def execute(self, request: ports.CommandRequest, decide: ports.Decider) -> ports.Accepted | ports.Replayed:
        if self._slot_guard is not None:
            self._slot_guard.check()  # RelayAtRisk: the relay could lose this command's events
        try:
            return await self._execute(request, decide)
        except psycopg.errors.UniqueViolation as error:
            # Only CreateOrder inserts into orders: another order already has this id.
            if error.diag.constraint_name == "orders_pkey":
                raise OrderAlreadyExists(request.aggregate_id) from error
            raise
        except (PoolTimeout, psycopg.OperationalError) as error:
            # OperationalError covers lost connections and aborted transactions (deadlock, the version
            # trigger): nothing was committed, and retrying the same request is safe.
            raise StoreUnavailable(f"the write model is unavailable: {error}") from error

    async def _execute(self, request: ports.CommandRequest, decide: ports.Decider) -> ports.Accepted | ports.Replayed:
        claim = request.idempotency
        async with self._pool.connection() as conn:
            if request.creates and claim is None:
                # Nothing to read first: the single write statement is the whole transaction.
                return await self._save(conn, request, None, decide(None))
            async with conn.transaction():
                if claim is not None and (replayed := await _stored_response(conn, claim)) is not None:
                    return replayed  # nothing was written; the commit just releases the key's lock
                state = None if request.creates else await _lock_order(conn, request.aggregate_id)
                return await self._save(conn, request, state, decide(state))

    async def _save(
        self, conn: Connection, request: ports.CommandRequest, state: Order | None, decision: Decision
    ) -> ports.Accepted:
        """Write the new state, its summary, the events, the outcome and the response in one statement."""
        accepted, rows = accept(request, decision, new_event_id=self._new_event_id)
        params = {
            **order_params(evolve(state, decision)),
            **_outbox_params(rows),
            **_command_params(request, accepted),
            **_response_params(request.idempotency, accepted),
        }
        await conn.execute(sql.SAVE_CREATED if state is None else sql.SAVE_CHANGED, params)
        return accepted

    async def find_command(self, command_id: UUID) -> ports.CommandRecord | None:
        try:
            async with self._pool.connection() as conn:
                cursor = await conn.execute(sql.FIND_COMMAND, (command_id,))
                row = await cursor.fetchone()
        except (PoolTimeout, psycopg.OperationalError) as error:
            raise StoreUnavailable(f"the write model is unavailable: {error}") from error
        if row is None:
            return None
        issued_by, outcome = row
        return ports.CommandRecord(command_id=command_id, issued_by=issued_by, outcome=outcome)

    async def check_ready(self) -> None:
        try:
            async with self._pool.connection(timeout=min(2.0, self._pool.timeout)) as conn:
                await conn.execute("SELECT 1")
        except (PoolTimeout, psycopg.OperationalError) as error:
            raise StoreUnavailable(f"the write model is unavailable: {error}") from error

    async def purge_expired_idempotency_keys(self) -> int:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(sql.PURGE_EXPIRED_RESPONSES)
            return cursor.rowcount


async def _stored_response(conn: Connection, claim: ports.IdempotencyClaim) -> ports.Replayed | None:
    """Wait for any concurrent request with this key, then replay its response if it was the same request."""
    await conn.execute(sql.LOCK_IDEMPOTENCY_KEY, (claim.scope, claim.key))
    row = await (await conn.execute(sql.FIND_LIVE_RESPONSE, (claim.scope, claim.key))).fetchone()
    if row is None:
        return None
    fingerprint, status, headers, body = row
    if bytes(fingerprint) != claim.fingerprint:
        raise IdempotencyKeyReused(claim.key)
    return ports.Replayed(ports.StoredResponse(status=status, headers=headers, body=bytes(body)))


async def _lock_order(conn: Connection, order_id: str) -> Order | None:
    """The order, locked until the transaction ends (concurrent commands on it queue here)."""
    row = await (await conn.execute(sql.LOCK_ORDER, (UUID(order_id),))).fetchone()
    return None if row is None else order_from_row(order_id, row)


def _outbox_params(rows: list[OutboxRow]) -> dict[str, Any]:
    """Columns that differ per event go as arrays (unnest); the rest are the same for every event."""
    first = rows[0].envelope
    return {
        "aggregate_type": first.aggregate_type,
        "causation_id": first.causation_id,
        "event_ids": [row.envelope.event_id for row in rows],
        "event_types": [row.envelope.event_type for row in rows],
        "payloads": [row.payload for row in rows],
        "sequences": [row.envelope.sequence for row in rows],
    }


def _command_params(request: ports.CommandRequest, accepted: ports.Accepted) -> dict[str, Any]:
    return {
        "command_id": request.command_id,
        "command_name": request.command_name,
        "aggregate_id": request.aggregate_id,
        "issued_by": request.issued_by,
        "correlation_id": request.correlation_id,
        "outcome": Jsonb(accepted.outcome()),
    }


def _response_params(claim: ports.IdempotencyClaim | None, accepted: ports.Accepted) -> dict[str, Any]:
    """The response to keep under the idempotency key; all NULL (nothing kept) without a key."""
    if claim is None:
        return dict.fromkeys(
            ("scope", "key", "fingerprint", "response_status", "response_headers", "response_body", "ttl_s")
        )
    response = claim.respond(accepted)
    return {
        "scope": claim.scope,
        "key": claim.key,
        "fingerprint": claim.fingerprint,
        "response_status": response.status,
        "response_headers": Jsonb(dict(response.headers)),
        "response_body": response.body,
        "ttl_s": claim.ttl_s,
    }
