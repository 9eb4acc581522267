"""The vegeta command mix is valid in any arrival order: no order is confirmed twice or takes an item after its
confirmation, none outgrows the line limit, and every request has its own Idempotency-Key."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from cqrs.e2e.commands import ITEMS_PER_ORDER, SHARES, CommandPlan


def test_confirmed_orders_and_orders_taking_items_are_disjoint_and_bounded() -> None:
    plan = CommandPlan.for_load(rate=200, seconds=30)
    seeded = [f"order-{n}" for n in range(plan.seeds)]

    requests = list(plan.requests(seeded))

    assert len(requests) == 6000
    bodies = [(r.path.removeprefix("/commands/"), json.loads(r.body)) for r in requests]
    confirmed = Counter(body["orderId"] for kind, body in bodies if kind == "confirm-order")
    items = Counter(body["orderId"] for kind, body in bodies if kind == "add-item-to-order")
    assert set(confirmed.values()) == {1}
    assert not set(confirmed) & set(items)
    assert max(items.values()) <= ITEMS_PER_ORDER
    assert all("expectedVersion" not in body for _, body in bodies)
    assert len({r.headers["Idempotency-Key"] for r in requests}) == len(requests)
    kinds = Counter(kind for kind, _ in bodies)
    for kind, share in SHARES.items():
        assert abs(kinds[kind] / len(requests) - share) < 0.03


def test_a_plan_refuses_fewer_seeded_orders_than_it_needs() -> None:
    plan = CommandPlan.for_load(rate=50, seconds=10)

    with pytest.raises(ValueError, match="seeded orders"):
        list(plan.requests(["order-1"]))
