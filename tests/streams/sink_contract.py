"""The contract of the sink port (`streams.sink`), specified once and run against every adapter.

A store's test module subclasses `SinkContract`, provides a fresh `targets` fixture, the `projection` whose
records the store keeps, and `read_as_reader` (how the read side finds a key: alias, pointer, view).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from streams.errors import TargetError
from streams.order_view import OrderView
from streams.positions import Position
from streams.projection import Projection
from streams.sink import Put, Sink, Targets
from tests.streams.history import History, line, sample_histories


def puts_of(projection: Projection, history: History) -> list[Put]:
    state: OrderView | None = None
    puts: list[Put] = []
    for envelope in history.events:
        state, new = projection.handle(state, envelope)
        puts += new
    return puts


class SinkContract:
    projection: Projection

    @pytest.fixture
    def targets(self) -> Targets:
        raise NotImplementedError("the store's test class provides a fresh Targets")

    async def read_as_reader(self, targets: Targets, key: str) -> dict[str, Any] | None:
        """The document a reader finds for `key` through the reader-facing name."""
        raise NotImplementedError

    @pytest.fixture
    async def sink(self, targets: Targets) -> Sink:
        return targets.sink(await targets.ensure_active())

    async def test_load_returns_exactly_what_was_flushed(self, sink: Sink) -> None:
        histories = sample_histories(12)
        for history in histories:
            sink.add(*puts_of(self.projection, history))
        assert sink.pending > 0
        await sink.flush()
        assert sink.pending == 0
        loaded = await sink.load([h.order_id for h in histories])
        for history in histories:
            last = puts_of(self.projection, history)[-1]
            assert loaded[history.order_id].position == last.position
            assert loaded[history.order_id].document == dict(last.document)
        assert await sink.count() == len(histories)

    async def test_unknown_keys_load_nothing_and_an_empty_flush_writes_nothing(self, sink: Sink) -> None:
        assert await sink.load(["no-such-order"]) == {}
        assert await sink.load([]) == {}
        assert await sink.flush() == 0
        assert await sink.count() == 0

    async def test_a_put_at_or_below_the_stored_position_changes_nothing(self, sink: Sink) -> None:
        history = History()
        history.created(line("A", 1, "1.00"))
        history.added(line("B", 1, "2.00"))
        history.confirmed()
        puts = puts_of(self.projection, history)
        sink.add(*puts)
        await sink.flush()
        sink.add(puts[0])
        await sink.flush()
        sink.add(Put(puts[2].key, puts[2].position, puts[1].document))  # same position, stale data
        await sink.flush()
        stored = (await sink.load([history.order_id]))[history.order_id]
        assert stored.position == Position(3, 0)
        assert stored.document == dict(puts[2].document)

    async def test_the_highest_position_in_a_batch_wins_whatever_the_order(self, sink: Sink) -> None:
        history = History()
        history.created(line("A"))
        history.confirmed()
        history.shipped()
        puts = puts_of(self.projection, history)
        sink.add(puts[2], puts[0], puts[1])
        await sink.flush()
        stored = (await sink.load([history.order_id]))[history.order_id]
        assert stored.position == Position(3, 0)
        assert stored.document == dict(puts[2].document)

    async def test_flushing_the_same_records_again_has_no_second_effect(self, sink: Sink) -> None:
        histories = sample_histories(5, seed=3)
        for _ in range(2):
            for history in histories:
                sink.add(*puts_of(self.projection, history))
            await sink.flush()
        assert await sink.count() == 5
        await self.assert_no_duplicates(sink, histories)

    async def assert_no_duplicates(self, sink: Sink, histories: list[History]) -> None:
        """Stores that keep history check their row counts here."""

    async def test_later_batches_build_on_earlier_ones(self, sink: Sink) -> None:
        history = History()
        history.created(line("A", 1, "5.00"))
        puts = puts_of(self.projection, history)
        sink.add(*puts)
        await sink.flush()
        history.added(line("B", 3, "0.05"))
        history.cancelled()
        later = puts_of(self.projection, history)[1:]
        sink.add(*later)
        await sink.flush()
        stored = (await sink.load([history.order_id]))[history.order_id]
        state = self.projection.state(stored)
        assert state.total == Decimal("5.15")
        assert state.status.value == "cancelled"
        assert [item.sku for item in state.items] == ["A", "B"]

    async def test_money_round_trips_exactly(self, sink: Sink) -> None:
        history = History()
        history.created(line("MAX", 1000, "999999999.99"), line("MIN", 1, "0.01"), line("ODD", 7, "0.07"))
        sink.add(*puts_of(self.projection, history))
        await sink.flush()
        state = self.projection.state((await sink.load([history.order_id]))[history.order_id])
        assert state.total == Decimal("999999999990.00") + Decimal("0.01") + Decimal("0.49")
        assert [item.unit_price for item in state.items] == [Decimal("999999999.99"), Decimal("0.01"), Decimal("0.07")]

    async def test_a_new_generation_is_filled_aside_then_switched_atomically(self, targets: Targets) -> None:
        first = await targets.ensure_active()
        assert first == 1
        assert await targets.active() == 1
        old, new = History(), History()
        old.created(line("OLD"))
        new.created(line("NEW"))
        sink = targets.sink(1)
        sink.add(*puts_of(self.projection, old))
        await sink.flush()
        await targets.create(2)
        await targets.create(2)  # idempotent
        assert await targets.generations() == [1, 2]
        rebuilt = targets.sink(2)
        rebuilt.add(*puts_of(self.projection, old), *puts_of(self.projection, new))
        await rebuilt.flush()
        assert await self.read_as_reader(targets, new.order_id) is None  # readers still on generation 1
        assert await self.read_as_reader(targets, old.order_id) is not None
        await targets.switch(2)
        assert await targets.active() == 2
        assert await self.read_as_reader(targets, new.order_id) is not None
        with pytest.raises(TargetError):
            await targets.drop(2)
        await targets.drop(1)
        assert await targets.generations() == [2]
        with pytest.raises(TargetError):
            await targets.switch(7)
