"""REST-style routes on `/orders`: the same commands as `/commands/...`, addressed by resource."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path
from starlette.responses import Response

from writer.api import translate
from writer.api.models import (
    TEXT_PATTERN,
    AddItemRestBody,
    CancelRestBody,
    CreateOrderBody,
    ExpectedVersionBody,
)
from writer.api.openapi import ACCEPTED
from writer.api.submit import CommandCallDep
from writer.domain import (
    AddItemToOrder,
    CancelOrder,
    ConfirmOrder,
    FieldError,
    InvalidCommand,
    RemoveItemFromOrder,
    ShipOrder,
)
from writer.domain.values import MAX_ID_LENGTH
from writer.handlers import canonical_order_id

router = APIRouter(prefix="/orders", tags=["orders"])

OrderId = Annotated[str, Path(alias="orderId", description="The order's id (a UUID).")]
ItemId = Annotated[str, Path(alias="itemId", json_schema_extra={"pattern": TEXT_PATTERN, "maxLength": MAX_ID_LENGTH})]
OptionalVersionBody = Annotated[ExpectedVersionBody | None, Body()]


@router.post("", summary="Place a new order", **ACCEPTED)
async def create_order(body: CreateOrderBody, call: CommandCallDep) -> Response:
    return await call.submit(translate.create_order(body), body)


@router.post("/{orderId}/items", summary="Add a line to a pending order", **ACCEPTED)
async def add_item(order_id: OrderId, body: AddItemRestBody, call: CommandCallDep) -> Response:
    command = AddItemToOrder(
        order_id=canonical_order_id(order_id),
        item=translate.new_line(body),
        expected_version=call.expected_version(body.expected_version),
    )
    try:
        return await call.submit(command, body)
    except InvalidCommand as error:
        # The domain names the line's fields `item.sku`, …; here the line is the body itself.
        raise InvalidCommand([FieldError(e.field.removeprefix("item."), e.message) for e in error.errors]) from None


@router.delete("/{orderId}/items/{itemId}", summary="Remove a line (If-Match: expected version)", **ACCEPTED)
async def remove_item(order_id: OrderId, item_id: ItemId, call: CommandCallDep) -> Response:
    command = RemoveItemFromOrder(
        order_id=canonical_order_id(order_id), item_id=item_id, expected_version=call.expected_version(None)
    )
    return await call.submit(command, None)


@router.post("/{orderId}/cancel", summary="Cancel a pending or confirmed order", **ACCEPTED)
async def cancel(order_id: OrderId, body: CancelRestBody, call: CommandCallDep) -> Response:
    command = CancelOrder(
        order_id=canonical_order_id(order_id),
        reason=body.reason,
        expected_version=call.expected_version(body.expected_version),
    )
    return await call.submit(command, body)


@router.post("/{orderId}/confirm", summary="Confirm a pending order", **ACCEPTED)
async def confirm(order_id: OrderId, call: CommandCallDep, body: OptionalVersionBody = None) -> Response:
    expected = call.expected_version(None if body is None else body.expected_version)
    return await call.submit(ConfirmOrder(order_id=canonical_order_id(order_id), expected_version=expected), body)


@router.post("/{orderId}/ship", summary="Ship a confirmed order (staff)", **ACCEPTED)
async def ship(order_id: OrderId, call: CommandCallDep, body: OptionalVersionBody = None) -> Response:
    expected = call.expected_version(None if body is None else body.expected_version)
    return await call.submit(ShipOrder(order_id=canonical_order_id(order_id), expected_version=expected), body)
