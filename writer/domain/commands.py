"""Commands the Order aggregate accepts. They carry raw input; `decide` validates it.

`expected_version`, when given, must equal the order's current version (optimistic concurrency).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from schemas.events import ShippingAddress


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
class AddItemToOrder:
    """Append a line to a pending order."""

    order_id: str
    item: NewOrderLine
    expected_version: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoveItemFromOrder:
    """Remove a line from a pending order; removing the last line is allowed (the total becomes 0.00)."""

    order_id: str
    item_id: str
    expected_version: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelOrder:
    """Cancel a pending or confirmed order."""

    order_id: str
    reason: str
    expected_version: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfirmOrder:
    """Confirm a pending order that has at least one line."""

    order_id: str
    expected_version: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ShipOrder:
    """Ship a confirmed order."""

    order_id: str
    expected_version: int | None = None


OrderCommand = CreateOrder | AddItemToOrder | RemoveItemFromOrder | CancelOrder | ConfirmOrder | ShipOrder
