"""The order as the projections see it, rebuilt from events alone (no lookups, no writer code).

The writer enforces business rules; a projection only checks what it needs for a consistent read model: an order
is created once, a removed line exists, an added line is new, the currency never changes, and every event's total is
the sum of the lines. A broken check is an `InvariantViolation`, which parks the event.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from schemas.envelope import EventEnvelope
from schemas.events import (
    LineItem,
    OrderCancelled,
    OrderConfirmed,
    OrderCreated,
    OrderItemAdded,
    OrderItemRemoved,
    OrderShipped,
    OrderStatus,
    ShippingAddress,
)
from streams.errors import InvariantViolation
from streams.positions import Position

ZERO = Decimal("0.00")


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderView:
    """An order after the event at `position`."""

    order_id: str
    customer_id: str
    currency: str
    status: OrderStatus
    items: tuple[LineItem, ...]
    total: Decimal
    created_at: datetime
    updated_at: datetime
    position: Position
    last_event_id: UUID
    last_event_type: str
    shipping_address: ShippingAddress | None = None
    cancel_reason: str | None = None

    @property
    def version(self) -> int:
        return self.position.version


def position_of(envelope: EventEnvelope) -> Position:
    return Position(envelope.version, envelope.sequence)


def evolve(view: OrderView | None, envelope: EventEnvelope) -> OrderView:
    """The order after `envelope`, which must be the next event (the engine checks positions first)."""
    event = envelope.data
    if isinstance(event, OrderCreated):
        if view is not None:
            raise InvariantViolation(f"order {envelope.aggregate_id} is created twice")
        created = OrderView(
            order_id=envelope.aggregate_id,
            customer_id=event.customer_id,
            currency=event.currency,
            status=event.status,
            items=event.items,
            total=_sum(event.items),
            created_at=envelope.timestamp,
            updated_at=envelope.timestamp,
            position=position_of(envelope),
            last_event_id=envelope.event_id,
            last_event_type=envelope.event_type,
            shipping_address=event.shipping_address,
        )
        if len({item.item_id for item in event.items}) != len(event.items):
            raise InvariantViolation(f"order {envelope.aggregate_id} is created with duplicate item ids")
        return _checked(created, event.total, event.currency)
    if view is None:
        raise InvariantViolation(f"{envelope.event_type} for order {envelope.aggregate_id}, which was never created")
    changed = replace(
        _changed(view, envelope),
        updated_at=envelope.timestamp,
        position=position_of(envelope),
        last_event_id=envelope.event_id,
        last_event_type=envelope.event_type,
    )
    return _checked(changed, event.total, event.currency)


def _changed(view: OrderView, envelope: EventEnvelope) -> OrderView:
    match envelope.data:
        case OrderItemAdded(item=item):
            if any(line.item_id == item.item_id for line in view.items):
                raise InvariantViolation(f"order {view.order_id} already has line {item.item_id}")
            return replace(view, items=(*view.items, item))
        case OrderItemRemoved(item_id=item_id):
            kept = tuple(line for line in view.items if line.item_id != item_id)
            if len(kept) == len(view.items):
                raise InvariantViolation(f"order {view.order_id} has no line {item_id} to remove")
            return replace(view, items=kept)
        case OrderConfirmed(status=status) | OrderShipped(status=status):
            return replace(view, status=status)
        case OrderCancelled(status=status, reason=reason):
            return replace(view, status=status, cancel_reason=reason)
        case OrderCreated():  # pragma: no cover - handled by evolve
            raise InvariantViolation(f"order {view.order_id} is created twice")


def _checked(view: OrderView, total: Decimal, currency: str) -> OrderView:
    if currency != view.currency:
        raise InvariantViolation(f"order {view.order_id} is in {view.currency}, the event says {currency}")
    lines = _sum(view.items)
    if lines != total:
        raise InvariantViolation(f"order {view.order_id}: the event says total {total}, the lines sum to {lines}")
    return replace(view, total=total)


def _sum(items: tuple[LineItem, ...]) -> Decimal:
    return sum((item.quantity * item.unit_price for item in items), start=ZERO)
