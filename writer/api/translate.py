"""Request bodies → domain commands. Both route styles use these, so they build identical commands."""

from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

from schemas.events import ShippingAddress
from writer.api.models import CreateOrderBody, NewLine, ShippingAddressBody
from writer.domain import CreateOrder, NewOrderLine


def create_order(body: CreateOrderBody) -> CreateOrder:
    """The order id is chosen here, by the server; a retried request gets the first id back via idempotency."""
    return CreateOrder(
        order_id=str(uuid4()),
        customer_id=body.customer_id,
        currency=body.currency,
        items=[new_line(item) for item in body.items],
        shipping_address=None if body.shipping_address is None else _address(body.shipping_address),
    )


def new_line(line: NewLine) -> NewOrderLine:
    return NewOrderLine(
        sku=line.sku,
        name=line.name,
        quantity=line.quantity,
        unit_price=Decimal(line.unit_price),  # validated as a decimal string by the model
    )


def _address(address: ShippingAddressBody) -> ShippingAddress:
    return ShippingAddress(**address.model_dump())  # the same fields (`servicekit.address.AddressFields`)
