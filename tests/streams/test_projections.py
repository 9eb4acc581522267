"""Each projection: event → records, and back from a stored record to the same state (no store involved)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from schemas.events import OrderStatus, ShippingAddress
from streams.errors import InvariantViolation
from streams.order_view import OrderView, evolve
from streams.positions import Position
from streams.projection import Projection
from streams.projections import PROJECTIONS, projection_named
from streams.projections.analytics import AnalyticsProjection
from streams.projections.detail import DetailProjection
from streams.projections.search import SearchProjection
from streams.sink import Stored
from tests.streams.history import History, line, sample_histories, with_position

ADDRESS = ShippingAddress(line1="1 Main St", city="Berlin", postal_code="10115", country="DE")


def fold(projection: Projection, history: History) -> tuple[OrderView | None, list[dict[str, object]]]:
    state: OrderView | None = None
    documents = []
    for envelope in history.events:
        state, puts = projection.handle(state, envelope)
        assert [put.key for put in puts] == [history.order_id]
        assert all(put.position == Position(envelope.version, envelope.sequence) for put in puts)
        documents += [dict(put.document) for put in puts]
    return state, documents


@pytest.mark.parametrize("name", list(PROJECTIONS))
def test_each_projection_turns_every_event_into_one_record_at_its_position(name: str) -> None:
    history = History()
    history.created(line("A-1", 2, "9.99"), address=ADDRESS)
    history.added(line("B-2", 1, "0.01"))
    history.removed(0)
    history.confirmed()
    history.shipped()
    state, documents = fold(projection_named(name), history)
    assert state is not None
    assert len(documents) == 5
    assert state.status is OrderStatus.SHIPPED
    assert state.total == Decimal("0.01")
    assert state.position == Position(5, 0)


@pytest.mark.parametrize("name", list(PROJECTIONS))
def test_a_stored_record_gives_back_the_state_it_was_made_from(name: str) -> None:
    projection = projection_named(name)
    for history in sample_histories(30):
        state: OrderView | None = None
        for envelope in history.events:
            state, puts = projection.handle(state, envelope)
            back = projection.state(Stored(puts[-1].position, dict(puts[-1].document)))
            expected = state
            if isinstance(projection, AnalyticsProjection):  # the facts keep only the shipping country
                from dataclasses import replace

                expected = replace(state, shipping_address=None)
            assert back == expected


def test_detail_document_holds_money_as_exact_text_and_cents() -> None:
    history = History()
    history.created(line("A-1", 3, "33.33"), line("B-2", 1, "0.10"))
    state = evolve(None, history.events[0])
    (put,) = DetailProjection().records(None, state, history.events[0])
    doc = put.document
    assert doc["total"] == "100.09"
    assert doc["totalCents"] == 10009
    assert doc["items"][0] | {"itemId": None} == {
        "itemId": None, "sku": "A-1", "name": "Product A-1", "quantity": 3,
        "unitPrice": "33.33", "unitPriceCents": 3333, "lineTotal": "99.99", "lineTotalCents": 9999,
    }  # fmt: skip
    assert doc["status"] == "pending"
    assert doc["createdAt"] == history.events[0].timestamp
    assert (doc["version"], doc["sequence"]) == (1, 0)


def test_search_document_is_plain_json() -> None:
    history = History()
    history.created(line("SKU-9", 1, "5.00"), address=ADDRESS)
    state = evolve(None, history.events[0])
    (put,) = SearchProjection().records(None, state, history.events[0])
    import json

    assert json.loads(json.dumps(put.document)) == put.document
    assert put.document["total"] == "5.00"
    assert put.document["shippingAddress"]["country"] == "DE"


def test_analytics_facts_carry_deltas_for_revenue_and_skus() -> None:
    history = History(currency="USD")
    history.created(line("A", 2, "10.00"), line("B", 1, "5.00"))
    history.added(line("C", 4, "1.25"))
    history.removed(1)
    history.cancelled()
    projection = AnalyticsProjection()
    state: OrderView | None = None
    rows = []
    for envelope in history.events:
        before = state
        state, puts = projection.handle(state, envelope)
        rows.append(puts[0].document)
        assert rows[-1]["previous_status"] == (before.status.value if before else "")
    assert [(r["delta_skus"], r["delta_quantities"]) for r in rows] == [
        (["A", "B"], [2, 1]), (["C"], [4]), (["B"], [-1]), (["A", "C"], [-2, -4]),
    ]  # fmt: skip
    assert rows[-1]["delta_revenue"] == [Decimal("-20.00"), Decimal("-5.00")]
    assert [r["total"] for r in rows] == [Decimal("25.00"), Decimal("30.00"), Decimal("25.00"), Decimal("25.00")]
    assert rows[-1]["status"] == "cancelled"
    assert rows[-1]["cancel_reason"] == "changed my mind"


def test_an_event_that_contradicts_the_order_is_an_invariant_violation() -> None:
    history = History()
    created = history.created(line("A", 1, "1.00"))
    removed = history.removed(0)
    state = evolve(None, created)
    evolve(state, removed)
    with pytest.raises(InvariantViolation, match="no line"):
        evolve(evolve(state, removed), with_position(removed, 3))
    with pytest.raises(InvariantViolation, match="created twice"):
        evolve(state, with_position(created, 2))
    with pytest.raises(InvariantViolation, match="never created"):
        evolve(None, removed)


def test_a_total_that_does_not_add_up_is_an_invariant_violation() -> None:
    from dataclasses import replace

    history = History()
    created = history.created(line("A", 1, "1.00"))
    wrong = replace(created, data=replace(created.data, total=Decimal("2.00")))
    with pytest.raises(InvariantViolation, match="total"):
        evolve(None, wrong)


def test_projections_are_named_after_their_dlq_topics() -> None:
    assert sorted(PROJECTIONS) == ["orders-analytics", "orders-list", "orders-mongo", "orders-search"]
    assert {p.store for p in PROJECTIONS.values()} == {"postgres", "mongo", "elasticsearch", "clickhouse"}
