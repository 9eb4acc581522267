"""The Order aggregate, command by command: what it emits, what it rejects, and why."""

import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypedDict

import pytest

from schemas.events import (
    LineItem,
    OrderCancelled,
    OrderConfirmed,
    OrderCreated,
    OrderItemAdded,
    OrderItemRemoved,
    OrderShipped,
    OrderStatus,
    ShippingAddress,
)
from writer.domain import (
    MAX_LINES,
    AddItemToOrder,
    CancelOrder,
    ConfirmOrder,
    CreateOrder,
    Decision,
    FieldError,
    InvalidCommand,
    InvalidTransition,
    InvalidValue,
    ItemNotFound,
    NewOrderLine,
    Order,
    OrderAlreadyExists,
    OrderCommand,
    OrderLine,
    OrderNotFound,
    OrderNotModifiable,
    RemoveItemFromOrder,
    ShipOrder,
    TooManyLines,
    VersionConflict,
    currency_code,
    decide,
    evolve,
    line_item_id,
    money,
)

T0 = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
T0_MS = T0.replace(microsecond=123000)
ORDER_ID = "o-1"
KETTLE = NewOrderLine(sku="SKU-K", name="Kettle", quantity=2, unit_price=Decimal("19.99"))
MUG = NewOrderLine(sku="SKU-M", name="Mug", quantity=3, unit_price=Decimal("4.50"))
ADDRESS = ShippingAddress(line1="Hauptstr. 1", city="Berlin", postal_code="10115", country="DE")


def create(**changes: Any) -> CreateOrder:
    fields: dict[str, Any] = {
        "order_id": ORDER_ID,
        "customer_id": "c-1",
        "currency": "EUR",
        "items": (KETTLE,),
        "shipping_address": ADDRESS,
    }
    return CreateOrder(**(fields | changes))


def run(state: Order | None, command: OrderCommand, at: datetime = T0) -> tuple[Order, Decision]:
    decision = decide(state, command, now=at)
    return evolve(state, decision), decision


def order_in(status: OrderStatus, *items: NewOrderLine) -> Order:
    state, _ = run(None, create(items=items or (KETTLE,)))
    steps: dict[OrderStatus, list[OrderCommand]] = {
        OrderStatus.PENDING: [],
        OrderStatus.CONFIRMED: [ConfirmOrder(order_id=ORDER_ID)],
        OrderStatus.SHIPPED: [ConfirmOrder(order_id=ORDER_ID), ShipOrder(order_id=ORDER_ID)],
        OrderStatus.CANCELLED: [CancelOrder(order_id=ORDER_ID, reason="test")],
    }
    for command in steps[status]:
        state, _ = run(state, command)
    return state


def rejected(state: Order | None, command: OrderCommand, error: type[Exception]) -> Exception:
    with pytest.raises(error) as raised:
        decide(state, command, now=T0)
    return raised.value


# --- CreateOrder ---


def test_create_order_emits_order_created_with_everything_a_projection_needs() -> None:
    state, decision = run(None, create(items=(KETTLE, MUG)))

    first, second = line_item_id(ORDER_ID, 1, 0), line_item_id(ORDER_ID, 1, 1)
    assert decision == Decision(
        order_id=ORDER_ID,
        version=1,
        occurred_at=T0_MS,
        events=(
            OrderCreated(
                customer_id="c-1",
                currency="EUR",
                items=(
                    LineItem(item_id=first, sku="SKU-K", name="Kettle", quantity=2, unit_price=Decimal("19.99")),
                    LineItem(item_id=second, sku="SKU-M", name="Mug", quantity=3, unit_price=Decimal("4.50")),
                ),
                total=Decimal("53.48"),
                status=OrderStatus.PENDING,
                shipping_address=ADDRESS,
            ),
        ),
    )
    assert (state.id, state.customer_id, state.status, state.currency) == (ORDER_ID, "c-1", "pending", "EUR")
    assert (state.version, state.total, state.created_at, state.updated_at) == (
        1,
        Decimal("53.48"),
        T0_MS,
        T0_MS,
    )
    assert [line.item_id for line in state.items] == [first, second]
    assert state.shipping_address == ADDRESS


def test_item_ids_are_derived_from_the_inputs_so_a_retry_yields_the_same_ids() -> None:
    assert decide(None, create(), now=T0) == decide(None, create(), now=T0)
    assert line_item_id(ORDER_ID, 1, 0) != line_item_id(ORDER_ID, 2, 0) != line_item_id("o-2", 1, 0)


def test_create_order_reports_every_invalid_field_at_once() -> None:
    command = create(
        customer_id=" ",
        currency="eur",
        items=(replace(KETTLE, quantity=0), replace(MUG, unit_price=Decimal("1.999"), name="")),
        shipping_address=replace(ADDRESS, country="Germany", postal_code=""),
    )

    error = rejected(None, command, InvalidCommand)

    assert isinstance(error, InvalidCommand)
    assert {e.field for e in error.errors} == {
        "customerId",
        "currency",
        "items[0].quantity",
        "items[1].name",
        "items[1].unitPrice",
        "shippingAddress.postalCode",
        "shippingAddress.country",
    }


def test_create_order_needs_one_to_a_hundred_items() -> None:
    for items in [(), (KETTLE,) * (MAX_LINES + 1)]:
        error = rejected(None, create(items=items), InvalidCommand)

        assert isinstance(error, InvalidCommand)
        assert error.errors == (FieldError("items", "must hold 1 to 100 items"),)


def test_an_order_with_a_hundred_lines_is_accepted() -> None:
    state, _ = run(None, create(items=(KETTLE,) * MAX_LINES))

    assert len(state.items) == MAX_LINES
    assert state.total == Decimal("3998.00")


def test_create_order_without_shipping_address_is_accepted() -> None:
    state, _ = run(None, create(shipping_address=None))

    assert state.shipping_address is None


def test_creating_an_existing_order_is_rejected() -> None:
    rejected(order_in(OrderStatus.PENDING), create(), OrderAlreadyExists)


@pytest.mark.parametrize(
    "command",
    [
        AddItemToOrder(order_id=ORDER_ID, item=KETTLE),
        RemoveItemFromOrder(order_id=ORDER_ID, item_id="x"),
        CancelOrder(order_id=ORDER_ID, reason="r"),
        ConfirmOrder(order_id=ORDER_ID),
        ShipOrder(order_id=ORDER_ID),
    ],
    ids=lambda command: type(command).__name__,
)
def test_a_command_for_a_missing_order_is_rejected(command: OrderCommand) -> None:
    rejected(None, command, OrderNotFound)


def test_a_naive_clock_value_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        decide(None, create(), now=datetime(2024, 1, 1))


# --- Items ---


def test_add_item_emits_the_line_with_the_new_total_and_currency() -> None:
    state, decision = run(order_in(OrderStatus.PENDING), AddItemToOrder(order_id=ORDER_ID, item=MUG))

    new_line = LineItem(
        item_id=line_item_id(ORDER_ID, 2, 0), sku="SKU-M", name="Mug", quantity=3, unit_price=Decimal("4.50")
    )
    assert decision.events == (OrderItemAdded(item=new_line, total=Decimal("53.48"), currency="EUR"),)
    assert (decision.version, state.version, state.total) == (2, 2, Decimal("53.48"))
    assert state.items[-1] == OrderLine.from_item(new_line)


def test_add_item_with_invalid_input_names_the_fields() -> None:
    item = NewOrderLine(sku="", name="Mug", quantity=1001, unit_price=Decimal("-1"))

    error = rejected(order_in(OrderStatus.PENDING), AddItemToOrder(order_id=ORDER_ID, item=item), InvalidCommand)

    assert isinstance(error, InvalidCommand)
    assert [e.field for e in error.errors] == ["item.sku", "item.quantity", "item.unitPrice"]


def test_the_hundred_and_first_line_is_rejected() -> None:
    full, _ = run(None, create(items=(KETTLE,) * MAX_LINES))

    error = rejected(full, AddItemToOrder(order_id=ORDER_ID, item=MUG), TooManyLines)

    assert isinstance(error, TooManyLines)
    assert error.limit == MAX_LINES


def test_remove_item_emits_the_removed_line_and_the_new_total() -> None:
    pending = order_in(OrderStatus.PENDING, KETTLE, MUG)
    kettle = pending.items[0]

    state, decision = run(pending, RemoveItemFromOrder(order_id=ORDER_ID, item_id=kettle.item_id))

    assert decision.events == (
        OrderItemRemoved(
            item_id=kettle.item_id,
            sku="SKU-K",
            quantity=2,
            unit_price=Decimal("19.99"),
            total=Decimal("13.50"),
            currency="EUR",
        ),
    )
    assert [line.sku for line in state.items] == ["SKU-M"]


def test_removing_the_last_item_leaves_an_empty_pending_order_that_cannot_be_confirmed() -> None:
    pending = order_in(OrderStatus.PENDING)

    empty, _ = run(pending, RemoveItemFromOrder(order_id=ORDER_ID, item_id=pending.items[0].item_id))

    assert (empty.items, empty.total, empty.status) == ((), Decimal("0.00"), OrderStatus.PENDING)
    rejected(empty, ConfirmOrder(order_id=ORDER_ID), InvalidTransition)
    refilled, _ = run(empty, AddItemToOrder(order_id=ORDER_ID, item=MUG))
    assert refilled.total == Decimal("13.50")


def test_removing_an_unknown_item_is_rejected() -> None:
    error = rejected(order_in(OrderStatus.PENDING), RemoveItemFromOrder(order_id=ORDER_ID, item_id="x"), ItemNotFound)

    assert isinstance(error, ItemNotFound)
    assert error.item_id == "x"


@pytest.mark.parametrize("status", [OrderStatus.CONFIRMED, OrderStatus.SHIPPED, OrderStatus.CANCELLED])
def test_items_change_only_while_pending(status: OrderStatus) -> None:
    state = order_in(status)

    rejected(state, AddItemToOrder(order_id=ORDER_ID, item=MUG), OrderNotModifiable)
    rejected(state, RemoveItemFromOrder(order_id=ORDER_ID, item_id=state.items[0].item_id), OrderNotModifiable)


# --- Status ---

ALLOWED = {
    (OrderStatus.PENDING, ConfirmOrder): OrderStatus.CONFIRMED,
    (OrderStatus.CONFIRMED, ShipOrder): OrderStatus.SHIPPED,
    (OrderStatus.PENDING, CancelOrder): OrderStatus.CANCELLED,
    (OrderStatus.CONFIRMED, CancelOrder): OrderStatus.CANCELLED,
}
TRANSITIONS: dict[type, OrderCommand] = {
    ConfirmOrder: ConfirmOrder(order_id=ORDER_ID),
    ShipOrder: ShipOrder(order_id=ORDER_ID),
    CancelOrder: CancelOrder(order_id=ORDER_ID, reason="too slow"),
}


@pytest.mark.parametrize("status", list(OrderStatus))
@pytest.mark.parametrize("kind", list(TRANSITIONS), ids=lambda kind: kind.__name__)
def test_status_follows_the_state_machine(status: OrderStatus, kind: type) -> None:
    state = order_in(status)
    target = ALLOWED.get((status, kind))

    if target is None:
        rejected(state, TRANSITIONS[kind], InvalidTransition)
    else:
        after, decision = run(state, TRANSITIONS[kind])
        assert after.status == target
        assert (after.version, decision.version) == (state.version + 1, state.version + 1)


class StatusEventFields(TypedDict):
    """The fields every status event (confirmed, shipped, cancelled) carries."""

    customer_id: str
    total: Decimal
    currency: str


def test_status_events_carry_customer_total_and_currency() -> None:
    confirmed, confirm = run(order_in(OrderStatus.PENDING), TRANSITIONS[ConfirmOrder])
    _, ship = run(confirmed, TRANSITIONS[ShipOrder])
    _, cancel = run(confirmed, TRANSITIONS[CancelOrder])

    common: StatusEventFields = {"customer_id": "c-1", "total": Decimal("39.98"), "currency": "EUR"}
    assert confirm.events == (OrderConfirmed(status=OrderStatus.CONFIRMED, **common),)
    assert ship.events == (OrderShipped(status=OrderStatus.SHIPPED, **common),)
    assert cancel.events == (
        OrderCancelled(
            reason="too slow", previous_status=OrderStatus.CONFIRMED, status=OrderStatus.CANCELLED, **common
        ),
    )


def test_cancel_needs_a_reason() -> None:
    error = rejected(order_in(OrderStatus.PENDING), CancelOrder(order_id=ORDER_ID, reason=""), InvalidCommand)

    assert isinstance(error, InvalidCommand)
    assert error.errors == (FieldError("reason", "must not be blank"),)


# --- Concurrency, timestamps, evolve ---


def test_a_stale_expected_version_is_a_conflict_naming_both_versions() -> None:
    state = order_in(OrderStatus.CONFIRMED)

    error = rejected(state, ShipOrder(order_id=ORDER_ID, expected_version=1), VersionConflict)

    assert isinstance(error, VersionConflict)
    assert (error.expected, error.actual) == (1, 2)


def test_the_current_expected_version_is_accepted() -> None:
    state, decision = run(order_in(OrderStatus.CONFIRMED), ShipOrder(order_id=ORDER_ID, expected_version=2))

    assert (state.version, decision.version) == (3, 3)


def test_each_accepted_command_moves_updated_at_but_not_created_at() -> None:
    later = T0 + timedelta(minutes=5)

    state, _ = run(order_in(OrderStatus.PENDING), TRANSITIONS[ConfirmOrder], at=later)

    assert (state.created_at, state.updated_at) == (T0_MS, later.replace(microsecond=123000))


def test_a_decision_applies_only_to_the_state_it_was_made_for() -> None:
    pending = order_in(OrderStatus.PENDING)
    decision = decide(pending, TRANSITIONS[ConfirmOrder], now=T0)
    confirmed = evolve(pending, decision)

    with pytest.raises(ValueError, match="does not follow"):
        evolve(confirmed, decision)


def test_a_state_with_duplicate_item_ids_cannot_exist() -> None:
    pending = order_in(OrderStatus.PENDING)

    with pytest.raises(ValueError, match="duplicate item ids"):
        replace(pending, items=pending.items * 2)


# --- Values ---


@pytest.mark.parametrize(
    ("given", "expected"),
    [(Decimal("12.3"), "12.30"), ("12.34", "12.34"), ("1.230", "1.23"), (7, "7.00"), (Decimal("-0"), "0.00")],
)
def test_money_is_quantized_to_cents(given: object, expected: str) -> None:
    assert str(money(given)) == expected


@pytest.mark.parametrize(
    "given",
    [1.5, True, Decimal("NaN"), Decimal("Infinity"), Decimal("-0.01"), "1.999", "1e3", "", "12,50", None],
)
def test_money_rejects_floats_non_finite_negative_and_sub_cent_amounts(given: object) -> None:
    with pytest.raises(InvalidValue):
        money(given)


@pytest.mark.parametrize("given", ["eur", "EURO", "XXX", "JPY", 978, None])
def test_currency_must_be_a_supported_iso_4217_code(given: object) -> None:
    with pytest.raises(InvalidValue):
        currency_code(given)


def test_the_domain_loads_no_io_or_serialization_library() -> None:
    forbidden = [
        "psycopg",
        "fastapi",
        "starlette",
        "kafka",
        "aiokafka",
        "faust",
        "httpx",
        "fastavro",
        "pymongo",
    ]
    probe = f"import sys, writer.domain; print([m for m in {forbidden!r} if m in sys.modules])"

    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)

    assert result.stdout.strip() == "[]"
