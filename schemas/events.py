"""The Order events as Python values, defined once for the domain (which emits them) and the codec.

These are message shapes, not domain objects: they check nothing, so an event written under older rules
still decodes. The domain validates before it builds them. Field names are snake_case here and camelCase on
the wire; `schemas.mapping` translates.
"""

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class OrderStatus(StrEnum):
    """Lifecycle of an order: pending → confirmed → shipped, pending|confirmed → cancelled."""

    PENDING = "pending"
    CONFIRMED = "confirmed"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True, kw_only=True)
class LineItem:
    """One order line as it travels in events."""

    item_id: str
    sku: str
    name: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class ShippingAddress:
    """Where the order goes; `country` is an ISO 3166-1 alpha-2 code."""

    line1: str
    city: str
    postal_code: str
    country: str
    line2: str | None = None
    region: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCreated:
    """A new order with its initial lines; `total` is the sum of the lines."""

    customer_id: str
    currency: str
    items: tuple[LineItem, ...]
    total: Decimal
    status: OrderStatus
    shipping_address: ShippingAddress | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderItemAdded:
    """A line was appended; `total` is the order total after the change."""

    item: LineItem
    total: Decimal
    currency: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderItemRemoved:
    """A line was removed; the removed line's sku/quantity/price let analytics reverse it without lookups."""

    item_id: str
    sku: str
    quantity: int
    unit_price: Decimal
    total: Decimal
    currency: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderConfirmed:
    """The order was confirmed (status is `confirmed`)."""

    customer_id: str
    status: OrderStatus
    total: Decimal
    currency: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderShipped:
    """The order was shipped (status is `shipped`)."""

    customer_id: str
    status: OrderStatus
    total: Decimal
    currency: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCancelled:
    """The order was cancelled from `previous_status` (status is `cancelled`)."""

    customer_id: str
    reason: str
    previous_status: OrderStatus
    status: OrderStatus
    total: Decimal
    currency: str


OrderEvent = OrderCreated | OrderItemAdded | OrderItemRemoved | OrderConfirmed | OrderShipped | OrderCancelled

ORDER_EVENT_TYPES: tuple[type[OrderEvent], ...] = (
    OrderCreated,
    OrderItemAdded,
    OrderItemRemoved,
    OrderConfirmed,
    OrderShipped,
    OrderCancelled,
)
