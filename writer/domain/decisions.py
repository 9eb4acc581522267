"""What each command does to an order: a `Decision` with its events, or a `DomainError`.

Pure: the caller passes the clock (`now`); item ids are derived from order id, version and position.
"""

from datetime import datetime
from typing import assert_never

from schemas.events import (
    OrderCancelled,
    OrderConfirmed,
    OrderCreated,
    OrderEvent,
    OrderItemAdded,
    OrderItemRemoved,
    OrderShipped,
    OrderStatus,
)
from schemas.timestamps import to_wire_precision
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
from writer.domain.errors import (
    FieldErrors,
    InvalidTransition,
    ItemNotFound,
    OrderAlreadyExists,
    OrderNotFound,
    OrderNotModifiable,
    TooManyLines,
    VersionConflict,
)
from writer.domain.order import Decision, Order
from writer.domain.values import (
    MAX_ID_LENGTH,
    MAX_LINES,
    OrderLine,
    currency_code,
    line_item_id,
    shipping_address,
    sum_of_lines,
    text,
)

_CANCELLABLE = frozenset({OrderStatus.PENDING, OrderStatus.CONFIRMED})


def decide(state: Order | None, command: OrderCommand, *, now: datetime) -> Decision:
    """Decide `command` against `state` (None: the order does not exist yet) at time `now` (timezone-aware).

    Returns the events to store; `evolve(state, decision)` gives the new state. Raises a `DomainError` to
    reject the command, which then has no effect. Checks run in this order: existence, `expected_version`,
    input, business rules.
    """
    occurred_at = to_wire_precision(now)
    if isinstance(command, CreateOrder):
        if state is not None:
            raise OrderAlreadyExists(command.order_id)
        events = _create(command)
        return Decision(order_id=command.order_id, version=1, occurred_at=occurred_at, events=events)
    if state is None:
        raise OrderNotFound(command.order_id)
    if state.id != command.order_id:
        raise ValueError(f"command for order {command.order_id} decided against order {state.id}")
    if command.expected_version is not None and command.expected_version != state.version:
        raise VersionConflict(command.expected_version, state.version)
    events = _change(state, command)
    return Decision(order_id=state.id, version=state.version + 1, occurred_at=occurred_at, events=events)


def _change(state: Order, command: OrderCommand) -> tuple[OrderEvent, ...]:
    match command:
        case AddItemToOrder():
            return _add_item(state, command)
        case RemoveItemFromOrder():
            return _remove_item(state, command)
        case ConfirmOrder():
            return _confirm(state)
        case ShipOrder():
            return _ship(state)
        case CancelOrder():
            return _cancel(state, command)
        case CreateOrder():
            raise OrderAlreadyExists(command.order_id)
        case _:
            assert_never(command)


def _create(command: CreateOrder) -> tuple[OrderEvent, ...]:
    errors = FieldErrors()
    with errors.at("orderId"):
        text(command.order_id, max_length=MAX_ID_LENGTH)
    with errors.at("customerId"):
        customer_id = text(command.customer_id, max_length=MAX_ID_LENGTH)
    with errors.at("currency"):
        currency = currency_code(command.currency)
    if not 1 <= len(command.items) <= MAX_LINES:
        errors.add("items", f"must hold 1 to {MAX_LINES} items")
    lines: list[OrderLine] = []
    for index, item in enumerate(command.items[:MAX_LINES]):
        with errors.at(f"items[{index}]"):
            lines.append(_new_line(item, line_item_id(command.order_id, 1, index)))
    address = None
    if command.shipping_address is not None:
        with errors.at("shippingAddress"):
            address = shipping_address(command.shipping_address)
    errors.raise_if_any()
    created = OrderCreated(
        customer_id=customer_id,
        currency=currency,
        items=tuple(line.to_item() for line in lines),
        total=sum_of_lines(tuple(lines)),
        status=OrderStatus.PENDING,
        shipping_address=address,
    )
    return (created,)


def _add_item(state: Order, command: AddItemToOrder) -> tuple[OrderEvent, ...]:
    errors = FieldErrors()
    with errors.at("item"):
        line = _new_line(command.item, line_item_id(state.id, state.version + 1, 0))
    errors.raise_if_any()
    _require_modifiable(state)
    if len(state.items) >= MAX_LINES:
        raise TooManyLines(MAX_LINES)
    added = OrderItemAdded(item=line.to_item(), total=state.total + line.line_total, currency=state.currency)
    return (added,)


def _remove_item(state: Order, command: RemoveItemFromOrder) -> tuple[OrderEvent, ...]:
    """Removing the last line is allowed: the order stays pending with total 0.00 and can take new lines
    (or be cancelled) but cannot be confirmed until it has one again."""
    _require_modifiable(state)
    line = state.line(command.item_id)
    if line is None:
        raise ItemNotFound(command.item_id)
    removed = OrderItemRemoved(
        item_id=line.item_id,
        sku=line.sku,
        quantity=line.quantity,
        unit_price=line.unit_price,
        total=state.total - line.line_total,
        currency=state.currency,
    )
    return (removed,)


def _confirm(state: Order) -> tuple[OrderEvent, ...]:
    if state.status is not OrderStatus.PENDING:
        raise InvalidTransition(state.status, OrderStatus.CONFIRMED)
    if not state.items:
        raise InvalidTransition(state.status, OrderStatus.CONFIRMED, "an empty order cannot be confirmed")
    confirmed = OrderConfirmed(
        customer_id=state.customer_id,
        status=OrderStatus.CONFIRMED,
        total=state.total,
        currency=state.currency,
    )
    return (confirmed,)


def _ship(state: Order) -> tuple[OrderEvent, ...]:
    if state.status is not OrderStatus.CONFIRMED:
        raise InvalidTransition(state.status, OrderStatus.SHIPPED)
    shipped = OrderShipped(
        customer_id=state.customer_id, status=OrderStatus.SHIPPED, total=state.total, currency=state.currency
    )
    return (shipped,)


def _cancel(state: Order, command: CancelOrder) -> tuple[OrderEvent, ...]:
    errors = FieldErrors()
    with errors.at("reason"):
        reason = text(command.reason, max_length=500)
    errors.raise_if_any()
    if state.status not in _CANCELLABLE:
        raise InvalidTransition(state.status, OrderStatus.CANCELLED)
    cancelled = OrderCancelled(
        customer_id=state.customer_id,
        reason=reason,
        previous_status=state.status,
        status=OrderStatus.CANCELLED,
        total=state.total,
        currency=state.currency,
    )
    return (cancelled,)


def _require_modifiable(state: Order) -> None:
    if state.status is not OrderStatus.PENDING:
        raise OrderNotModifiable(state.status)


def _new_line(item: NewOrderLine, item_id: str) -> OrderLine:
    return OrderLine(
        item_id=item_id,
        sku=item.sku,
        name=item.name,
        quantity=item.quantity,
        unit_price=item.unit_price,
    )
