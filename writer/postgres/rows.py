"""Order state ⇄ `orders` row. Lines and the address are jsonb in the camelCase of the API and the events."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from schemas.events import OrderStatus, ShippingAddress
from writer.domain import Order, OrderLine

ORDER_COLUMNS = "customer_id, status, currency, items, version, created_at, updated_at, shipping_address"
"""The columns `order_from_row` reads, in its order."""


def order_from_row(order_id: str, row: Sequence[Any]) -> Order:
    customer_id, status, currency, items, version, created_at, updated_at, address = row
    return Order(
        id=order_id,
        customer_id=customer_id,
        status=OrderStatus(status),
        currency=currency,
        items=tuple(_line_from_json(item) for item in items),
        version=version,
        created_at=created_at,
        updated_at=updated_at,
        shipping_address=None if address is None else _address_from_json(address),
    )


def order_params(order: Order) -> dict[str, Any]:
    """The order's columns as named parameters of the save statement."""
    return {
        "id": UUID(order.id),
        "customer_id": order.customer_id,
        "status": order.status.value,
        "currency": order.currency,
        "items": Jsonb([_line_to_json(line) for line in order.items]),
        "total": order.total,
        "version": order.version,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
        "shipping_address": None if order.shipping_address is None else Jsonb(_address_to_json(order.shipping_address)),
    }


def _line_to_json(line: OrderLine) -> dict[str, Any]:
    # Money as a string: JSON numbers are floats to most readers.
    return {
        "itemId": line.item_id,
        "sku": line.sku,
        "name": line.name,
        "quantity": line.quantity,
        "unitPrice": str(line.unit_price),
    }


def _line_from_json(item: dict[str, Any]) -> OrderLine:
    return OrderLine(
        item_id=item["itemId"],
        sku=item["sku"],
        name=item["name"],
        quantity=item["quantity"],
        unit_price=Decimal(item["unitPrice"]),
    )


def _address_to_json(address: ShippingAddress) -> dict[str, Any]:
    return {
        "line1": address.line1,
        "line2": address.line2,
        "city": address.city,
        "region": address.region,
        "postalCode": address.postal_code,
        "country": address.country,
    }


def _address_from_json(data: dict[str, Any]) -> ShippingAddress:
    return ShippingAddress(
        line1=data["line1"],
        line2=data.get("line2"),
        city=data["city"],
        region=data.get("region"),
        postal_code=data["postalCode"],
        country=data["country"],
    )
