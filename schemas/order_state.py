"""An order as its events alone build it: the fold the projections and the read API's in-memory adapter share.

The writer enforces business rules; a reader of the events only checks what it needs for a consistent order: it is
created once, a removed line exists, an added line is new, the currency never changes, and every event's total is the
sum of the lines. A broken check is an `InconsistentHistory`. Where the order stands in the stream is each reader's
own business: a subclass adds it (`streams.order_view.OrderView`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any, Self

from schemas import events
from schemas.envelope import EventEnvelope
from schemas.errors import InconsistentHistory

ZERO = Decimal("0.00")


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderState:
    """An order after the events folded so far."""

    order_id: str
    customer_id: str
    currency: str
    status: events.OrderStatus
    items: tuple[events.LineItem, ...]
    total: Decimal
    created_at: datetime
    updated_at: datetime
    shipping_address: events.ShippingAddress | None = None
    cancel_reason: str | None = None

    @classmethod
    def created(cls, envelope: EventEnvelope, **more: Any) -> Self:
        """The order its first event, an `OrderCreated`, makes; `more`: the fields a subclass adds."""
        event = envelope.data
        if not isinstance(event, events.OrderCreated):
            raise InconsistentHistory(
                f"{envelope.event_type} for order {envelope.aggregate_id}, which was never created"
            )
        if len({item.item_id for item in event.items}) != len(event.items):
            raise InconsistentHistory(f"order {envelope.aggregate_id} is created with duplicate item ids")
        created = cls(
            order_id=envelope.aggregate_id,
            customer_id=event.customer_id,
            currency=event.currency,
            status=event.status,
            items=event.items,
            total=event.total,
            created_at=envelope.timestamp,
            updated_at=envelope.timestamp,
            shipping_address=event.shipping_address,
            **more,
        )
        created._check(created.items, event.total, event.currency)
        return created

    def after(self, envelope: EventEnvelope, **more: Any) -> Self:
        """The order after its next event (the caller checks that it is the next one); `updated_at` is its time;
        `more`: the fields a subclass changes with it. One copy per event: projections fold every event they see."""
        event = envelope.data
        changes = self._changes(event)
        items = changes.get("items", self.items)
        self._check(items, event.total, event.currency)
        return replace(self, **changes, total=event.total, updated_at=envelope.timestamp, **more)

    def _changes(self, event: events.OrderEvent) -> dict[str, Any]:
        match event:
            case events.OrderItemAdded(item=item):
                if any(line.item_id == item.item_id for line in self.items):
                    raise InconsistentHistory(f"order {self.order_id} already has line {item.item_id}")
                return {"items": (*self.items, item)}
            case events.OrderItemRemoved(item_id=item_id):
                kept = tuple(line for line in self.items if line.item_id != item_id)
                if len(kept) == len(self.items):
                    raise InconsistentHistory(f"order {self.order_id} has no line {item_id} to remove")
                return {"items": kept}
            case events.OrderConfirmed(status=status) | events.OrderShipped(status=status):
                return {"status": status}
            case events.OrderCancelled(status=status, reason=reason):
                return {"status": status, "cancel_reason": reason}
            case events.OrderCreated():
                raise InconsistentHistory(f"order {self.order_id} is created twice")
        raise InconsistentHistory(f"order {self.order_id}: unknown event {type(event).__name__}")

    def _check(self, items: tuple[events.LineItem, ...], total: Decimal, currency: str) -> None:
        if currency != self.currency:
            raise InconsistentHistory(f"order {self.order_id} is in {self.currency}, the event says {currency}")
        lines = sum((item.quantity * item.unit_price for item in items), start=ZERO)
        if lines != total:
            raise InconsistentHistory(f"order {self.order_id}: the event says total {total}, the lines sum to {lines}")
