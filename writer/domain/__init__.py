"""The Order aggregate, pure: no I/O, no clock, no randomness (the caller passes time in).

Use: `decision = decide(state, command, now=...)`, store `decision.events`, then
`state = evolve(state, decision)`.
"""

from writer.domain.commands import (
    AddItemToOrder,
    CancelOrder,
    ConfirmOrder,
    CreateOrder,
    NewOrderLine,
    OrderCommand,
    RemoveItemFromOrder,
    ShipOrder,
)
from writer.domain.decisions import decide
from writer.domain.errors import (
    DomainError,
    FieldError,
    InvalidCommand,
    InvalidTransition,
    InvalidValue,
    ItemNotFound,
    OrderAlreadyExists,
    OrderNotFound,
    OrderNotModifiable,
    TooManyLines,
    VersionConflict,
)
from writer.domain.order import Decision, Order, apply_event, evolve
from writer.domain.values import (
    CURRENCIES,
    MAX_LINES,
    MAX_QUANTITY,
    MIN_QUANTITY,
    OrderLine,
    currency_code,
    line_item_id,
    money,
)

__all__ = [
    "CURRENCIES",
    "MAX_LINES",
    "MAX_QUANTITY",
    "MIN_QUANTITY",
    "AddItemToOrder",
    "CancelOrder",
    "ConfirmOrder",
    "CreateOrder",
    "Decision",
    "DomainError",
    "FieldError",
    "InvalidCommand",
    "InvalidTransition",
    "InvalidValue",
    "ItemNotFound",
    "NewOrderLine",
    "Order",
    "OrderAlreadyExists",
    "OrderCommand",
    "OrderLine",
    "OrderNotFound",
    "OrderNotModifiable",
    "RemoveItemFromOrder",
    "ShipOrder",
    "TooManyLines",
    "VersionConflict",
    "apply_event",
    "currency_code",
    "decide",
    "evolve",
    "line_item_id",
    "money",
]
