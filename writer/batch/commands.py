"""Command names → request body model and domain command: the same bodies and translation as `POST /commands/<name>`.

A line's `expectedVersion` comes from its body only (a batch has no per-line If-Match header).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from writer.api import translate
from writer.api.models import (
    AddItemBody,
    ApiModel,
    CancelOrderBody,
    CreateOrderBody,
    OrderTransitionBody,
    RemoveItemBody,
)
from writer.domain import AddItemToOrder, CancelOrder, ConfirmOrder, OrderCommand, RemoveItemFromOrder, ShipOrder


@dataclass(frozen=True, slots=True)
class CommandKind:
    body: type[ApiModel]
    build: Callable[[Any], OrderCommand]
    """Validated body → domain command (typed `Any`: each kind receives its own body model)."""


def _add_item(body: AddItemBody) -> OrderCommand:
    return AddItemToOrder(
        order_id=str(body.order_id), item=translate.new_line(body.item), expected_version=body.expected_version
    )


def _remove_item(body: RemoveItemBody) -> OrderCommand:
    return RemoveItemFromOrder(
        order_id=str(body.order_id), item_id=body.item_id, expected_version=body.expected_version
    )


def _cancel(body: CancelOrderBody) -> OrderCommand:
    return CancelOrder(order_id=str(body.order_id), reason=body.reason, expected_version=body.expected_version)


def _confirm(body: OrderTransitionBody) -> OrderCommand:
    return ConfirmOrder(order_id=str(body.order_id), expected_version=body.expected_version)


def _ship(body: OrderTransitionBody) -> OrderCommand:
    return ShipOrder(order_id=str(body.order_id), expected_version=body.expected_version)


KINDS: dict[str, CommandKind] = {
    "create-order": CommandKind(CreateOrderBody, translate.create_order),
    "add-item-to-order": CommandKind(AddItemBody, _add_item),
    "remove-item-from-order": CommandKind(RemoveItemBody, _remove_item),
    "cancel-order": CommandKind(CancelOrderBody, _cancel),
    "confirm-order": CommandKind(OrderTransitionBody, _confirm),
    "ship-order": CommandKind(OrderTransitionBody, _ship),
}
"""Keys are the public command names (`writer.handlers.COMMAND_NAMES`); a test keeps the two in step."""
