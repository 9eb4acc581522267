"""Properties of the Order aggregate under any sequence of commands, valid or not."""

import copy
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.envelope import EventEnvelope
from schemas.envelope_codec import decode_envelope, encode_envelope
from schemas.events import OrderStatus
from writer.domain import (
    MAX_LINES,
    MAX_QUANTITY,
    MIN_QUANTITY,
    AddItemToOrder,
    CancelOrder,
    ConfirmOrder,
    CreateOrder,
    Decision,
    DomainError,
    InvalidValue,
    NewOrderLine,
    Order,
    OrderCommand,
    RemoveItemFromOrder,
    ShipOrder,
    decide,
    evolve,
    money,
)

ORDER_ID = "o-prop"
T0 = datetime(2024, 1, 1, tzinfo=UTC)
CENT = Decimal("0.01")
ALLOWED_TRANSITIONS = {
    (None, OrderStatus.PENDING),
    (OrderStatus.PENDING, OrderStatus.PENDING),
    (OrderStatus.PENDING, OrderStatus.CONFIRMED),
    (OrderStatus.CONFIRMED, OrderStatus.SHIPPED),
    (OrderStatus.PENDING, OrderStatus.CANCELLED),
    (OrderStatus.CONFIRMED, OrderStatus.CANCELLED),
}

valid_lines = st.builds(
    NewOrderLine,
    sku=st.sampled_from(["SKU-A", "SKU-B"]),
    name=st.sampled_from(["Kettle", "Mug"]),
    quantity=st.integers(MIN_QUANTITY, MAX_QUANTITY),
    unit_price=st.decimals(min_value=0, max_value=Decimal("9999.99"), places=2),
)
BREAKAGES: list[dict[str, Any]] = [
    {"quantity": MIN_QUANTITY - 1},
    {"quantity": MAX_QUANTITY + 1},
    {"unit_price": Decimal("1.001")},
    {"unit_price": Decimal("-0.01")},
    {"unit_price": Decimal("NaN")},
    {"unit_price": 1.5},
    {"sku": ""},
    {"name": " "},
]
new_lines = valid_lines | st.tuples(valid_lines, st.sampled_from(BREAKAGES)).map(lambda b: replace(b[0], **b[1]))
valid_creates = st.builds(
    CreateOrder,
    order_id=st.just(ORDER_ID),
    customer_id=st.sampled_from(["c-1", "c-2"]),
    currency=st.sampled_from(["EUR", "USD"]),
    items=st.lists(valid_lines, min_size=1, max_size=4),
)
creates = valid_creates | st.builds(
    CreateOrder,
    order_id=st.just(ORDER_ID),
    customer_id=st.sampled_from(["c-1", ""]),
    currency=st.sampled_from(["EUR", "eur", "JPY"]),
    items=st.lists(new_lines, max_size=4),
)


def commands(state: Order | None) -> st.SearchStrategy[OrderCommand]:
    if state is None:
        return creates | st.builds(ConfirmOrder, order_id=st.just(ORDER_ID))
    versions = st.none() | st.just(state.version) | st.integers(0, state.version + 2)
    item_ids = st.sampled_from([line.item_id for line in state.items] + ["no-such-item"])
    return st.one_of(
        creates,
        st.builds(AddItemToOrder, order_id=st.just(ORDER_ID), item=new_lines, expected_version=versions),
        st.builds(RemoveItemFromOrder, order_id=st.just(ORDER_ID), item_id=item_ids, expected_version=versions),
        st.builds(
            CancelOrder,
            order_id=st.just(ORDER_ID),
            reason=st.sampled_from(["late", ""]),
            expected_version=versions,
        ),
        st.builds(ConfirmOrder, order_id=st.just(ORDER_ID), expected_version=versions),
        st.builds(ShipOrder, order_id=st.just(ORDER_ID), expected_version=versions),
    )


def assert_invariants(order: Order) -> None:
    assert order.total == sum((line.quantity * line.unit_price for line in order.items), Decimal(0))
    assert len(order.items) <= MAX_LINES
    assert len({line.item_id for line in order.items}) == len(order.items)
    assert all(MIN_QUANTITY <= line.quantity <= MAX_QUANTITY for line in order.items)
    assert all(line.unit_price >= 0 and line.unit_price == line.unit_price.quantize(CENT) for line in order.items)
    assert order.created_at <= order.updated_at


def assert_accepted(before: Order | None, decision: Decision, after: Order) -> None:
    previous_version = 0 if before is None else before.version
    assert decision.version == after.version == previous_version + 1
    assert len(decision.events) >= 1
    assert all(event.total == after.total for event in decision.events)
    assert ((before.status if before else None), after.status) in ALLOWED_TRANSITIONS
    assert after.updated_at == decision.occurred_at


def assert_events_survive_the_codec(decision: Decision) -> None:
    for sequence, event in enumerate(decision.events):
        envelope = EventEnvelope(
            event_id=UUID(int=decision.version),
            aggregate_type="Order",
            aggregate_id=decision.order_id,
            version=decision.version,
            sequence=sequence,
            timestamp=decision.occurred_at,
            correlation_id="corr",
            causation_id="cmd",
            data=event,
        )
        assert decode_envelope(encode_envelope(envelope)) == envelope


@settings(max_examples=300, deadline=None)
@given(st.data(), st.integers(min_value=1, max_value=40))
def test_any_command_sequence_keeps_the_invariants(data: st.DataObject, steps: int) -> None:
    state: Order | None = None
    now = T0
    for _ in range(steps):
        command = data.draw(commands(state))
        now += timedelta(microseconds=data.draw(st.integers(0, 10**9)))
        snapshot = copy.deepcopy(state)
        try:
            decision = decide(state, command, now=now)
        except DomainError:
            assert state == snapshot  # rejected: nothing emitted, nothing changed
            continue
        after = evolve(state, decision)
        assert_accepted(state, decision, after)
        assert_invariants(after)
        assert_events_survive_the_codec(decision)
        state = after


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_cancelled_and_shipped_orders_accept_nothing(data: st.DataObject) -> None:
    state = evolve(None, decide(None, data.draw(valid_creates), now=T0))
    final = data.draw(st.sampled_from([OrderStatus.CANCELLED, OrderStatus.SHIPPED]))
    path: list[OrderCommand] = (
        [CancelOrder(order_id=ORDER_ID, reason="r")]
        if final is OrderStatus.CANCELLED
        else [ConfirmOrder(order_id=ORDER_ID), ShipOrder(order_id=ORDER_ID)]
    )
    for command in path:
        state = evolve(state, decide(state, command, now=T0))

    for _ in range(10):
        command = data.draw(commands(state))
        try:
            decide(state, command, now=T0)
        except DomainError:
            continue
        raise AssertionError(f"a {final} order accepted {command}")


@given(st.decimals(allow_nan=True, allow_infinity=True) | st.floats(allow_nan=True))
def test_money_accepts_exactly_the_finite_non_negative_decimals_with_at_most_two_places(amount: Any) -> None:
    acceptable = (
        isinstance(amount, Decimal)
        and amount.is_finite()
        and 0 <= amount <= Decimal("999999999.99")
        and amount == amount.quantize(CENT)
    )
    try:
        cents = money(amount)
    except InvalidValue:
        assert not acceptable
    else:
        assert acceptable
        assert cents == amount
        assert cents.as_tuple().exponent == -2
