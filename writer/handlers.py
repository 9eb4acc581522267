"""The application service: authorize a command, decide it against the stored order, persist the result.

Both HTTP route styles (task-based and REST) end here, so a command behaves the same whichever way it came.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from servicekit.principals import Principal
from writer.domain import (
    AddItemToOrder,
    CancelOrder,
    ConfirmOrder,
    CreateOrder,
    Decision,
    Order,
    OrderCommand,
    OrderNotFound,
    RemoveItemFromOrder,
    ShipOrder,
    decide,
)
from writer.errors import CommandNotFound
from writer.ports import (
    Accepted,
    BatchCommandStore,
    CommandRequest,
    CommandStore,
    Decider,
    IdempotencyClaim,
    Replayed,
    outcome_of,
)
from writer.security import authorize_command, may_read_command, require_visible

COMMAND_NAMES: dict[type[OrderCommand], str] = {
    CreateOrder: "create-order",
    AddItemToOrder: "add-item-to-order",
    RemoveItemFromOrder: "remove-item-from-order",
    CancelOrder: "cancel-order",
    ConfirmOrder: "confirm-order",
    ShipOrder: "ship-order",
}
"""The public name of each command: the path segment of `POST /commands/<name>` and the metrics label."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def canonical_order_id(raw: str) -> str:
    """An order id from a URL in the form stored ids have; ids that are no UUID name no order."""
    try:
        return str(UUID(raw))
    except ValueError:
        raise OrderNotFound(raw) from None


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandContext:
    """Who sends a command, under which ids, and whether its response is kept for retries."""

    principal: Principal
    command_id: UUID
    correlation_id: str
    idempotency: IdempotencyClaim | None = None


class CommandHandler:
    """Runs commands: stateless authorization first, then one store transaction that loads, decides, saves."""

    def __init__(self, store: CommandStore, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._store = store
        self._clock = clock

    async def handle(self, command: OrderCommand, context: CommandContext) -> Accepted | Replayed:
        """Accept `command` or raise why not (`DomainError`, `PermissionDenied`, `IdempotencyKeyReused`…)."""
        request, decide_if_visible = self._prepare(command, context)
        return await self._store.execute(request, decide_if_visible)

    async def handle_many(
        self, commands: Sequence[tuple[OrderCommand, CommandContext]]
    ) -> list[Accepted | Replayed | Exception]:
        """Each command as `handle` would run it after the ones before it, with an outcome of its own: an
        exception in the list is that command's refusal, and undoes no other. A store that runs many commands
        at once (`BatchCommandStore`) does it in a few transactions, any other one command at a time.

        Raises only what stops them all at once (`StoreUnavailable` from a batch store: nothing of its transaction
        was kept)."""
        outcomes: list[Accepted | Replayed | Exception | None] = []
        prepared: list[tuple[CommandRequest, Decider]] = []
        for command, context in commands:
            try:
                prepared.append(self._prepare(command, context))
                outcomes.append(None)  # filled in by the store below
            except Exception as error:  # refused before the store: PermissionDenied
                outcomes.append(error)
        if isinstance(self._store, BatchCommandStore):
            stored = iter(await self._store.execute_many(prepared))
        else:
            stored = iter([await outcome_of(self._store.execute(request, decide)) for request, decide in prepared])
        return [next(stored) if outcome is None else outcome for outcome in outcomes]

    def _prepare(self, command: OrderCommand, context: CommandContext) -> tuple[CommandRequest, Decider]:
        """Authorize `command` (stateless), then what the store needs to run it: the request and its decider."""
        authorize_command(context.principal, command)
        request = CommandRequest(
            command_id=context.command_id,
            command_name=COMMAND_NAMES[type(command)],
            aggregate_id=command.order_id,
            creates=isinstance(command, CreateOrder),
            issued_by=context.principal.subject,
            correlation_id=context.correlation_id,
            idempotency=context.idempotency,
        )

        def decide_if_visible(state: Order | None) -> Decision:
            if state is not None:
                require_visible(context.principal, state)
            return decide(state, command, now=self._clock())

        return request, decide_if_visible

    async def outcome(self, command_id: UUID, principal: Principal) -> Mapping[str, Any]:
        """The stored outcome of an accepted command the caller may see, else `CommandNotFound`."""
        record = await self._store.find_command(command_id)
        if record is None or not may_read_command(principal, record.issued_by):
            raise CommandNotFound(str(command_id))
        return record.outcome
