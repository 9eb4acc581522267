"""The batching every sink shares (`streams.sink.BatchingSink`): what a batch holds, and that a failed write keeps
it for the retry. Each store's own writing is proven by the contract suite (`tests/streams/test_sinks.py`)."""

from __future__ import annotations

import asyncio
from collections.abc import Collection

import pytest

from streams.positions import Position
from streams.sink import BatchingSink, Put, Stored
from tests.streams.fakes import Gate


class RecordingSink(BatchingSink):
    def __init__(self, *, failures: int = 0) -> None:
        super().__init__()
        self.writes: list[list[Put]] = []
        self.failures = failures

    async def write(self, puts: list[Put]) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("store unavailable")
        self.writes.append(puts)

    async def load(self, keys: Collection[str]) -> dict[str, Stored]:
        return {}

    async def count(self) -> int:
        return 0


class HistorySink(RecordingSink):
    keeps_history = True


def put(key: str, version: int) -> Put:
    return Put(key, Position(version), {"version": version})


async def test_a_batch_keeps_the_highest_position_per_key() -> None:
    sink = RecordingSink()
    sink.add(put("a", 2), put("a", 3), put("b", 1), put("a", 1))
    assert sink.pending == 2
    assert await sink.flush() == 2
    assert sink.writes == [[put("a", 3), put("b", 1)]]
    assert sink.pending == 0


async def test_a_sink_that_keeps_history_writes_every_put_in_order() -> None:
    sink = HistorySink()
    sink.add(put("a", 2), put("b", 1), put("a", 1))
    assert await sink.flush() == 3
    assert sink.writes == [[put("a", 2), put("b", 1), put("a", 1)]]


async def test_an_empty_flush_writes_nothing() -> None:
    sink = RecordingSink()
    assert await sink.flush() == 0
    assert sink.writes == []


async def test_a_failed_write_keeps_the_batch_for_the_retry() -> None:
    sink = RecordingSink(failures=1)
    sink.add(put("a", 1))
    with pytest.raises(ConnectionError):
        await sink.flush()
    assert sink.pending == 1
    sink.add(put("a", 2), put("b", 1))
    assert await sink.flush() == 2
    assert sink.writes == [[put("a", 2), put("b", 1)]]


class GatedSink(RecordingSink):
    """A sink whose writes wait at a gate: what the engine adds meanwhile is the next batch's."""

    def __init__(self, *, failures: int = 0) -> None:
        super().__init__(failures=failures)
        self.gate = Gate()

    async def write(self, puts: list[Put]) -> None:
        await self.gate.passed()
        await super().write(puts)


async def test_what_is_added_during_a_write_is_written_by_the_next_flush() -> None:
    sink = GatedSink()
    sink.add(put("a", 1))
    flushing = asyncio.ensure_future(sink.flush())
    await sink.gate.writing.wait()
    sink.add(put("b", 1))  # decided while the first batch is on its way to the store
    sink.gate.opened.set()
    assert await flushing == 1

    assert await sink.flush() == 1
    assert [[p.key for p in batch] for batch in sink.writes] == [["a"], ["b"]]


async def test_a_failed_write_keeps_its_batch_ahead_of_what_came_during_it() -> None:
    class GatedHistory(GatedSink):
        keeps_history = True

    sink = GatedHistory(failures=1)
    sink.add(put("a", 1), put("a", 2))
    flushing = asyncio.ensure_future(sink.flush())
    await sink.gate.writing.wait()
    sink.add(put("a", 3))
    sink.gate.opened.set()
    with pytest.raises(ConnectionError):
        await flushing

    assert await sink.flush() == 3
    assert [p.position.version for p in sink.writes[0]] == [1, 2, 3]
