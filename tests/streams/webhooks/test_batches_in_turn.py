"""The webhook agent's runner hands over one batch at a time: it delivers while it processes, so two batches at once
would deliver an order's events out of order. The projection engine's runner overlaps two (it orders them itself).

A pure unit test of the runner's scheduling: the Kafka consumer is replaced by one that hands out fixed batches, and
the handler records how many `process` calls were running at once."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from aiokafka import TopicPartition

from streams.records import Record
from streams.runners import kafka
from streams.runners.kafka import KafkaRunner
from streams.webhooks.run import runner as webhook_runner
from streams.webhooks.settings import WebhookSettings

TOPIC = "events.Order"
BATCHES = 4


class _ScriptedConsumer:
    """Hands out `BATCHES` one-record batches on partition 0, then nothing."""

    def __init__(self, **_: Any) -> None:
        self._next_offset = 0
        self._partition = TopicPartition(TOPIC, 0)

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def subscribe(self, topics: list[str], listener: Any) -> None: ...

    def assignment(self) -> set[Any]:
        return {self._partition}

    async def getmany(self, timeout_ms: int, max_records: int) -> dict[Any, list[Any]]:
        if self._next_offset >= BATCHES:
            await asyncio.sleep(timeout_ms / 1000)
            return {}
        offset, self._next_offset = self._next_offset, self._next_offset + 1
        message = _Message(offset)
        return {self._partition: [message]}

    async def end_offsets(self, partitions: list[Any]) -> dict[Any, int]:
        return {self._partition: BATCHES}

    async def position(self, partition: Any) -> int:
        return self._next_offset

    async def commit(self, offsets: Mapping[Any, int]) -> None: ...


class _Message:
    def __init__(self, offset: int) -> None:
        self.offset = offset
        self.key = b"order-1"
        self.value = b"{}"
        self.timestamp = 0
        self.headers: tuple[tuple[str, bytes], ...] = ()


class _OverlapRecorder:
    """A handler whose `process` takes a while and notes the most batches it was given at once."""

    def __init__(self) -> None:
        self.retired = asyncio.Event()
        self.running = 0
        self.most_at_once = 0
        self.processed: list[int] = []

    @property
    def group_id(self) -> str:
        return "test"

    @property
    def topic(self) -> str:
        return TOPIC

    async def process(self, records: Sequence[Record]) -> None:
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        await asyncio.sleep(0.05)
        self.processed += [record.offset for record in records]
        self.running -= 1

    async def tick(self) -> None: ...

    def assigned(self, partitions: set[int]) -> None: ...

    def revoked(self, partitions: set[int]) -> None: ...

    def observe_highwaters(self, highwaters: Mapping[int, int], positions: Mapping[int, int]) -> None: ...

    async def close(self) -> None: ...


def _most_batches_at_once(runner: KafkaRunner) -> tuple[int, list[int]]:
    handler = _OverlapRecorder()

    async def consume() -> None:
        await runner.consume(handler, stop=asyncio.Event(), until_caught_up=True)

    asyncio.run(asyncio.wait_for(consume(), timeout=10))
    return handler.most_at_once, handler.processed


@pytest.fixture(autouse=True)
def scripted_consumer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kafka, "AIOKafkaConsumer", _ScriptedConsumer)


def test_the_webhook_agents_runner_processes_one_batch_at_a_time() -> None:
    # One record per batch, so that the four records are four batches the runner could overlap.
    most, processed = _most_batches_at_once(webhook_runner(WebhookSettings(batch_size=1)))
    assert most == 1
    assert processed == list(range(BATCHES))


def test_a_runner_allowed_two_batches_in_flight_overlaps_them() -> None:
    """The recorder can see an overlap: the engine's setting shows one (else the test above could not fail)."""
    most, processed = _most_batches_at_once(KafkaRunner("unused:0", batch_size=1, batch_timeout_s=0, in_flight=2))
    assert most == 2
    assert sorted(processed) == list(range(BATCHES))
