"""The engine with in-memory ports: sequencing (duplicates, out of order, gaps), the sequenced DLQ, replay, drops,
flush retries and restarts. The same behaviour against real Kafka and stores is in the integration tests."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from schemas.events import OrderItemRemoved
from streams.dlq import DROPPED, PARKED, REPLAY_FINISHED, DeadLetterQueue
from streams.engine import Engine
from streams.positions import FIRST, Position, Verdict, verdict
from streams.projections.detail import DetailProjection
from streams.records import Record
from streams.sink import Put
from tests.streams.fakes import Gate, MemoryDeadLetterLog, MemorySink
from tests.streams.future_schema import encode_with_future_schema, upgraded_decoder
from tests.streams.history import History, as_records, line, raw_record


async def engine_on(sink: MemorySink, log: MemoryDeadLetterLog, **kwargs: object) -> Engine:
    dlq = DeadLetterQueue(log, generation=1)
    await dlq.start()
    return Engine(DetailProjection(), sink, dlq, retry_max_s=0.01, **kwargs)  # type: ignore[arg-type]


def version_of(sink: MemorySink, order_id: str) -> int:
    return int(sink.store[order_id].document["version"])


@pytest.fixture
def sink() -> MemorySink:
    return MemorySink()


@pytest.fixture
def log() -> MemoryDeadLetterLog:
    return MemoryDeadLetterLog()


def test_verdicts_follow_version_then_sequence() -> None:
    assert verdict(None, FIRST) is Verdict.APPLY
    assert verdict(None, Position(2, 0)) is Verdict.GAP
    assert verdict(Position(1, 0), Position(1, 1)) is Verdict.APPLY
    assert verdict(Position(1, 1), Position(2, 0)) is Verdict.APPLY
    assert verdict(Position(1, 1), Position(1, 1)) is Verdict.DUPLICATE
    assert verdict(Position(3, 0), Position(2, 5)) is Verdict.DUPLICATE
    assert verdict(Position(1, 0), Position(3, 0)) is Verdict.GAP
    assert verdict(Position(1, 0), Position(2, 1)) is Verdict.GAP
    assert verdict(Position(1, 0), Position(1, 2)) is Verdict.GAP
    assert Position(2, 0).packed > Position(1, 999).packed


async def test_a_batch_applies_in_order_and_writes_each_order_once(sink: MemorySink, log: MemoryDeadLetterLog) -> None:
    engine = await engine_on(sink, log)
    history = History()
    history.created(line("A", 1, "2.00"))
    history.added(line("B", 2, "3.00"))
    history.confirmed()
    report = await engine.process(as_records(history.events))
    assert (report.applied, report.duplicates, report.parked) == (3, 0, 0)
    assert report.versions == {history.order_id: 3}
    assert len(sink.flushes) == 1
    assert len(sink.flushes[0]) == 1
    assert sink.store[history.order_id].document["total"] == "8.00"
    assert report.positions[0].offset == 3


async def test_several_events_of_one_command_apply_by_sequence(sink: MemorySink, log: MemoryDeadLetterLog) -> None:
    engine = await engine_on(sink, log)
    history = History()
    history.created(line("A"))
    history.added(line("B"))
    history.added(line("C"), sequence=1)  # same command, same version 2
    report = await engine.process(as_records(history.events))
    assert report.applied == 3
    assert sink.store[history.order_id].position == Position(2, 1)


async def test_duplicates_in_a_batch_and_across_batches_have_no_effect(
    sink: MemorySink, log: MemoryDeadLetterLog
) -> None:
    engine = await engine_on(sink, log)
    history = History()
    created, added = history.created(line("A", 1, "1.00")), history.added(line("B", 1, "1.00"))
    await engine.process(as_records([created, created, added, created]))
    assert version_of(sink, history.order_id) == 2
    flushes = len(sink.flushes)
    report = await engine.process(as_records([created, added], start=4))
    assert (report.applied, report.duplicates) == (0, 2)
    assert len(sink.flushes) == flushes  # nothing written at all
    assert sink.store[history.order_id].document["itemCount"] == 2


async def test_redelivery_to_a_restarted_engine_is_recognised_from_the_store(
    sink: MemorySink, log: MemoryDeadLetterLog
) -> None:
    history = History()
    history.created(line("A"))
    history.confirmed()
    await (await engine_on(sink, log)).process(as_records(history.events))
    restarted = await engine_on(sink, log)  # empty cache: must read the store
    report = await restarted.process(as_records(history.events))
    assert (report.applied, report.duplicates) == (0, 2)
    assert sink.loads[-1] == {history.order_id}


async def test_out_of_order_events_park_until_replayed_in_version_order(
    sink: MemorySink, log: MemoryDeadLetterLog
) -> None:
    engine = await engine_on(sink, log)
    history = History()
    created, added, confirmed = history.created(line("A")), history.added(line("B")), history.confirmed()
    report = await engine.process(as_records([created, confirmed, added]))
    assert (report.applied, report.parked) == (1, 2)
    reasons = [(m["version"], m["reason"]) for m in log.of(PARKED)]
    assert reasons == [(3, "version-gap"), (2, "parked-behind")]
    request = engine.dlq.request_replay([history.order_id])
    await engine.replay(engine.dlq.ledger.requests[request])
    assert version_of(sink, history.order_id) == 3
    assert not engine.dlq.ledger.is_parked(history.order_id)
    finished = log.of(REPLAY_FINISHED)[-1]
    assert finished["aggregates"] == [history.order_id]
    assert len(finished["sources"]) == 2


async def test_a_gap_parks_the_order_and_its_later_events_while_other_orders_flow(
    sink: MemorySink, log: MemoryDeadLetterLog
) -> None:
    engine = await engine_on(sink, log)
    broken, healthy = History(), History()
    lost_created = broken.created(line("A"))
    broken.added(line("B"))  # version 2 is what will be lost
    v2 = broken.events[-1]
    v3 = broken.confirmed()
    healthy.created(line("C"))
    healthy.confirmed()
    await engine.process(as_records([lost_created, v3, healthy.events[0], healthy.events[1]]))
    assert version_of(sink, healthy.order_id) == 2
    assert version_of(sink, broken.order_id) == 1
    (parked,) = log.of(PARKED)
    assert parked["reason"] == "version-gap"
    assert "v3.0 cannot follow v1.0" in parked["error"]
    assert parked["attempts"] == 1
    assert parked["eventType"] == "OrderConfirmed"
    v4 = broken.shipped()
    await engine.process(as_records([v4, healthy.shipped()], start=4))
    assert version_of(sink, broken.order_id) == 1  # v4 waits behind v3
    assert version_of(sink, healthy.order_id) == 3
    assert log.of(PARKED)[-1]["reason"] == "parked-behind"
    # The fix: the missing event is published again; it parks behind too, and a replay applies all in order.
    await engine.process(as_records([v2], start=6))
    assert len(engine.dlq.ledger.letters([broken.order_id])) == 3
    await engine.replay(engine.dlq.ledger.requests[engine.dlq.request_replay([broken.order_id])])
    assert version_of(sink, broken.order_id) == 4
    assert sink.store[broken.order_id].document["status"] == "shipped"
    assert engine.dlq.ledger.entries == {}
    # and the order flows normally again
    await engine.process(as_records([replace(broken.cancelled(), version=5)], start=7))
    assert version_of(sink, broken.order_id) == 5


async def test_undecodable_bytes_park_under_the_record_key(sink: MemorySink, log: MemoryDeadLetterLog) -> None:
    engine = await engine_on(sink, log)
    history = History()
    created = history.created(line("A"))
    truncated = as_records([History().created()])[0].value
    assert truncated is not None
    garbage = raw_record(history.order_id, truncated[:25], offset=1)  # known schema, body cut off
    confirmed = history.confirmed()
    records = [*as_records([created]), garbage, *as_records([confirmed], start=2)]
    report = await engine.process(records)
    assert (report.applied, report.parked) == (1, 2)
    assert [m["reason"] for m in log.of(PARKED)] == ["undecodable", "parked-behind"]
    assert log.of(PARKED)[0]["aggregateId"] == history.order_id
    # Garbage cannot be fixed: the operator drops it, then replays what waited behind it.
    engine.dlq.drop([garbage.source])
    await engine.replay(engine.dlq.ledger.requests[engine.dlq.request_replay([history.order_id])])
    assert version_of(sink, history.order_id) == 2
    # A dropped event is skipped if it is ever delivered again (redelivery, rebuild).
    again = await engine.process([garbage])
    assert again.skipped == 1
    assert again.parked == 0


async def test_an_unknown_schema_parks_until_an_upgraded_worker_replays_it(
    sink: MemorySink, log: MemoryDeadLetterLog
) -> None:
    engine = await engine_on(sink, log)
    history = History()
    created, added = history.created(line("A")), history.added(line("B"))
    future = replace(as_records([added], start=1)[0], value=encode_with_future_schema(added))
    await engine.process([*as_records([created]), future])
    (parked,) = log.of(PARKED)
    assert parked["reason"] == "unknown-schema"
    assert parked["eventType"] == "OrderItemAdded"
    # Replaying with the old decoder fails again: same event, attempts + 1.
    await engine.replay(engine.dlq.ledger.requests[engine.dlq.request_replay([history.order_id])])
    assert log.of(PARKED)[-1]["attempts"] == 2
    upgraded = await engine_on(sink, log, decoder=upgraded_decoder)
    await upgraded.replay(upgraded.dlq.ledger.requests[upgraded.dlq.request_replay([history.order_id])])
    assert version_of(sink, history.order_id) == 2
    assert upgraded.dlq.ledger.entries == {}


async def test_an_invariant_violation_parks_with_the_reason(sink: MemorySink, log: MemoryDeadLetterLog) -> None:
    engine = await engine_on(sink, log)
    history = History()
    created = history.created(line("A", 1, "1.00"))
    removed = history.removed(0)
    assert isinstance(removed.data, OrderItemRemoved)
    bogus = replace(removed, data=replace(removed.data, item_id="no-such-line"))
    await engine.process(as_records([created, bogus]))
    (parked,) = log.of(PARKED)
    assert parked["reason"] == "invariant"
    assert "no line no-such-line" in parked["error"]
    assert version_of(sink, history.order_id) == 1


async def test_a_restarted_engine_remembers_parked_orders_from_the_log(
    sink: MemorySink, log: MemoryDeadLetterLog
) -> None:
    history = History()
    created = history.created(line("A"))
    history.added(line("B"))
    confirmed = history.confirmed()
    await (await engine_on(sink, log)).process(as_records([created, confirmed]))
    restarted = await engine_on(sink, log)
    report = await restarted.process(as_records([history.shipped()], start=2))
    assert report.parked == 1
    assert log.of(PARKED)[-1]["reason"] == "parked-behind"


async def test_redelivered_parked_events_are_not_parked_twice(sink: MemorySink, log: MemoryDeadLetterLog) -> None:
    engine = await engine_on(sink, log)
    history = History()
    history.created(line("A"))
    history.added(line("B"))
    gap = history.confirmed()
    records = as_records([history.events[0], gap])
    await engine.process(records)
    await engine.process(records)
    assert len(log.of(PARKED)) == 1


async def test_a_failing_flush_is_retried_and_nothing_is_remembered_before_it_succeeds(
    sink: MemorySink, log: MemoryDeadLetterLog
) -> None:
    engine = await engine_on(sink, log)
    history = History()
    history.created(line("A"))
    sink.fail_next_flushes = 3
    report = await engine.process(as_records(history.events))
    assert report.applied == 1
    assert version_of(sink, history.order_id) == 1


async def test_drops_of_other_generations_are_honoured(sink: MemorySink, log: MemoryDeadLetterLog) -> None:
    history = History()
    garbage: Record = raw_record(history.order_id, b"junk")
    log.messages.append({"kind": DROPPED, "generation": 1, "sources": [garbage.source], "writer": "cli"})
    dlq = DeadLetterQueue(log, generation=2)
    await dlq.start()
    engine = Engine(DetailProjection(), sink, dlq)
    assert (await engine.process([garbage])).skipped == 1


class GatedMemorySink(MemorySink):
    """Writes wait at a gate, so a test can hand the engine its next batch while one is being written."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = Gate()

    async def write(self, puts: list[Put]) -> None:
        await self.gate.passed()
        await super().write(puts)


async def test_the_next_batch_is_decided_on_the_unflushed_states_while_one_is_written(log: MemoryDeadLetterLog) -> None:
    sink = GatedMemorySink()
    engine = await engine_on(sink, log)
    histories = [History() for _ in range(5)]
    first = as_records([history.created() for history in histories])
    second = as_records([history.added() for history in histories], start=len(first))

    writing_first = asyncio.ensure_future(engine.process(first))
    await sink.gate.writing.wait()
    writing_second = asyncio.ensure_future(engine.process(second))
    for _ in range(1000):  # a few turns of the loop: the second batch is decided while the first is written
        if sink.pending == len(histories):
            break
        await asyncio.sleep(0)
    assert sink.pending == len(histories)
    assert not writing_first.done()
    assert not writing_second.done()
    assert len(sink.loads) == 1  # only the first batch read the store; the second built on its states

    sink.gate.opened.set()
    reports = await asyncio.gather(writing_first, writing_second)

    assert [report.applied for report in reports] == [5, 5]
    assert all(report.parked == 0 for report in reports)
    assert {version_of(sink, history.order_id) for history in histories} == {2}


async def test_a_batch_behind_one_that_never_became_durable_is_not_reported_durable(
    log: MemoryDeadLetterLog,
) -> None:
    sink = GatedMemorySink()
    engine = await engine_on(sink, log)
    history = History()
    writing_first = asyncio.ensure_future(engine.process(as_records([history.created()])))
    await sink.gate.writing.wait()
    writing_second = asyncio.ensure_future(engine.process(as_records([history.added()], start=1)))
    await asyncio.sleep(0.01)

    writing_first.cancel()  # the worker stops (or crashes) while the first batch is written

    with pytest.raises(asyncio.CancelledError):
        await writing_second
    assert sink.store == {}
