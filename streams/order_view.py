"""The order as the projections see it, rebuilt from events alone (no lookups, no writer code).

The fold and its checks are `schemas.order_state`'s (the read API's in-memory adapter folds the same way); here the
order also carries where it stands in the stream, and a broken check is an `InvariantViolation`, which parks the event.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from schemas.envelope import EventEnvelope
from schemas.errors import InconsistentHistory
from schemas.order_state import OrderState
from streams.errors import InvariantViolation
from streams.positions import Position


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderView(OrderState):
    """An order after the event at `position`."""

    position: Position
    last_event_id: UUID
    last_event_type: str

    @property
    def version(self) -> int:
        return self.position.version


def position_of(envelope: EventEnvelope) -> Position:
    return Position(envelope.version, envelope.sequence)


def evolve(view: OrderView | None, envelope: EventEnvelope) -> OrderView:
    """The order after `envelope`, which must be the next event (the engine checks positions first)."""
    position = position_of(envelope)
    try:
        if view is None:
            return OrderView.created(
                envelope, position=position, last_event_id=envelope.event_id, last_event_type=envelope.event_type
            )
        return view.after(
            envelope, position=position, last_event_id=envelope.event_id, last_event_type=envelope.event_type
        )
    except InconsistentHistory as error:
        raise InvariantViolation(str(error)) from error
