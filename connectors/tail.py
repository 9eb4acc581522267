"""Reading a topic (by default `events.Order`) from where it ended when a reader began: the relay's output, decoded."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition

from connectors.topics import topic_partitions
from schemas.envelope import EventEnvelope
from schemas.envelope_codec import decode_envelope

EVENTS_TOPIC = "events.Order"


@dataclass(frozen=True)
class RelayedEvent:
    partition: int
    offset: int
    key: str
    headers: dict[str, str]
    envelope: EventEnvelope
    received_at: float


class EventsTail:
    """Remembers the topic's end offsets at creation; `collect` reads everything written after that point."""

    def __init__(self, bootstrap: str, topic: str = EVENTS_TOPIC) -> None:
        self.bootstrap, self.topic = bootstrap, topic
        self.start = asyncio.run(self._end_offsets())

    async def _end_offsets(self) -> dict[TopicPartition, int]:
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            numbers = await topic_partitions(self.bootstrap, self.topic)
            partitions = [TopicPartition(self.topic, number) for number in numbers]
            return dict(await consumer.end_offsets(partitions))
        finally:
            await consumer.stop()

    def collect(self, done: Callable[[list[RelayedEvent]], bool], timeout_s: float = 60.0) -> list[RelayedEvent]:
        return asyncio.run(self._collect(done, timeout_s))

    async def _collect(self, done: Callable[[list[RelayedEvent]], bool], timeout_s: float) -> list[RelayedEvent]:
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        await consumer.start()
        events: list[RelayedEvent] = []
        try:
            consumer.assign(list(self.start))
            for partition, offset in self.start.items():
                consumer.seek(partition, offset)
            deadline = time.monotonic() + timeout_s
            while not done(events) and time.monotonic() < deadline:
                batch = await consumer.getmany(timeout_ms=500)
                for partition, records in batch.items():
                    for record in records:
                        assert record.key is not None
                        assert record.value is not None
                        events.append(
                            RelayedEvent(
                                partition=partition.partition,
                                offset=record.offset,
                                key=record.key.decode(),
                                headers={name: value.decode() for name, value in record.headers},
                                envelope=decode_envelope(record.value),
                                received_at=time.time(),
                            )
                        )
            return events
        finally:
            await consumer.stop()
