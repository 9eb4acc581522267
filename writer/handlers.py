"""The application service: authorize a command, decide it against the stored order, persist the result.

Both HTTP route styles (task-based and REST) end here, so a command behaves the same whichever way it came.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
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
from writer.ports import Accepted, CommandRequest, CommandStore, IdempotencyClaim, Replayed
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

        return await self._store.execute(request, decide_if_visible)

    async def outcome(self, command_id: UUID, principal: Principal) -> Mapping[str, Any]:
        """The stored outcome of an accepted command the caller may see, else `CommandNotFound`."""
        record = await self._store.find_command(command_id)
        if record is None or not may_read_command(principal, record.issued_by):
            raise CommandNotFound(str(command_id))
        return record.outcome
