"""`cqrs bench relay`: how fast and how promptly Debezium carries committed outbox rows to Kafka.

(a) Latency at fixed command rates: vegeta (Go, open loop) posts create-order commands to the writer at 100 and 500
    commands/s while a consumer tails `events.Order`; latency = consumer receipt - the envelope's timestamp (taken by
    the writer just before its commit, so the figure includes the commit itself: conservative).
(b) Maximum relay rate: outbox rows inserted straight into Postgres in large transactions (aggregate type
    `BenchRelay`, so they route to their own topic and no projection sees them); events/s from first commit to last
    receipt.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from aiokafka import AIOKafkaConsumer, TopicPartition
from rich.console import Console

from connectors.topics import TopicSpec, ensure_topics, topic_partitions
from cqrs.bench.loadgen import AttackResult, Request, open_loop_argv, summarize_open_loop, write_json_targets
from cqrs.bench.report import latency_summary, report
from schemas.envelope import EventEnvelope
from schemas.envelope_codec import decode_envelope, encode_envelope
from schemas.events import LineItem, OrderCreated, OrderStatus

BENCH_AGGREGATE = "BenchRelay"
console = Console()


@dataclass
class Tail:
    """Receipt times of records on a topic from its end at start-up on."""

    bootstrap: str
    topic: str
    received: dict[str, tuple[float, EventEnvelope]] = field(default_factory=dict)
    stopping: bool = False
    complete: Callable[[Tail], bool] = lambda _: False
    done: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait_complete(self, complete: Callable[[Tail], bool], timeout_s: float) -> None:
        """Wait (woken by the consumer loop, not by polling) until `complete(self)` holds, or the timeout."""
        self.complete = complete
        if not complete(self):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.done.wait(), timeout_s)

    async def run(self, ready: asyncio.Event) -> None:
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False, fetch_max_wait_ms=5)
        await consumer.start()
        try:
            numbers = await topic_partitions(self.bootstrap, self.topic)
            partitions = [TopicPartition(self.topic, number) for number in numbers]
            if not partitions:
                raise RuntimeError(f"topic {self.topic} does not exist")
            consumer.assign(partitions)
            await consumer.seek_to_end(*partitions)
            for partition in partitions:
                await consumer.position(partition)
            ready.set()
            while not self.stopping:
                batch = await consumer.getmany(timeout_ms=50)
                now = time.time()
                for records in batch.values():
                    for record in records:
                        assert record.value is not None
                        envelope = decode_envelope(record.value)
                        self.received[str(envelope.event_id)] = (now, envelope)
                if self.complete(self):
                    self.done.set()
        finally:
            await consumer.stop()


def _post_at_rate(writer_url: str, token: str, rate: int, seconds: float, customer: str) -> AttackResult:
    """vegeta, open loop: `rate` create-orders a second for `seconds`, each due on time whatever happened to earlier
    ones (a slow writer shows as latency, not as a lower offered rate); every order is `customer`'s."""
    body = {
        "customerId": customer,
        "currency": "EUR",
        "items": [{"sku": "BENCH-1", "name": "Bench item", "quantity": 1, "unitPrice": "9.99"}],
    }
    request = Request("POST", "/commands/create-order", {"Content-Type": "application/json"}, json.dumps(body).encode())
    with tempfile.TemporaryDirectory() as work:
        targets, results = Path(work) / "targets.json", Path(work) / "results.bin"
        write_json_targets(targets, writer_url, itertools.repeat(request, int(rate * seconds)))
        argv = open_loop_argv(targets, results, rate=rate, seconds=seconds, token=token)
        subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, check=True)
        return summarize_open_loop(results)


async def _latency_at(rate: int, seconds: float, writer_url: str, token: str, bootstrap: str) -> dict[str, Any]:
    tail = Tail(bootstrap, "events.Order")
    ready = asyncio.Event()
    consumer = asyncio.create_task(tail.run(ready))
    await ready.wait()
    customer = f"bench-relay-{uuid.uuid4().hex[:8]}"  # this run's orders, told apart in the tail by their customer

    def ours(t: Tail) -> list[tuple[float, EventEnvelope]]:
        return [(at, e) for at, e in t.received.values() if getattr(e.data, "customer_id", None) == customer]

    load = await asyncio.to_thread(_post_at_rate, writer_url, token, rate, seconds, customer)
    accepted = load.status_codes.get("202", 0)
    await tail.wait_complete(lambda t: len(ours(t)) >= accepted, 60)
    tail.stopping = True
    await consumer
    relay_ms = [(received - envelope.timestamp.timestamp()) * 1000 for received, envelope in ours(tail)]
    summary = latency_summary(relay_ms)
    return {
        "scenario": f"{rate} commands/s for {seconds:.0f} s",
        "accepted": accepted,
        "refused": load.requests - accepted,
        "relayed": summary["count"],
        "commit→kafka p50 ms": summary["p50_ms"],
        "commit→kafka p99 ms": summary["p99_ms"],
        "commit→kafka max ms": summary["max_ms"],
        "http p99 ms": load.p99_ms,
    }


def _bench_envelope(index: int) -> tuple[EventEnvelope, bytes]:
    item = LineItem(item_id=f"i-{index}", sku="BENCH-1", name="Bench item", quantity=1, unit_price=Decimal("9.99"))
    envelope = EventEnvelope(
        event_id=uuid.uuid4(),
        aggregate_type=BENCH_AGGREGATE,
        aggregate_id=str(uuid.uuid4()),
        version=1,
        timestamp=datetime.now(UTC),
        correlation_id="bench-relay",
        causation_id="bench-relay",
        data=OrderCreated(
            customer_id="bench",
            currency="EUR",
            items=(item,),
            total=Decimal("9.99"),
            status=OrderStatus.PENDING,
        ),
    )
    return envelope, encode_envelope(envelope)


async def _max_rate(events: int, batch: int, dsn: str, bootstrap: str) -> dict[str, Any]:
    topic = f"events.{BENCH_AGGREGATE}"
    await ensure_topics(bootstrap, [TopicSpec(topic, 6, {"retention.ms": "3600000"})])
    tail = Tail(bootstrap, topic)
    ready = asyncio.Event()
    consumer = asyncio.create_task(tail.run(ready))
    await ready.wait()
    rows = [_bench_envelope(index) for index in range(events)]
    started = time.time()
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        for offset in range(0, events, batch):
            chunk = rows[offset : offset + batch]
            async with conn.transaction(), conn.cursor() as cursor:
                await cursor.executemany(
                    "INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, version, sequence,"
                    " correlationid, causationid, occurredat) VALUES (%s, %s, %s, %s, %s, 1, 0, %s, %s, now())",
                    [
                        (e.event_id, e.aggregate_type, e.aggregate_id, e.event_type, payload, "bench", "bench")
                        for e, payload in chunk
                    ],
                )
                await cursor.execute("DELETE FROM outbox WHERE aggregatetype = %s", (BENCH_AGGREGATE,))
    committed = time.time()
    await tail.wait_complete(lambda t: len(t.received) >= events, 300)
    tail.stopping = True
    await consumer
    last = max((received for received, _ in tail.received.values()), default=float("nan"))
    return {
        "scenario": f"max relay rate: {events:,} outbox rows, {batch} per tx",
        "relayed": len(tail.received),
        "insert s": round(committed - started, 2),
        "commit→last receipt s": round(last - started, 2),
        "events/s": round(len(tail.received) / (last - started), 1),
    }


def run(rates: list[int], seconds: float, max_events: int) -> None:
    from connectors.cli import register
    from connectors.settings import ConnectorSettings
    from cqrs.apps import pipeline_stack
    from infra.settings import stack_settings
    from servicekit.principals import Role
    from servicekit.tokens import mint_token
    from writer.settings import WriterSettings

    settings = stack_settings()
    with console.status("starting the writer, Connect and the connector…"):
        pipeline_stack(settings, ["writer", "connect"]).up()
        register("orders-outbox", wait=90)
    connector = ConnectorSettings()
    token = mint_token(WriterSettings(), subject="bench", roles=[Role.STAFF])
    writer_url = f"http://127.0.0.1:{settings.ports.writer}"
    rows = []
    for rate in rates:
        with console.status(f"{rate} commands/s…"):
            rows.append(asyncio.run(_latency_at(rate, seconds, writer_url, token, connector.kafka_bootstrap)))
    with console.status(f"relaying {max_events:,} outbox rows…"):
        rows.append(asyncio.run(_max_rate(max_events, 500, WriterSettings().database_url, connector.kafka_bootstrap)))
    config_file = connector.config_dir / "orders-outbox.yaml"
    report(
        "relay",
        rows,
        {"rates": rates, "seconds": seconds, "max_events": max_events, "connector_config": str(config_file.name)},
        console,
    )
