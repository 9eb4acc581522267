"""Stale writers change nothing: every store fences a write by position, and a worker whose lease lapsed sends none.

Two sinks on one target play two workers of one projection: the stale one learned the orders' early positions, the
new owner then wrote their whole histories, and only afterwards does the stale one flush what it decided back then
(its next events). Every store must keep the newer state, and the analytics views must count each event once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from infra.stack import Stack
from streams.errors import Fenced
from streams.ownership import Lease, Ownership
from streams.projection import Projection
from streams.projections import projection_named
from streams.sandbox import remove
from streams.sink import Targets
from streams.sinks import targets_for
from streams.sinks.clickhouse import ClickHouseTargets
from tests.streams.conftest import unique_settings
from tests.streams.history import History, line, sample_histories
from tests.streams.read_models import expected_revenue
from tests.streams.sink_contract import puts_of

pytestmark = pytest.mark.stack

STORES = {"orders-list": "postgres", "orders-mongo": "mongo", "orders-search": "elasticsearch",
          "orders-analytics": "clickhouse"}  # fmt: skip


@pytest.fixture(params=list(STORES))
async def store(request: pytest.FixtureRequest, stack: Stack) -> AsyncIterator[tuple[Projection, Targets]]:
    # MongoDB's fence is the position filter; FerretDB scans for it, which a small collection does not mind.
    settings = unique_settings(stack, mongo_position_filter=True)
    projection = projection_named(request.param)
    targets = targets_for(projection.store, settings)
    yield projection, targets
    await targets.close()
    await remove(settings, stores=[projection.store])


def _histories() -> list[History]:
    histories = [h for h in sample_histories(24, seed=20) if len(h.events) >= 3]
    odd = History()  # text a statement must carry safely: quotes, a backslash, non-ASCII
    odd.created(line("Q'1", 2, "3.50", name="O'Brien \\ Söhne"))
    odd.added(line("Q2", 1, "1.25"))
    odd.confirmed()
    return [*histories, odd]


async def test_a_stale_sink_flushing_after_the_new_owner_changes_nothing(store: tuple[Projection, Targets]) -> None:
    projection, targets = store
    generation = await targets.ensure_active()
    histories = _histories()
    ids = [h.order_id for h in histories]
    first = targets.sink(generation)  # the first owner: writes each order's first event, remembers it
    for history in histories:
        first.add(*puts_of(projection, history)[:1])
    await first.flush()
    await first.load(ids)

    owner = targets.sink(generation)  # the new owner: the whole histories
    for history in histories:
        owner.add(*puts_of(projection, history))
    await owner.flush()
    newest = await owner.load(ids)

    for history in histories:  # the stale owner's late flush: the second event it decided before it lost them
        first.add(*puts_of(projection, history)[1:2])
    await first.flush()

    assert await owner.load(ids) == newest
    if isinstance(targets, ClickHouseTargets):
        await _assert_counted_once(targets, histories)


async def _assert_counted_once(targets: ClickHouseTargets, histories: list[History]) -> None:
    db = targets._database
    (facts,) = await targets.query(f"SELECT count() FROM {db}.order_events")
    assert facts[0] == sum(len(h.events) for h in histories)
    daily = await targets.query(
        f"SELECT status, currency, sum(orders), sum(revenue) FROM {db}.daily_revenue GROUP BY ALL"
    )
    assert {(s, c): (int(o), Decimal(r)) for s, c, o, r in daily} == expected_revenue(histories)


async def test_a_worker_whose_lease_lapsed_sends_no_write(store: tuple[Projection, Targets]) -> None:
    projection, targets = store
    generation = await targets.ensure_active()
    history = _histories()[0]
    sink = targets.sink(generation)
    lease = Lease(0.2, tick_s=0.05)
    sink.guard = Ownership(lease).check
    lease.start()
    try:
        sink.add(*puts_of(projection, history))
        _freeze(0.4)  # the event loop stands still past the lease, as under SIGSTOP
        with pytest.raises(Fenced):
            await sink.flush()
    finally:
        await lease.stop()
    assert await targets.sink(generation).load([history.order_id]) == {}
    assert sink.pending > 0  # kept, never sent: the process restarts and forgets it


def _freeze(seconds: float) -> None:
    import time

    time.sleep(seconds)


async def test_a_lease_lapses_for_good_once_the_loop_stood_still() -> None:
    lease = Lease(0.2, tick_s=0.05)
    lease.start()
    try:
        await asyncio.sleep(0.3)
        assert lease.valid()  # a running loop keeps it
        _freeze(0.3)
        await asyncio.sleep(0.1)  # the watchdog sees the gap first this time
        assert not lease.valid()
        await asyncio.sleep(0.2)
        assert not lease.valid()  # and it stays lapsed: the worker must restart
    finally:
        await lease.stop()


def test_ownership_owns_only_what_it_was_given_and_not_what_was_revoked() -> None:
    ownership = Ownership()
    assert ownership.owns(5)  # no group: everything
    ownership.assigned({0, 1, 2})
    assert ownership.owns(1)
    assert not ownership.owns(3)
    ownership.revoked({0, 1, 2})
    ownership.assigned({2, 3})
    assert (ownership.owns(1), ownership.owns(2), ownership.owns(3)) == (False, True, True)
