"""Commands the Order aggregate accepts. They carry raw input; `decide` validates it.

`expected_version`, when given, must equal the order's current version (optimistic concurrency).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from schemas.events import ShippingAddress

__all__ = [
    "AddItemToOrder",
    "CancelOrder",
    "ConfirmOrder",
    "CreateOrder",
    "NewOrderLine",
    "OrderCommand",
    "RemoveItemFromOrder",
    "ShipOrder",
]
"""What `writer.domain` exports from this module."""


@dataclass(frozen=True, slots=True, kw_only=True)
class NewOrderLine:
    """A line to add; the aggregate assigns its item id."""

    sku: str
    name: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateOrder:
    """Place a new pending order with at least one line. The caller chooses `order_id` (e.g. a fresh UUID)."""

    order_id: str
    customer_id: str
    currency: str
    items: Sequence[NewOrderLine]
    shipping_address: ShippingAddress | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeOrder:
    """What every command on an existing order carries: which order, and optionally the version it expects."""

    order_id: str
    expected_version: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AddItemToOrder(ChangeOrder):
    """Append a line to a pending order."""

    item: NewOrderLine


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoveItemFromOrder(ChangeOrder):
    """Remove a line from a pending order; removing the last line is allowed (the total becomes 0.00)."""

    item_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelOrder(ChangeOrder):
    """Cancel a pending or confirmed order."""

    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfirmOrder(ChangeOrder):
    """Confirm a pending order that has at least one line."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ShipOrder(ChangeOrder):
    """Ship a confirmed order."""


OrderCommand = CreateOrder | AddItemToOrder | RemoveItemFromOrder | CancelOrder | ConfirmOrder | ShipOrder
