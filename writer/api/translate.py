"""Request bodies → domain commands. Both route styles use these, so they build identical commands."""

from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

from schemas.events import ShippingAddress
from writer.api.models import (
    AddItemBody,
    CancelOrderBody,
    CreateOrderBody,
    NewLine,
    OrderTransitionBody,
    RemoveItemBody,
    ShippingAddressBody,
)
from writer.domain import (
    AddItemToOrder,
    CancelOrder,
    ConfirmOrder,
    CreateOrder,
    NewOrderLine,
    RemoveItemFromOrder,
    ShipOrder,
)


def create_order(body: CreateOrderBody) -> CreateOrder:
    """The order id is chosen here, by the server; a retried request gets the first id back via idempotency."""
    return CreateOrder(
        order_id=str(uuid4()),
        customer_id=body.customer_id,
        currency=body.currency,
        items=[new_line(item) for item in body.items],
        shipping_address=None if body.shipping_address is None else _address(body.shipping_address),
    )


# The bodies of the commands on an existing order. `expected_version` is passed in because where it comes from
# differs: the body or `If-Match` for a single request, the body only for a batch line.


def add_item_to_order(body: AddItemBody, expected_version: int | None) -> AddItemToOrder:
    return AddItemToOrder(order_id=str(body.order_id), item=new_line(body.item), expected_version=expected_version)


def remove_item_from_order(body: RemoveItemBody, expected_version: int | None) -> RemoveItemFromOrder:
    return RemoveItemFromOrder(order_id=str(body.order_id), item_id=body.item_id, expected_version=expected_version)


def cancel_order(body: CancelOrderBody, expected_version: int | None) -> CancelOrder:
    return CancelOrder(order_id=str(body.order_id), reason=body.reason, expected_version=expected_version)


def confirm_order(body: OrderTransitionBody, expected_version: int | None) -> ConfirmOrder:
    return ConfirmOrder(order_id=str(body.order_id), expected_version=expected_version)


def ship_order(body: OrderTransitionBody, expected_version: int | None) -> ShipOrder:
    return ShipOrder(order_id=str(body.order_id), expected_version=expected_version)


def new_line(line: NewLine) -> NewOrderLine:
    return NewOrderLine(
        sku=line.sku,
        name=line.name,
        quantity=line.quantity,
        unit_price=Decimal(line.unit_price),  # validated as a decimal string by the model
    )


def _address(address: ShippingAddressBody) -> ShippingAddress:
    return ShippingAddress(**address.model_dump())  # the same fields (`servicekit.address.AddressFields`)
