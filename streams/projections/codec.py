"""Pieces of an order that every document shape shares: addresses as plain mappings and back, and an order's state
read back from a stored document (detail and search documents share those fields; only dates differ in type)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from schemas.events import LineItem, OrderStatus, ShippingAddress
from streams.money import from_text
from streams.order_view import OrderView
from streams.positions import Position

_ADDRESS_FIELDS = (
    ("line1", "line1"),
    ("line2", "line2"),
    ("city", "city"),
    ("region", "region"),
    ("postal_code", "postalCode"),
    ("country", "country"),
)


def address_document(address: ShippingAddress | None) -> dict[str, Any] | None:
    if address is None:
        return None
    return {wire: getattr(address, name) for name, wire in _ADDRESS_FIELDS}


def address_from(document: Mapping[str, Any] | None) -> ShippingAddress | None:
    if document is None:
        return None
    return ShippingAddress(
        line1=document["line1"],
        line2=document.get("line2"),
        city=document["city"],
        region=document.get("region"),
        postal_code=document["postalCode"],
        country=document["country"],
    )


def order_view_from(doc: Mapping[str, Any], *, date: Callable[[Any], datetime]) -> OrderView:
    """The state a stored document was made from; `date` reads the store's dates (BSON dates, ISO-8601 text)."""
    return OrderView(
        order_id=doc["orderId"],
        customer_id=doc["customerId"],
        currency=doc["currency"],
        status=OrderStatus(doc["status"]),
        items=tuple(_line(line) for line in doc["items"]),
        total=from_text(doc["total"]),
        created_at=date(doc["createdAt"]),
        updated_at=date(doc["updatedAt"]),
        position=Position(doc["version"], doc["sequence"]),
        last_event_id=UUID(doc["lastEventId"]),
        last_event_type=doc["lastEventType"],
        shipping_address=address_from(doc.get("shippingAddress")),
        cancel_reason=doc.get("cancelReason"),
    )


def _line(doc: Mapping[str, Any]) -> LineItem:
    return LineItem(
        item_id=doc["itemId"],
        sku=doc["sku"],
        name=doc["name"],
        quantity=int(doc["quantity"]),
        unit_price=Decimal(doc["unitPrice"]),
    )
