"""The writer's persistence port: run one command in one transaction, and read back accepted commands.

Adapters: `writer.postgres.PostgresCommandStore` and `writer.memory.InMemoryCommandStore`. The contract every adapter
must meet is specified once, in `tests/writer/store_contract.py`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

from writer.domain import Decision, Order

Decider = Callable[[Order | None], Decision]
"""Given the current state (None: no such order), decide the command or raise a `DomainError`."""


def iso_timestamp(moment: datetime) -> str:
    """`2024-05-01T12:00:00.123Z`: UTC, milliseconds (the events' precision), as every response shows time."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    event_id: UUID
    event_type: str
    sequence: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Accepted:
    """A command that was decided and committed, with the events it stored."""

    command_id: UUID
    command_name: str
    aggregate_id: str
    version: int
    timestamp: datetime
    correlation_id: str
    events: tuple[RecordedEvent, ...]

    def outcome(self) -> dict[str, Any]:
        """The JSON document stored for `GET /commands/{commandId}`."""
        return {
            "commandId": str(self.command_id),
            "command": self.command_name,
            "status": "accepted",
            "aggregateId": self.aggregate_id,
            "version": self.version,
            "timestamp": iso_timestamp(self.timestamp),
            "correlationId": self.correlation_id,
            "events": [
                {"eventId": str(event.event_id), "eventType": event.event_type, "sequence": event.sequence}
                for event in self.events
            ],
        }


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """An HTTP response kept under an idempotency key, replayed byte for byte."""

    status: int
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class Replayed:
    """The idempotency key was used before with the same request: here is the first response."""

    response: StoredResponse


@dataclass(frozen=True, slots=True, kw_only=True)
class IdempotencyClaim:
    """Store the response under (`scope`, `key`) in the command's transaction; replay it for `ttl_s` seconds.

    `fingerprint` identifies the request: the same key with another fingerprint is `IdempotencyKeyReused`.
    `respond` renders the response of an accepted command (the store keeps it, the API sends it).
    """

    scope: str
    key: str
    fingerprint: bytes
    ttl_s: int
    respond: Callable[[Accepted], StoredResponse] = field(repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandRequest:
    """Everything about one command the store needs besides the decision itself."""

    command_id: UUID
    command_name: str
    aggregate_id: str
    creates: bool
    """True for CreateOrder: the order is not loaded (a duplicate id fails as `OrderAlreadyExists`)."""
    issued_by: str
    correlation_id: str
    idempotency: IdempotencyClaim | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandRecord:
    """An accepted command as `GET /commands/{commandId}` reports it."""

    command_id: UUID
    issued_by: str
    outcome: Mapping[str, Any]


class CommandStore(Protocol):
    """Runs commands against the write model, each in exactly one transaction."""

    async def execute(self, request: CommandRequest, decide: Decider) -> Accepted | Replayed:
        """Run one command atomically.

        1. With an idempotency claim: wait for any concurrent holder of the same key; if a live response is
           stored, return it as `Replayed` (same fingerprint) or raise `IdempotencyKeyReused` (other one),
           without calling `decide`.
        2. Load the order and lock it until commit, call `decide` with it; a `DomainError` from `decide`
           propagates and nothing is written.
        3. Save the new state (version + 1), the `order_summary` projection, the events as outbox rows
           (inserted and deleted: they live on in the WAL only), the command outcome and the response
           under the idempotency key — all in the same transaction.

        Raises `StoreUnavailable` if the database cannot be reached.
        """
        ...

    async def find_command(self, command_id: UUID) -> CommandRecord | None:
        """The accepted command with this id, if any."""
        ...

    async def check_ready(self) -> None:
        """Return if the store can serve commands, else raise `StoreUnavailable`."""
        ...

    async def purge_expired_idempotency_keys(self) -> int:
        """Forget responses whose replay window has passed; return how many were removed."""
        ...


@runtime_checkable
class BatchCommandStore(Protocol):
    """A `CommandStore` that runs many commands in a few transactions (batch import) instead of one each."""

    async def execute_many(
        self, commands: Sequence[tuple[CommandRequest, Decider]]
    ) -> list[Accepted | Replayed | Exception]:
        """Every command as `execute` would run it after the ones before it (in this order), one outcome each:
        an exception in the list (`DomainError`, `IdempotencyKeyReused`, …) is that command's refusal, it wrote
        nothing and undid no other command's writes.

        Raises `StoreUnavailable` (nothing written at all) if the database cannot be reached.
        """
        ...


async def outcome_of(execution: Awaitable[Accepted | Replayed]) -> Accepted | Replayed | Exception:
    """One command's outcome as `execute_many` lists it: its refusal is its outcome (the ones before it stand)."""
    try:
        return await execution
    except Exception as error:
        return error
