"""Helpers for tests that run projections against the real Kafka and stores."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import zip_longest

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from schemas.envelope import EventEnvelope
from streams.engine import Decoder
from streams.peek import Shown
from streams.records import Record, decode
from streams.runners.kafka import KafkaRunner
from streams.sandbox import create_topics
from streams.settings import StreamsSettings
from streams.topics import partitions
from streams.worker import ProjectionWorker
from tests.streams.history import History, as_records, sample_histories
from tests.streams.read_models import expected


def interleaved(histories: list[History]) -> list[EventEnvelope]:
    """Events of many orders mixed as they would arrive: each order's own events stay in order."""
    return [e for batch in zip_longest(*(h.events for h in histories)) for e in batch if e is not None]


@dataclass(frozen=True)
class Preloaded:
    """Sample orders on the test's event topic, and what each read model must show for them."""

    histories: list[History]
    events: list[EventEnvelope]
    ids: list[str]
    want: dict[str, Shown]


async def preload(settings: StreamsSettings, orders: int, *, seed: int, partitions: int = 3) -> Preloaded:
    """Create the test's topics and publish `orders` sample histories, interleaved."""
    await create_topics(settings, partitions=partitions)
    histories = sample_histories(orders, seed=seed)
    events = interleaved(histories)
    await produce(settings, events)
    ids = [h.order_id for h in histories]
    return Preloaded(histories, events, ids, {h.order_id: expected(h) for h in histories})


async def produce(settings: StreamsSettings, items: Sequence[EventEnvelope | Record]) -> None:
    """Publish events the way the outbox router does: key = orderId (so one order stays in one partition)."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        for item in items:
            record = as_records([item])[0] if isinstance(item, EventEnvelope) else item
            await producer.send(settings.topic, record.value, key=record.key, headers=list(record.headers) or None)
        await producer.flush()
    finally:
        await producer.stop()


async def run_until_caught_up(
    settings: StreamsSettings, name: str, *, decoder: Decoder = decode, generation: int | None = None
) -> ProjectionWorker:
    """Run a worker (aiokafka runner) until it applied everything in the topic; returns it closed."""
    worker = await ProjectionWorker.open(settings, name, decoder=decoder, generation=generation)
    runner = KafkaRunner(settings.kafka_bootstrap, batch_size=settings.batch_size, batch_timeout_s=0.05, tick_s=0.2)
    try:
        await asyncio.wait_for(runner.consume(worker, stop=asyncio.Event(), until_caught_up=True), 120)
    finally:
        await worker.close()
    return worker


class Background:
    """A live worker running in a task until `stop()` (to test what happens while it runs)."""

    def __init__(self, settings: StreamsSettings, name: str, *, decoder: Decoder = decode) -> None:
        self.settings, self.name, self.decoder = settings, name, decoder
        self.stop_event = asyncio.Event()
        self.worker: ProjectionWorker | None = None
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> ProjectionWorker:
        self.worker = await ProjectionWorker.open(self.settings, self.name, decoder=self.decoder)
        runner = KafkaRunner(self.settings.kafka_bootstrap, batch_size=500, batch_timeout_s=0.05, tick_s=0.2)
        self.task = asyncio.create_task(runner.consume(self.worker, stop=self.stop_event))
        return self.worker

    async def stop(self) -> None:
        self.stop_event.set()
        if self.task is not None:
            await asyncio.wait_for(self.task, 30)
        if self.worker is not None:
            await self.worker.close()


async def reset_group(settings: StreamsSettings, group: str) -> None:
    """Move an (idle) group back to offset 0 on every partition: everything will be delivered again."""
    tps = await partitions(settings.kafka_bootstrap, settings.topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(tps)
        await consumer.commit(dict.fromkeys(tps, 0))
    finally:
        await consumer.stop()


def cli_env(settings: StreamsSettings) -> dict[str, str]:
    """Environment that makes `python -m streams …` use the test's names."""
    names = ("topic", "group_prefix", "dlq_prefix", "list_schema", "mongo_database", "search_alias",
             "clickhouse_database", "redis_prefix", "batch_timeout_s", "target_check_s", "metrics_port",
             "batch_size")  # fmt: skip
    env = dict(os.environ, COLUMNS="250")  # rich tables would otherwise fold to 80 columns
    env.update({f"CQRS_STREAMS_{name.upper()}": str(getattr(settings, name)) for name in names})
    return env


async def until(condition: object, within: float = 60, every: float = 0.2) -> None:
    """Wait for an async predicate (a zero-argument coroutine function) to become true."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        if await condition():  # type: ignore[operator]
            return
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not true within {within} s: {condition}")
        await asyncio.sleep(every)
