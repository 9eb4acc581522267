"""`PostgresCommandStore.execute_many`: many commands in one transaction, each with the outcome it would have alone.

A batch costs BEGIN, one statement locking its idempotency keys, one reading their kept responses, one locking its
orders' rows, one writing everything (plus one per further version of an order it changes more than once), COMMIT —
instead of that many per command. Between the reads and the writes the commands are decided in memory, in the
batch's order, each on the state the commands before it left and with the responses they kept: what a command sees
is what it would have seen run alone after them. A refused command (domain error, reused key) writes nothing and is
left out of the writes, so it undoes no other one; each accepted one writes its own order version, events (outbox
rows, in the batch's order), command record and kept response, exactly the rows `execute` writes.

The locks are those of `execute` (advisory lock per key, row lock per order), taken in a fixed order, so a batch
and single commands serialise as single commands do. What a concurrent writer can still do is make the batch fail
as a whole (a deadlock with another batch, an order id inserted meanwhile): nothing of it is written, and
`PostgresCommandStore` then runs its commands one at a time, each in its own transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import TupleRow

from writer import ports
from writer.accepting import accept
from writer.domain import Order, OrderAlreadyExists, evolve
from writer.errors import IdempotencyKeyReused
from writer.postgres import sql
from writer.postgres.rows import command_params, order_from_row, order_params, response_params

Connection = AsyncConnection[TupleRow]
Outcome = ports.Accepted | ports.Replayed | Exception
KeyId = tuple[str, str]
"""(scope, key) of an idempotency claim."""


@dataclass(frozen=True, slots=True)
class _Kept:
    fingerprint: bytes
    response: ports.StoredResponse


async def run_batch(
    conn: Connection, commands: Sequence[tuple[ports.CommandRequest, ports.Decider]], new_event_id: Callable[[], UUID]
) -> list[Outcome]:
    """Decide and write `commands` in one transaction on `conn`; raises (nothing written) if the transaction fails."""
    async with conn.transaction():
        kept = await _lock_keys(conn, [request.idempotency for request, _ in commands if request.idempotency])
        orders = await _lock_orders(conn, {request.aggregate_id for request, _ in commands if not request.creates})
        plan = BatchPlan(orders, kept, new_event_id)
        for request, decide in commands:
            plan.add(request, decide)
        for statement, params in plan.writes():
            await conn.execute(statement, params)
    return plan.outcomes


async def _lock_keys(conn: Connection, claims: list[ports.IdempotencyClaim]) -> dict[KeyId, _Kept]:
    """Lock every key (waiting for concurrent holders), then read the live responses kept under them."""
    if not claims:
        return {}
    scopes, keys = [claim.scope for claim in claims], [claim.key for claim in claims]
    await conn.execute(sql.LOCK_IDEMPOTENCY_KEYS, (scopes, keys))
    cursor = await conn.execute(sql.FIND_LIVE_RESPONSES, (scopes, keys))
    return {
        (scope, key): _Kept(bytes(fingerprint), ports.StoredResponse(status=status, headers=headers, body=bytes(body)))
        for scope, key, fingerprint, status, headers, body in await cursor.fetchall()
    }


async def _lock_orders(conn: Connection, order_ids: set[str]) -> dict[str, Order]:
    """The existing orders among `order_ids`, locked until the transaction ends."""
    if not order_ids:
        return {}
    cursor = await conn.execute(sql.LOCK_ORDERS, ([UUID(order_id) for order_id in order_ids],))
    return {str(row[0]): order_from_row(str(row[0]), row[1:]) for row in await cursor.fetchall()}


@dataclass(slots=True)
class BatchPlan:
    """The pure part of a batch: decide commands one after the other on the states and kept responses read for
    them, and gather the rows the accepted ones write."""

    states: dict[str, Order]
    """Each order's latest state: as read, then as the batch's accepted commands left it."""
    kept: dict[KeyId, _Kept]
    """Live responses by key: as read, then those of the batch's accepted commands."""
    new_event_id: Callable[[], UUID]
    outcomes: list[Outcome] = field(default_factory=list)
    _read: frozenset[str] = frozenset()
    _versions: dict[str, list[Order]] = field(default_factory=dict)
    _events: list[dict[str, Any]] = field(default_factory=list)
    _commands: list[dict[str, Any]] = field(default_factory=list)
    _responses: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._read = frozenset(self.states)

    def add(self, request: ports.CommandRequest, decide: ports.Decider) -> None:
        try:
            self.outcomes.append(self._decide(request, decide))
        except Exception as error:  # this command's refusal (DomainError, IdempotencyKeyReused, PermissionDenied…)
            self.outcomes.append(error)

    def _decide(self, request: ports.CommandRequest, decide: ports.Decider) -> ports.Accepted | ports.Replayed:
        claim = request.idempotency
        if claim is not None and (kept := self.kept.get((claim.scope, claim.key))) is not None:
            if kept.fingerprint != claim.fingerprint:
                raise IdempotencyKeyReused(claim.key)
            return ports.Replayed(kept.response)
        if request.creates and request.aggregate_id in self.states:
            raise OrderAlreadyExists(request.aggregate_id)
        state = None if request.creates else self.states.get(request.aggregate_id)
        decision = decide(state)
        accepted, rows = accept(request, decision, new_event_id=self.new_event_id)
        new_state = evolve(state, decision)
        self.states[new_state.id] = new_state
        self._versions.setdefault(new_state.id, []).append(new_state)
        for row in rows:
            envelope = row.envelope
            self._events.append({
                "event_id": envelope.event_id, "aggregate_type": envelope.aggregate_type,
                "aggregate_id": envelope.aggregate_id, "event_type": envelope.event_type, "payload": row.payload,
                "version": envelope.version, "sequence": envelope.sequence, "correlation_id": envelope.correlation_id,
                "causation_id": envelope.causation_id, "occurred_at": new_state.updated_at,
            })  # fmt: skip
        self._commands.append(command_params(request, accepted))
        if claim is not None:
            response = claim.respond(accepted)
            self.kept[(claim.scope, claim.key)] = _Kept(claim.fingerprint, response)
            self._responses.append({**response_params(claim, accepted, response), "command_id": request.command_id})
        return accepted

    def writes(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """The statements that save what was accepted: an order's successive versions go in successive statements
        (the version trigger checks each step); events, commands and responses all go in the first."""
        rounds = max((len(versions) for versions in self._versions.values()), default=0)
        for step in range(rounds):
            created: list[dict[str, Any]] = []
            changed: list[dict[str, Any]] = []
            for order_id, versions in self._versions.items():
                if step < len(versions):
                    new_order = step == 0 and order_id not in self._read
                    (created if new_order else changed).append(order_params(versions[step]))
            params = _arrays("created_", created) | _arrays("changed_", changed)
            if step == 0:
                params |= _arrays("event_", self._events) | _arrays("command_", self._commands)
                params |= _arrays("response_", self._responses)
            yield sql.save_orders(created=bool(created), changed=bool(changed), records=step == 0), params


def _arrays(prefix: str, rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Rows of one kind as the column arrays `sql.save_orders` unnests (`%(<prefix><column>)s`)."""
    return {f"{prefix}{column}": [row[column] for row in rows] for column in sql.ARRAYS[prefix]}
