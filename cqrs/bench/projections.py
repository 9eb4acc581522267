"""Throughput of the projections on this machine, in one run (`cqrs streams bench`; later `cqrs bench projections`).

One event topic is filled with synthetic orders (each order's events spread over a sliding window of active orders,
as a busy writer would interleave them). Then, each in its own sandbox (fresh store targets and consumer groups on
the same topic), it measures:

- the raw consume rate of the topic (aiokafka, no decoding): the ceiling for any runner;
- each projection's events/s with the aiokafka runner (the default; in this process) and with the Faust runner (a
  worker process), timed from the first flushed batch to the last (start-up excluded);
- all projections at once as deployed (the supervised worker, one process each), with each runner;
- each store's raw bulk-ingest rate for the same documents (the projection's final records, written in batches of
  `batch_size`), to put the projection rates in proportion.

`--workers 1,2,3` measures instead each projection with that many worker processes sharing its partitions, with
the CPU they used (`workers_bench`).
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pydantic import SecretStr
from redis.asyncio import Redis

from schemas.envelope import EventEnvelope
from schemas.envelope_codec import encode_envelope
from schemas.events import (
    LineItem,
    OrderCancelled,
    OrderConfirmed,
    OrderCreated,
    OrderEvent,
    OrderItemAdded,
    OrderShipped,
    OrderStatus,
)
from streams.checkpoints import Checkpoints
from streams.order_view import OrderView
from streams.projections import PROJECTIONS, projection_named
from streams.rebuild import CountingHandler, rebuild
from streams.runners.kafka import KafkaRunner
from streams.sandbox import create_topics, remove, sandbox
from streams.settings import StreamsSettings
from streams.sink import Put, Targets
from streams.sinks import targets_for
from streams.sinks.clickhouse import ClickHouseTargets
from streams.sinks.elasticsearch import ElasticsearchTargets
from streams.sinks.mongo import MongoTargets
from streams.sinks.postgres import PostgresTargets
from streams.status import members
from streams.topics import partitions
from streams.worker import ProjectionWorker

Report = Callable[[str], None]
STALL_S = 120.0
"""A worker that applies nothing for this long is stuck (say, an event parked): the bench fails rather than hang."""


@dataclass(slots=True)
class BenchResult:
    events: int
    orders: int
    raw_consume: float = 0.0
    kafka_runner: dict[str, float] = field(default_factory=dict)
    faust_runner: dict[str, float] = field(default_factory=dict)
    all_at_once: dict[str, float] = field(default_factory=dict)
    """Events/s each when every projection runs at once as deployed (worker processes), per runner."""
    raw_ingest: dict[str, float] = field(default_factory=dict)
    rebuild: dict[str, float] = field(default_factory=dict)


def synthetic_events(count: int, *, seed: int = 1, window: int = 500) -> tuple[list[EventEnvelope], int]:
    """About `count` events of orders living 3-6 events each, at most `window` orders active at a time."""
    rng = random.Random(seed)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    events: list[EventEnvelope] = []
    active: list[tuple[str, list[OrderEvent]]] = []
    versions: dict[str, int] = {}
    orders = 0
    while len(events) < count:
        while len(active) < window:
            active.append((f"bench-{uuid.UUID(int=rng.getrandbits(128))}", _life(rng)))
        index = rng.randrange(len(active))
        order_id, life = active[index]
        version = versions[order_id] = versions.get(order_id, 0) + 1
        orders += version == 1
        data = life.pop(0)
        events.append(
            EventEnvelope(
                event_id=uuid.UUID(int=rng.getrandbits(128)),
                aggregate_type="Order",
                aggregate_id=order_id,
                version=version,
                timestamp=start + timedelta(milliseconds=len(events)),
                correlation_id=order_id,
                causation_id=str(uuid.UUID(int=rng.getrandbits(128))),
                data=data,
            )
        )
        if not life:
            active.pop(index)
            del versions[order_id]
    return events, orders


def _life(rng: random.Random) -> list[OrderEvent]:
    customer, currency = f"customer-{rng.randrange(5000)}", rng.choice(["EUR", "USD", "GBP"])
    items = [_item(rng) for _ in range(rng.randint(1, 3))]
    total = sum((i.quantity * i.unit_price for i in items), start=Decimal("0.00"))
    life: list[OrderEvent] = [
        OrderCreated(
            customer_id=customer, currency=currency, items=tuple(items), total=total, status=OrderStatus.PENDING
        )
    ]
    for _ in range(rng.randint(0, 2)):
        item = _item(rng)
        total += item.quantity * item.unit_price
        life.append(OrderItemAdded(item=item, total=total, currency=currency))
    life.append(OrderConfirmed(customer_id=customer, status=OrderStatus.CONFIRMED, total=total, currency=currency))
    if rng.random() < 0.8:
        life.append(OrderShipped(customer_id=customer, status=OrderStatus.SHIPPED, total=total, currency=currency))
    else:
        life.append(
            OrderCancelled(customer_id=customer, reason="bench", previous_status=OrderStatus.CONFIRMED,
                           status=OrderStatus.CANCELLED, total=total, currency=currency)
        )  # fmt: skip
    return life


def _item(rng: random.Random) -> LineItem:
    sku = f"SKU-{rng.randrange(2000):04d}"
    return LineItem(
        item_id=str(uuid.UUID(int=rng.getrandbits(128))),
        sku=sku,
        name=f"Product {sku} {rng.choice(['blue', 'red', 'large', 'small'])}",
        quantity=rng.randint(1, 5),
        unit_price=Decimal(rng.randint(100, 99999)) / 100,
    )


async def publish(settings: StreamsSettings, events: list[EventEnvelope]) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=20, max_batch_size=1 << 20
    )
    await producer.start()
    try:
        for envelope in events:
            await producer.send(settings.topic, encode_envelope(envelope), key=envelope.aggregate_id.encode())
        await producer.flush()
    finally:
        await producer.stop()


async def raw_consume_rate(settings: StreamsSettings, total: int) -> float:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False, auto_offset_reset="earliest",
        fetch_max_bytes=64 * 1024 * 1024, max_partition_fetch_bytes=8 * 1024 * 1024,
    )  # fmt: skip
    await consumer.start()
    try:
        consumer.assign(await partitions(settings.kafka_bootstrap, settings.topic))
        started, seen = time.monotonic(), 0
        while seen < total:
            batch = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            seen += sum(len(records) for records in batch.values())
        return total / (time.monotonic() - started)
    finally:
        await consumer.stop()


async def kafka_runner_rate(settings: StreamsSettings, name: str) -> float:
    worker = await ProjectionWorker.open(settings, name)
    runner = KafkaRunner(settings.kafka_bootstrap, batch_size=settings.batch_size, batch_timeout_s=0.2, in_flight=2)
    first: list[float] = []
    events = 0

    def on_batch(size: int) -> None:
        nonlocal events
        if first:
            events += size
        else:
            first.append(time.monotonic())  # the first batch pays for connections and caches: not counted

    try:
        await runner.consume(CountingHandler(worker, on_batch), stop=asyncio.Event(), until_caught_up=True)
    finally:
        await worker.close()
    return events / (time.monotonic() - first[0]) if first and events else 0.0


async def _applied(settings: StreamsSettings, name: str, redis: Redis) -> int:
    stats = await Checkpoints(redis, settings.redis_prefix, name).stats(1)
    return int(stats.get("applied", 0) + stats.get("duplicates", 0))


async def worker_process_rate(settings: StreamsSettings, names: list[str], total: int, *, runner: str) -> float:
    """Run the real worker with `runner` (several projections = supervised children) until all applied `total`."""
    return (await worker_process_run(settings, names, total, runner=runner)).rate


@dataclass(frozen=True, slots=True)
class ProcessRun:
    rate: float
    """Events/s per projection, from the first applied batch to the last."""
    cpu_s: float
    """CPU seconds of every worker process over the same span (start-up excluded)."""
    events: int


async def worker_process_run(
    settings: StreamsSettings, names: list[str], total: int, *, runner: str = "kafka", workers: int = 1
) -> ProcessRun:
    """Run the real worker with `runner` (several projections or `workers` > 1 = supervised children) until every
    projection applied `total`; its rate and the CPU its processes used meanwhile."""
    env = _env(settings) | {"CQRS_STREAMS_METRICS_PORT": "0"}  # the stack's own workers may hold the ports
    command = [sys.executable, "-m", "streams", "worker", "--log-level", "warning", "--runner", runner]
    command += ["--workers", str(workers)]
    for name in names:
        command += ["--projection", name]
    process = await asyncio.create_subprocess_exec(*command, env=env)
    redis = Redis.from_url(settings.redis_url)
    try:
        first: tuple[float, int, float] | None = None
        progressed = (time.monotonic(), -1)
        while True:
            counts = [await _applied(settings, name, redis) for name in names]
            now = time.monotonic()
            if first is None and any(counts) and await _all_joined(settings, names, workers):
                first = (now, sum(counts), _cpu_s(process.pid))
            if all(count >= total for count in counts):
                break
            if process.returncode is not None:
                raise RuntimeError(f"the worker exited with {process.returncode}")
            if sum(counts) != progressed[1]:
                progressed = (now, sum(counts))
            elif now - progressed[0] > STALL_S:
                raise RuntimeError(f"no progress for {STALL_S:.0f} s at {counts} of {total} events per projection")
            await asyncio.sleep(0.1)
        assert first is not None
        events = sum(counts) - first[1]
        return ProcessRun(events / len(names) / max(now - first[0], 1e-3), _cpu_s(process.pid) - first[2], events)
    finally:
        if process.returncode is None:
            process.terminate()
            await asyncio.wait_for(process.wait(), 60)
        await redis.aclose()


async def _all_joined(settings: StreamsSettings, names: list[str], workers: int) -> bool:
    """Every worker of every projection owns partitions: the rebalances of the start are over (timing starts)."""
    if workers == 1:
        return True
    for name in names:
        owners = [owned for _, _, owned in await members(settings, settings.group_id(name, 1)) if owned]
        if len(owners) < workers:
            return False
    return True


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of a process and its children so far."""
    import psutil

    total = 0.0
    parent = psutil.Process(pid)
    for process in [parent, *parent.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def _env(settings: StreamsSettings) -> dict[str, str]:
    import os

    env = dict(os.environ)
    for name, value in settings.model_dump(exclude={"ports"}).items():
        if isinstance(value, SecretStr):  # str() would give the mask, not the password
            value = value.get_secret_value()
        if isinstance(value, dict):  # pydantic-settings reads complex values as JSON
            value = json.dumps(value)
        if value is not None:  # unset optional hosts stay unset ("None" would be a host name)
            env[f"CQRS_STREAMS_{name.upper()}"] = str(value)
    return env


async def raw_ingest_rate(settings: StreamsSettings, name: str, events: list[EventEnvelope]) -> float:
    """The store's own bulk write of the projection's records (final one per order, or every fact), with the
    plain client: no Kafka, no decoding, no sequencing, no position checks."""
    projection = projection_named(name)
    states: dict[str, OrderView] = {}
    puts: list[Put] = []
    for envelope in events:
        before = states.get(envelope.aggregate_id)
        states[envelope.aggregate_id], new = projection.handle(before, envelope)
        puts += new
    if projection.store != "clickhouse":  # stores that keep one record per order: its final one
        puts = list({put.key: put for put in puts}.values())
    batches = [puts[start : start + settings.batch_size] for start in range(0, len(puts), settings.batch_size)]
    targets = targets_for(projection.store, settings)
    try:
        generation = await targets.ensure_active()
        write = await _raw_writer(targets, generation)
        started = time.monotonic()
        for batch in batches:
            await write(batch)
        return len(puts) / (time.monotonic() - started)
    finally:
        await targets.close()


async def _raw_writer(targets: Targets, generation: int) -> Callable[[list[Put]], Awaitable[object]]:
    if isinstance(targets, MongoTargets):
        collection = await targets.active_collection()
        assert collection is not None
        return lambda batch: collection.insert_many([{**put.document, "_id": put.key} for put in batch])
    if isinstance(targets, ElasticsearchTargets):
        index = targets.index_name(generation)

        async def bulk(batch: list[Put]) -> object:
            operations: list[dict[str, object]] = []
            for put in batch:
                operations += [{"index": {"_index": index, "_id": put.key}}, dict(put.document)]
            return await targets.client.bulk(operations=operations)

        return bulk
    if isinstance(targets, PostgresTargets):
        return targets.sink(generation).write  # the batched upsert itself, as the list projection sends it
    assert isinstance(targets, ClickHouseTargets)
    return lambda batch: targets.insert_facts(generation, [dict(put.document) for put in batch])


class _Sandboxes:
    """A private event topic, preloaded once, and the sandboxes (store targets, consumer groups, keys) each
    measurement gets of its own; all of them are removed when the bench ends."""

    def __init__(self, base: StreamsSettings, tag: str) -> None:
        self._base = base
        self._tag = tag
        self.topic = sandbox(base, tag=tag)
        self._boxes: list[StreamsSettings] = []

    async def reader(self) -> StreamsSettings:
        """Fresh targets and consumer group reading the shared topic from offset 0."""
        own = sandbox(self._base, tag=self._tag, topic=self.topic.topic)
        self._boxes.append(own)
        await create_topics(own, events=False)
        return own

    def targets_only(self) -> StreamsSettings:
        """Fresh store targets that no consumer fills (raw ingest)."""
        own = sandbox(self._base, tag=self._tag)
        self._boxes.append(own)
        return own

    async def remove(self) -> None:
        for box in self._boxes:
            await remove(box, events=False)
        await remove(self.topic)


@asynccontextmanager
async def _preloaded(
    base: StreamsSettings, tag: str, events: list[EventEnvelope], orders: int, report: Report
) -> AsyncIterator[_Sandboxes]:
    boxes = _Sandboxes(base, tag)
    await create_topics(boxes.topic, partitions=6)
    try:
        report(f"publishing {len(events):,} events of {orders:,} orders to {boxes.topic.topic}")
        await publish(boxes.topic, events)
        del events  # on the topic now: a caller that no longer needs them can free a million envelopes
        yield boxes
    finally:
        await boxes.remove()


async def bench(base: StreamsSettings, count: int, *, report: Report = print, faust: bool = True) -> BenchResult:
    events, orders = synthetic_events(count)
    async with _preloaded(base, "bench", events, orders, report) as boxes:
        result = BenchResult(len(events), orders)
        result.raw_consume = await raw_consume_rate(boxes.topic, len(events))
        report(f"raw consume: {result.raw_consume:,.0f} events/s")
        for name in PROJECTIONS:
            own = await boxes.reader()
            result.kafka_runner[name] = await kafka_runner_rate(own, name)
            report(f"{name} (aiokafka runner): {result.kafka_runner[name]:,.0f} events/s")
            result.raw_ingest[name] = await raw_ingest_rate(boxes.targets_only(), name, events)
            report(f"{name} store raw bulk ingest: {result.raw_ingest[name]:,.0f} records/s")
            rebuilt = await rebuild(own, name)
            result.rebuild[name] = rebuilt.rate
            report(f"{name} rebuild (generation 2, from offset 0): {rebuilt.rate:,.0f} events/s")
            if faust:
                reader = await boxes.reader()
                result.faust_runner[name] = await worker_process_rate(reader, [name], len(events), runner="faust")
                report(f"{name} (Faust worker): {result.faust_runner[name]:,.0f} events/s")
        for runner in ("kafka", "faust") if faust else ("kafka",):
            every = list(PROJECTIONS)
            rate = await worker_process_rate(await boxes.reader(), every, len(events), runner=runner)
            result.all_at_once[runner] = rate
            report(f"all {len(every)} at once ({runner} worker processes): {rate:,.0f} events/s each")
        return result


async def rebuild_bench(base: StreamsSettings, count: int, *, report: Report = print) -> list[dict[str, object]]:
    """A full rebuild of each projection over `count` events (the issue asks for 1M): events/s and seconds each.

    Each projection starts from an empty live generation on a private topic, so the rebuild reads every event and
    writes every record, then switches readers, as `cqrs projections rebuild` does on a real topic."""
    events, orders = synthetic_events(count)
    rows: list[dict[str, object]] = []
    async with _preloaded(base, "rebuild", events, orders, report) as boxes:
        del events  # a million envelopes: not needed once on the topic
        for name in PROJECTIONS:
            rebuilt = await rebuild(await boxes.reader(), name)
            rows.append({"scenario": name, "events": rebuilt.events, "seconds": round(rebuilt.elapsed_s, 1),
                         "events/s": round(rebuilt.rate)})  # fmt: skip
            report(f"{name}: rebuilt {rebuilt.events:,} events in {rebuilt.elapsed_s:,.0f} s ({rebuilt.rate:,.0f}/s)")
    return rows


async def workers_bench(
    base: StreamsSettings, count: int, workers: list[int], *, report: Report = print
) -> list[dict[str, object]]:
    """Each projection alone with 1, 2, 3… worker processes sharing its partitions (the event topic has 6): events/s,
    CPU seconds and CPU per event at each count, and each extra worker's CPU overhead against one worker (same run).

    On two cores more workers cannot add cores (the stores use the other one); what this shows is that throughput
    does not fall and that an extra worker costs little, so that on more cores it scales."""
    events, orders = synthetic_events(count)
    rows: list[dict[str, object]] = []
    async with _preloaded(base, "workers", events, orders, report) as boxes:
        total = len(events)
        del events
        for name in PROJECTIONS:
            single: ProcessRun | None = None
            for n in workers:
                run = await worker_process_run(await boxes.reader(), [name], total, workers=n)
                single = single or run
                per_event = run.cpu_s / max(run.events, 1)
                base_per_event = single.cpu_s / max(single.events, 1)
                overhead = (per_event / base_per_event - 1) / (n - 1) if n > 1 and base_per_event else None
                rows.append({
                    "scenario": f"{name}, {n} worker{'s' if n > 1 else ''}",
                    "events/s": round(run.rate), "CPU s": round(run.cpu_s, 1),
                    "CPU ms per 1k events": round(per_event * 1e6, 1),
                    "÷ 1 worker (events/s)": round(run.rate / single.rate, 3) if single.rate else None,
                    "CPU overhead per extra worker": f"{overhead:+.1%}" if overhead is not None else None,
                })  # fmt: skip
                report(f"{name} with {n} worker(s): {run.rate:,.0f} events/s, {run.cpu_s:.1f} CPU s")
    return rows


def rows(result: BenchResult) -> list[dict[str, object]]:
    """One scenario per projection plus "all three", with the ratios the targets are stated in."""
    table: list[dict[str, object]] = []
    for name in PROJECTIONS:
        projected = result.kafka_runner.get(name, 0.0)  # the runner deployed by default
        ingest = result.raw_ingest.get(name, 0.0)
        table.append(
            {
                "scenario": name,
                "events/s (faust worker)": result.faust_runner.get(name),
                "events/s (aiokafka runner)": result.kafka_runner.get(name),
                "store raw bulk ingest/s": ingest,
                "rebuild events/s": result.rebuild.get(name),
                "÷ raw consume": round(projected / result.raw_consume, 3) if result.raw_consume else None,
                "÷ raw ingest": round(projected / ingest, 3) if ingest else None,
            }
        )
    at_once = result.all_at_once.get("kafka", 0.0)
    table.append(
        {
            "scenario": f"all {len(PROJECTIONS)} at once, each",
            "events/s (faust worker)": result.all_at_once.get("faust"),
            "events/s (aiokafka runner)": at_once or None,
            "raw consume/s": result.raw_consume,
            "÷ raw consume": round(at_once / result.raw_consume, 3) if result.raw_consume else None,
        }
    )
    return table
