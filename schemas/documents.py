"""Order lines and addresses as JSON documents: the camelCase of the API and the events, money as exact text.

The writer keeps them so in the jsonb of its `orders` row, and the read models embed them so; one definition keeps
every copy of an order in the same shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from schemas.events import LineItem, ShippingAddress

CENT = Decimal("0.01")

_ADDRESS_FIELDS = (
    ("line1", "line1"),
    ("line2", "line2"),
    ("city", "city"),
    ("region", "region"),
    ("postal_code", "postalCode"),
    ("country", "country"),
)


def money_text(amount: Decimal) -> str:
    """`"12.50"`: exact, where a JSON number would be a float to most readers."""
    return str(amount.quantize(CENT))


def line_document(item: LineItem) -> dict[str, Any]:
    return {
        "itemId": item.item_id,
        "sku": item.sku,
        "name": item.name,
        "quantity": item.quantity,
        "unitPrice": money_text(item.unit_price),
    }


def address_document(address: ShippingAddress) -> dict[str, Any]:
    """Every field, an absent optional one as null."""
    return {wire: getattr(address, name) for name, wire in _ADDRESS_FIELDS}


def address_from_document(document: Mapping[str, Any]) -> ShippingAddress:
    """The address `address_document` wrote; the optional fields may also be left out."""
    return ShippingAddress(
        line1=document["line1"],
        line2=document.get("line2"),
        city=document["city"],
        region=document.get("region"),
        postal_code=document["postalCode"],
        country=document["country"],
    )
