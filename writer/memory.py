"""`CommandStore` in memory: the port's semantics without a database (tests, demos, a writer without Postgres).

A command holds its idempotency key's lock, then its order's lock, until it is saved; every write of an accepted
command happens at once after the decision, so a `DomainError` from `decide` (or any other failure) writes nothing.
The store yields to the event loop where a real store waits for a round trip, so concurrent commands really do
interleave, and it is the locks that serialize them, as row and advisory locks do in Postgres.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Hashable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TypeVar
from uuid import UUID, uuid4
from weakref import WeakValueDictionary

from writer import ports
from writer.accepting import accept
from writer.domain import Decision, Order, OrderAlreadyExists, evolve
from writer.errors import IdempotencyKeyReused
from writer.outbox import OutboxRow

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class _KeptResponse:
    fingerprint: bytes
    response: ports.StoredResponse
    expires_at: float


class InMemoryCommandStore:
    """Orders, accepted commands, kept responses and the outbox in dicts and lists of this process.

    `clock` gives seconds on any monotonic scale: a kept response is live while `clock()` is before its expiry.
    """

    def __init__(
        self, *, clock: Callable[[], float] = time.monotonic, new_event_id: Callable[[], UUID] = uuid4
    ) -> None:
        self._clock = clock
        self._new_event_id = new_event_id
        self._orders: dict[str, Order] = {}
        self._commands: dict[UUID, ports.CommandRecord] = {}
        self._responses: dict[tuple[str, str], _KeptResponse] = {}
        self._outbox: list[OutboxRow] = []
        # A lock lives while some command holds or awaits it, then it is dropped with the last reference.
        self._key_locks: WeakValueDictionary[tuple[str, str], asyncio.Lock] = WeakValueDictionary()
        self._order_locks: WeakValueDictionary[str, asyncio.Lock] = WeakValueDictionary()

    @property
    def outbox(self) -> tuple[OutboxRow, ...]:
        """Every event of the accepted commands, in commit order: what the relay would publish."""
        return tuple(self._outbox)

    async def execute(self, request: ports.CommandRequest, decide: ports.Decider) -> ports.Accepted | ports.Replayed:
        claim = request.idempotency
        async with self._holding_key(claim):
            await _round_trip()
            if claim is not None and (replayed := self._live_response(claim)) is not None:
                return replayed
            async with _holding(self._order_locks, request.aggregate_id):
                await _round_trip()
                state = None if request.creates else self._orders.get(request.aggregate_id)
                decision = decide(state)
                await _round_trip()
                return self._save(request, state, decision)

    def _live_response(self, claim: ports.IdempotencyClaim) -> ports.Replayed | None:
        kept = self._responses.get((claim.scope, claim.key))
        if kept is None or kept.expires_at <= self._clock():
            return None
        if kept.fingerprint != claim.fingerprint:
            raise IdempotencyKeyReused(claim.key)
        return ports.Replayed(kept.response)

    def _save(self, request: ports.CommandRequest, state: Order | None, decision: Decision) -> ports.Accepted:
        """Build every write first, then apply them all: a failure on the way leaves the store as it was."""
        new_state = evolve(state, decision)
        if state is None and new_state.id in self._orders:
            raise OrderAlreadyExists(new_state.id)
        accepted, rows = accept(request, decision, new_event_id=self._new_event_id)
        record = ports.CommandRecord(
            command_id=request.command_id, issued_by=request.issued_by, outcome=accepted.outcome()
        )
        kept = self._kept(request.idempotency, accepted)
        self._orders[new_state.id] = new_state
        self._outbox.extend(rows)
        self._commands[request.command_id] = record
        self._responses.update(kept)
        return accepted

    def _kept(
        self, claim: ports.IdempotencyClaim | None, accepted: ports.Accepted
    ) -> dict[tuple[str, str], _KeptResponse]:
        """The response to keep under the claim's key (nothing without a claim)."""
        if claim is None:
            return {}
        kept = _KeptResponse(claim.fingerprint, claim.respond(accepted), self._clock() + claim.ttl_s)
        return {(claim.scope, claim.key): kept}

    @asynccontextmanager
    async def _holding_key(self, claim: ports.IdempotencyClaim | None) -> AsyncIterator[None]:
        """Concurrent requests with the same key wait here until the first one has saved (or failed)."""
        if claim is None:
            yield
            return
        async with _holding(self._key_locks, (claim.scope, claim.key)):
            yield

    async def find_command(self, command_id: UUID) -> ports.CommandRecord | None:
        await _round_trip()
        return self._commands.get(command_id)

    async def check_ready(self) -> None:
        """Memory is always there."""

    async def purge_expired_idempotency_keys(self) -> int:
        now = self._clock()
        expired = [key for key, kept in self._responses.items() if kept.expires_at <= now]
        for key in expired:
            del self._responses[key]
        return len(expired)


@asynccontextmanager
async def _holding(locks: WeakValueDictionary[K, asyncio.Lock], key: K) -> AsyncIterator[None]:
    lock = locks.get(key)
    if lock is None:
        lock = locks[key] = asyncio.Lock()
    async with lock:
        yield


async def _round_trip() -> None:
    """Let other tasks run, as awaiting a database would."""
    await asyncio.sleep(0)
