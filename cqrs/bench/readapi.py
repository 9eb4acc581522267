"""`cqrs bench readapi`: concurrent clients (vegeta, `cqrs.bench.loadgen`) against the real read API (uvicorn) on a
sandbox of its own.

The bench seeds a sandbox (event topic, store targets, Redis keys) with orders through the real projections, starts
`python -m readapi.cli serve` on it, measures each scenario for a bounded time, and removes everything afterwards.
Scenarios: cached detail (a hot set of orders), uncached detail (`Cache-Control: no-cache`: the Mongo-wire store),
list and search (no-cache: the stores, as under a steady write load where every flush moves the cache key), and
daily revenue (ClickHouse). The load generator shares the machine's cores with the server and the stores, so the
figures are a floor for what the read API does on its own.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer

from cqrs.bench.loadgen import Target, attack
from cqrs.bench.report import report
from schemas.envelope import EventEnvelope
from schemas.envelope_codec import encode_envelope
from schemas.events import LineItem, OrderConfirmed, OrderCreated, OrderStatus
from streams.projections import PROJECTIONS
from streams.runners.kafka import KafkaRunner
from streams.sandbox import create_topics, remove, sandbox
from streams.settings import StreamsSettings
from streams.worker import ProjectionWorker

WORDS = ["mug", "teapot", "kettle", "plate", "bowl", "spoon", "glass", "tray", "jug", "cup"]
HOT_ORDERS = 50


def _events(count: int) -> list[EventEnvelope]:
    """`count` orders: created with 1-3 lines, two in three then confirmed, over ten days."""
    rng = random.Random(42)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=10)
    events = []
    for n in range(count):
        order_id, at = str(uuid.uuid4()), start + timedelta(minutes=15 * n)
        items = tuple(
            LineItem(
                item_id=str(uuid.uuid4()),
                sku=f"SKU-{rng.randint(1, 40)}",
                name=f"{rng.choice(['Blue', 'Red', 'Green'])} {rng.choice(WORDS)}",
                quantity=rng.randint(1, 4),
                unit_price=Decimal(rng.randint(100, 9999)) / 100,
            )
            for _ in range(rng.randint(1, 3))
        )
        total = sum((item.quantity * item.unit_price for item in items), start=Decimal("0.00"))
        customer, currency = f"bench-{n % 25}", rng.choice(["EUR", "USD"])

        def envelope(version: int, data: Any, when: datetime, order_id: str = order_id) -> EventEnvelope:
            return EventEnvelope(
                event_id=uuid.uuid4(), aggregate_type="Order", aggregate_id=order_id, version=version, timestamp=when,
                correlation_id=f"bench-{order_id}", causation_id=str(uuid.uuid4()), data=data,
            )  # fmt: skip

        created = OrderCreated(
            customer_id=customer, currency=currency, items=items, total=total, status=OrderStatus.PENDING
        )
        events.append(envelope(1, created, at))
        if n % 3:
            confirmed = OrderConfirmed(
                customer_id=customer, status=OrderStatus.CONFIRMED, total=total, currency=currency
            )
            events.append(envelope(2, confirmed, at + timedelta(seconds=5)))
    return events


async def _seed(settings: StreamsSettings, orders: int) -> list[str]:
    await create_topics(settings)
    events = _events(orders)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        for event in events:
            await producer.send(settings.topic, encode_envelope(event), key=event.aggregate_id.encode())
        await producer.flush()
    finally:
        await producer.stop()

    async def project(name: str) -> None:
        worker = await ProjectionWorker.open(settings, name)
        runner = KafkaRunner(settings.kafka_bootstrap, batch_size=2000, batch_timeout_s=0.05, tick_s=0.2)
        try:
            await asyncio.wait_for(runner.consume(worker, stop=asyncio.Event(), until_caught_up=True), 120)
        finally:
            await worker.close()

    await asyncio.gather(*(project(name) for name in PROJECTIONS))
    return list(dict.fromkeys(event.aggregate_id for event in events))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _server_env(settings: StreamsSettings) -> dict[str, str]:
    names = ("topic", "mongo_database", "search_alias", "clickhouse_database", "redis_prefix")
    env = dict(os.environ, CQRS_READAPI_LOG_LEVEL="warning")
    env.update({f"CQRS_STREAMS_{name.upper()}": str(getattr(settings, name)) for name in names})
    return env


def _wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the read API exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/health/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the read API did not become ready within 60 s")


def _scenario(url: str, token: str, targets: list[Target], clients: int, seconds: float) -> dict[str, Any]:
    attack(url, targets, clients=clients, seconds=0.5, token=token)  # warm connections, the app and the cache
    result = attack(url, targets, clients=clients, seconds=seconds, token=token)
    return {
        "requests": result.requests,
        "errors": result.errors,
        "req/s": result.rate,
        "p50 ms": result.p50_ms,
        "p99 ms": result.p99_ms,
        "max ms": result.max_ms,
    }


def _scenarios(order_ids: list[str]) -> dict[str, list[Target]]:
    """Each scenario's requests, taken round robin by the load generator."""
    rng = random.Random(7)
    fresh = {"Cache-Control": "no-cache"}
    shuffled = rng.sample(order_ids, len(order_ids))
    return {
        "cached detail": [Target(f"/orders/{order_id}", {}) for order_id in order_ids[:HOT_ORDERS]],
        "uncached detail": [Target(f"/orders/{order_id}", fresh) for order_id in shuffled],
        "list": [Target(f"/orders?status=confirmed&page={page}&sort=total:desc", fresh) for page in range(1, 6)],
        "search": [Target(f"/orders/search?q={word}&filters=currency:EUR", fresh) for word in WORDS],
        "analytics": [Target("/analytics/revenue/daily?currency=EUR", {})],
    }


def run(clients: list[int], seconds: float, workers: int, orders: int) -> None:
    """Every scenario at each number of concurrent clients: few clients show the service's own latency, many its
    throughput once saturated (where latency is mostly queueing)."""
    from infra.settings import stack_settings
    from readapi.settings import ReadApiSettings
    from servicekit.principals import Role
    from servicekit.tokens import mint_token

    settings = sandbox(StreamsSettings(ports=stack_settings().ports), tag="bench", batch_timeout_s=0.05, metrics_port=0)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    token = mint_token(ReadApiSettings(), subject="bench", roles=[Role.STAFF, Role.ANALYST])
    process: subprocess.Popen[bytes] | None = None
    try:
        order_ids = asyncio.run(_seed(settings, orders))
        command = [sys.executable, "-m", "readapi.cli", "serve", "--port", str(port), "--workers", str(workers)]
        process = subprocess.Popen(command, env=_server_env(settings), stdout=subprocess.DEVNULL)
        _wait_ready(url, process)
        rows = [
            {"scenario": f"{name}, {count} clients"} | _scenario(url, token, targets, count, seconds)
            for name, targets in _scenarios(order_ids).items()
            for count in clients
        ]
    finally:
        if process is not None:
            process.terminate()
            process.wait(15)
        asyncio.run(remove(settings))
    report(
        "readapi",
        rows,
        {"clients": clients, "seconds_per_scenario": seconds, "uvicorn_workers": workers, "orders": orders},
    )
