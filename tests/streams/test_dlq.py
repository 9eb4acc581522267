"""Poison events of every kind against real Kafka and stores: each parks in `dlq.<projection>` with its reason,
later events of that order wait, other orders flow on, and after the fix a replay (`cqrs projections dlq replay`,
executed by the running worker) converges. Run for each projection."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import replace

import pytest

from schemas.envelope import EventEnvelope
from schemas.events import OrderItemRemoved
from streams.dlq import DeadLetterQueue, KafkaDeadLetterLog
from streams.peek import shown
from streams.projections import PROJECTIONS
from streams.records import Record
from streams.settings import StreamsSettings
from tests.streams.conftest import create_topics
from tests.streams.future_schema import encode_with_future_schema, upgraded_decoder
from tests.streams.history import History, as_records, line, raw_record
from tests.streams.pipeline import Background, cli_env, produce, until
from tests.streams.read_models import expected

pytestmark = pytest.mark.stack


async def cli(settings: StreamsSettings, *args: str) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "streams", "projections", *args,
        env=cli_env(settings), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    output, _ = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, output.decode()
    return output.decode()


async def ledger(settings: StreamsSettings, name: str) -> DeadLetterQueue:
    dlq = DeadLetterQueue(KafkaDeadLetterLog(settings.kafka_bootstrap, settings.dlq_topic(name)), 1)
    await dlq.start()
    await dlq.stop()
    return dlq


@pytest.mark.parametrize("name", list(PROJECTIONS))
async def test_poison_events_park_in_sequence_and_a_replay_after_the_fix_converges(
    settings: StreamsSettings, name: str
) -> None:
    await create_topics(settings)
    gap, garbage, future, invariant, healthy = (History() for _ in range(5))
    # gap: version 2 never arrives (yet)
    gap.created(line("G"))
    missing = gap.added(line("H"))
    gap.events.remove(missing)
    gap.confirmed()
    gap.shipped()
    # garbage: bytes that are no event at all, then a real version 2
    garbage.created(line("J"))
    truncated = as_records([History().created()])[0].value
    assert truncated is not None
    junk = raw_record(garbage.order_id, truncated[:30], topic=settings.topic)
    garbage.confirmed()
    # future: version 2 written with a schema this worker does not know
    future.created(line("K"))
    future.added(line("L"))
    future.confirmed()
    # invariant: a buggy version 2 removes a line the order never had; the writer later publishes the right one
    invariant.created(line("M"), line("N"))
    correct_v2 = invariant.removed(1)
    assert isinstance(correct_v2.data, OrderItemRemoved)
    bogus_v2 = replace(correct_v2, data=replace(correct_v2.data, item_id="no-such-line"))
    invariant.events.remove(correct_v2)
    invariant.confirmed()
    healthy.created(line("P"))
    healthy.added(line("Q"))
    healthy.confirmed()

    future_v2 = as_records([future.events[1]])[0]
    stream: list[EventEnvelope | Record] = [
        gap.events[0], gap.events[1], garbage.events[0], junk, garbage.events[1],
        future.events[0], replace(future_v2, value=encode_with_future_schema(future.events[1])), future.events[2],
        invariant.events[0], bogus_v2, invariant.events[1], healthy.events[0], healthy.events[1],
        gap.events[2], healthy.events[2],
    ]  # fmt: skip
    background = Background(settings, name)
    await background.start()
    try:
        await produce(settings, stream)
        ids = [h.order_id for h in (gap, garbage, future, invariant, healthy)]

        async def healthy_done() -> bool:
            return (await shown(settings, name, [healthy.order_id])).get(healthy.order_id) == expected(healthy)

        await until(healthy_done)
        dlq = await ledger(settings, name)
        reasons = {order: [(letter.reason, letter.version) for letter in dlq.ledger.letters([order])] for order in ids}
        assert reasons == {
            gap.order_id: [("version-gap", 3), ("parked-behind", 4)],
            garbage.order_id: [("undecodable", None), ("parked-behind", 2)],
            future.order_id: [("unknown-schema", 2), ("parked-behind", 3)],
            invariant.order_id: [("invariant", 2), ("parked-behind", 3)],
            healthy.order_id: [],
        }
        assert all(letter.attempts == 1 and letter.error for letter in dlq.ledger.entries.values())
        now = await shown(settings, name, ids)
        assert {order: now[order].version for order in ids} == {
            gap.order_id: 1,
            garbage.order_id: 1,
            future.order_id: 1,
            invariant.order_id: 1,
            healthy.order_id: 3,
        }
        listing = await cli(settings, "dlq", "list", name)
        assert "version-gap" in listing
        assert "unknown-schema" in listing

        # The fixes: publish the missing and the corrected events, drop what cannot be fixed, upgrade the worker.
        await produce(settings, [missing, correct_v2])
        await cli(settings, "dlq", "drop", name, "--yes", *_event_args(dlq, garbage.order_id, reason="undecodable"))
        await cli(settings, "dlq", "drop", name, "--yes", *_event_args(dlq, invariant.order_id, reason="invariant"))
        await background.stop()
        background = Background(settings, name, decoder=upgraded_decoder)
        await background.start()
        output = await cli(settings, "dlq", "replay", name, "--wait", "60")
        assert "0 still parked" in output, output
        gap.events.insert(1, missing)
        assert await shown(settings, name, ids) == {
            h.order_id: expected(h) for h in (gap, garbage, future, invariant, healthy)
        }
        assert (await ledger(settings, name)).ledger.entries == {}
        # The orders flow normally again.
        await produce(settings, [gap.cancelled()])

        async def gap_cancelled() -> bool:
            return (await shown(settings, name, [gap.order_id]))[gap.order_id].status == "cancelled"

        await until(gap_cancelled)
    finally:
        await background.stop()


def _event_args(dlq: DeadLetterQueue, order: str, *, reason: str) -> list[str]:
    """`--event <source>` for the parked events of `order` with `reason` (sources are Kafka positions)."""
    return [
        arg for letter in dlq.ledger.letters([order]) if letter.reason == reason for arg in ("--event", letter.source)
    ]
