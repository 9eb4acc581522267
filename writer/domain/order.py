"""The Order aggregate's state, the `Decision` a command yields, and how a decision changes the state."""

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from schemas import events
from schemas.events import OrderEvent, OrderStatus, ShippingAddress
from writer.domain.values import MAX_LINES, OrderLine, sum_of_lines

__all__ = ["Decision", "Order", "apply_event", "evolve"]
"""What `writer.domain` exports from this module."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Order:
    """The current state of one order (state-stored: this is what the `orders` row holds).

    Construction checks the invariants, so a state read back from storage is as trustworthy as a decided one.
    """

    id: str
    customer_id: str
    status: OrderStatus
    currency: str
    items: tuple[OrderLine, ...]
    version: int
    created_at: datetime
    updated_at: datetime
    shipping_address: ShippingAddress | None = None

    def __post_init__(self) -> None:
        if self.version < 1:
            raise ValueError(f"order {self.id}: version must be ≥ 1")
        if len(self.items) > MAX_LINES:
            raise ValueError(f"order {self.id}: more than {MAX_LINES} lines")
        if len({line.item_id for line in self.items}) != len(self.items):
            raise ValueError(f"order {self.id}: duplicate item ids")

    @property
    def total(self) -> Decimal:
        """Σ quantity * unit price over the lines; derived, so it can never disagree with them."""
        return sum_of_lines(self.items)

    def line(self, item_id: str) -> OrderLine | None:
        """The line with this item id, if any."""
        return next((line for line in self.items if line.item_id == item_id), None)


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """The outcome of one accepted command: ≥ 1 events, all at the order's next `version`.

    An event's index in `events` is its sequence within the command; `occurred_at` is UTC, in milliseconds.
    """

    order_id: str
    version: int
    occurred_at: datetime
    events: tuple[OrderEvent, ...]

    def __post_init__(self) -> None:
        if not self.events:
            raise ValueError("a decision has at least one event")


def evolve(state: Order | None, decision: Decision) -> Order:
    """The state after `decision`; `state` is None before the order exists.

    Raises `ValueError` if the decision was not made for this state (wrong order or version), or if an event's
    total disagrees with the lines: both mean a bug, never a user error.
    """
    if decision.version != (0 if state is None else state.version) + 1:
        raise ValueError(f"decision for version {decision.version} does not follow the state")
    if state is not None and state.id != decision.order_id:
        raise ValueError(f"decision for order {decision.order_id} applied to order {state.id}")
    for event in decision.events:
        state = apply_event(state, event, decision)
    assert state is not None  # a decision has at least one event
    return state


def apply_event(state: Order | None, event: OrderEvent, decision: Decision) -> Order:
    """One event's effect; the state's version and `updated_at` come from the decision."""
    if isinstance(event, events.OrderCreated):
        if state is not None:
            raise ValueError(f"order {state.id} is created twice")
        new = _created(event, decision)
    else:
        if state is None:
            raise ValueError(f"{type(event).__name__} before OrderCreated")
        new = replace(_changed(state, event), version=decision.version, updated_at=decision.occurred_at)
    if new.total != event.total:
        raise ValueError(f"{type(event).__name__} says total {event.total}, the lines sum to {new.total}")
    return new


def _created(event: events.OrderCreated, decision: Decision) -> Order:
    return Order(
        id=decision.order_id,
        customer_id=event.customer_id,
        status=event.status,
        currency=event.currency,
        items=tuple(OrderLine.from_item(item) for item in event.items),
        version=decision.version,
        created_at=decision.occurred_at,
        updated_at=decision.occurred_at,
        shipping_address=event.shipping_address,
    )


def _changed(state: Order, event: OrderEvent) -> Order:
    match event:
        case events.OrderItemAdded(item=item):
            return replace(state, items=(*state.items, OrderLine.from_item(item)))
        case events.OrderItemRemoved(item_id=item_id):
            return replace(state, items=tuple(line for line in state.items if line.item_id != item_id))
        case (
            events.OrderConfirmed(status=status)
            | events.OrderShipped(status=status)
            | events.OrderCancelled(status=status)
        ):
            return replace(state, status=status)
        case events.OrderCreated():
            raise ValueError(f"order {state.id} is created twice")
