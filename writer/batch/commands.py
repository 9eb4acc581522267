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
from writer.domain import OrderCommand


@dataclass(frozen=True, slots=True)
class CommandKind:
    body: type[ApiModel]
    build: Callable[[Any], OrderCommand]
    """Validated body → domain command (typed `Any`: each kind receives its own body model)."""


def _with_body_version(translation: Callable[[Any, int | None], OrderCommand]) -> Callable[[Any], OrderCommand]:
    """The translation for a batch line: its expected version is the body's (see above)."""
    return lambda body: translation(body, body.expected_version)


KINDS: dict[str, CommandKind] = {
    "create-order": CommandKind(CreateOrderBody, translate.create_order),
    "add-item-to-order": CommandKind(AddItemBody, _with_body_version(translate.add_item_to_order)),
    "remove-item-from-order": CommandKind(RemoveItemBody, _with_body_version(translate.remove_item_from_order)),
    "cancel-order": CommandKind(CancelOrderBody, _with_body_version(translate.cancel_order)),
    "confirm-order": CommandKind(OrderTransitionBody, _with_body_version(translate.confirm_order)),
    "ship-order": CommandKind(OrderTransitionBody, _with_body_version(translate.ship_order)),
}
"""Keys are the public command names (`writer.handlers.COMMAND_NAMES`); a test keeps the two in step."""
