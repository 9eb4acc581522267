"""`cqrs bench readapi`: concurrent clients (vegeta, `cqrs.bench.loadgen`) against the real read API (uvicorn) on a
sandbox of its own.

The bench seeds a sandbox (event topic, store targets, Redis keys) with orders through the real projections, starts
`python -m readapi.cli serve` on it, measures each scenario for a bounded time, and removes everything afterwards.
Scenarios: cached detail (a hot set of orders), uncached detail (`Cache-Control: no-cache`: the Mongo-wire store),
lists (no-cache: PostgreSQL `readdb`, as under a steady write load where every flush moves the cache key) for every
filter (none, status, customer, both) with every sort field, plus keyset pages deep into the list; search
(Elasticsearch) and daily revenue (ClickHouse). `views` picks some of them (and only their projections are seeded).

It also measures the list projection's events/s (the engine and the sink, on the aiokafka runner, alone on the
machine) against PostgreSQL's raw batched upsert rate (the sink's own statement, batches of the worker's size, no
Kafka and no engine): how much of what the store takes the projection delivers.

The load generator shares the machine's cores with the server and the stores, so the figures are a floor for what
the read API does on its own.
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

from cqrs.apps import DEV_TOKENS
from cqrs.bench.loadgen import Target, attack
from cqrs.bench.report import report
from schemas.envelope import EventEnvelope
from schemas.envelope_codec import encode_envelope
from schemas.events import LineItem, OrderConfirmed, OrderCreated, OrderStatus
from servicekit.serving import wait_until_ready
from streams.contract import ANALYTICS, DETAIL, LIST, SEARCH
from streams.order_view import OrderView
from streams.positions import Position
from streams.projections.lists import list_row
from streams.runners.kafka import KafkaRunner
from streams.sandbox import create_topics, remove, sandbox
from streams.settings import StreamsSettings
from streams.sink import Put
from streams.sinks.postgres import PostgresTargets
from streams.worker import ProjectionWorker

WORDS = ["mug", "teapot", "kettle", "plate", "bowl", "spoon", "glass", "tray", "jug", "cup"]
HOT_ORDERS = 50
CUSTOMERS = 500
VIEWS = {"detail": DETAIL, "list": LIST, "search": SEARCH, "analytics": ANALYTICS}
"""Scenario groups, and the projection each needs seeded."""
LIST_SORTS = [f"{field}:desc" for field in ("createdAt", "updatedAt", "total", "status", "itemCount", "version")]
LIST_SORTS.append("createdAt:asc")
KEYSET_PAGES = 50


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
        customer, currency = f"bench-{n % CUSTOMERS}", rng.choice(["EUR", "USD"])

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


async def _seed(settings: StreamsSettings, orders: int, projections: list[str]) -> tuple[list[str], dict[str, Any]]:
    """The orders' ids, and the list projection's rate against the raw upsert rate (when lists are measured)."""
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

    async def project(name: str) -> float:
        worker = await ProjectionWorker.open(settings, name)
        runner = KafkaRunner(settings.kafka_bootstrap, batch_size=2000, batch_timeout_s=0.05, tick_s=0.2, in_flight=2)
        started = time.perf_counter()
        try:
            await asyncio.wait_for(runner.consume(worker, stop=asyncio.Event(), until_caught_up=True), 3600)
        finally:
            await worker.close()
        return time.perf_counter() - started

    rates: dict[str, Any] = {}
    if LIST in projections:  # alone first: its rate is not shared with the other projections
        seconds = await project(LIST)
        raw = await _raw_upsert_rate(settings, events)
        rates = {
            "list projection events/s": round(len(events) / seconds, 1),
            "raw batched upserts rows/s": raw,
            "projection ÷ raw": round(len(events) / seconds / raw, 2),
        }
    await asyncio.gather(*(project(name) for name in projections if name != LIST))
    return list(dict.fromkeys(event.aggregate_id for event in events)), rates


async def _raw_upsert_rate(settings: StreamsSettings, events: list[EventEnvelope], batch: int = 2000) -> float:
    """Rows/s of the list sink's own upsert into a fresh table, in the worker's batch size, from rows built ahead:
    the store's side of the projection alone (one row per event, as if every event were an order's last)."""
    targets = PostgresTargets.connect(settings)
    try:
        generation = 99
        await targets.create(generation)
        sink = targets.sink(generation)
        rows = [_row(event, n) for n, event in enumerate(events)]
        started = time.perf_counter()
        for start in range(0, len(rows), batch):
            sink.add(*rows[start : start + batch])
            await sink.flush()
        elapsed = time.perf_counter() - started
        await targets.drop(generation)
    finally:
        await targets.close()
    return round(len(rows) / elapsed, 1)


def _row(event: EventEnvelope, n: int) -> Put:
    data = event.data
    items = getattr(data, "items", ())
    order = OrderView(
        order_id=f"{event.aggregate_id}-{n}", customer_id=getattr(data, "customer_id", "x"),
        currency=getattr(data, "currency", "EUR"), status=getattr(data, "status", OrderStatus.PENDING), items=items,
        total=getattr(data, "total", Decimal("0.00")), created_at=event.timestamp, updated_at=event.timestamp,
        position=Position(event.version, 0), last_event_id=event.event_id, last_event_type=event.event_type,
    )  # fmt: skip
    return Put(order.order_id, order.position, list_row(order))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _server_env(settings: StreamsSettings) -> dict[str, str]:
    names = ("topic", "list_schema", "mongo_database", "search_alias", "clickhouse_database", "redis_prefix")
    env = dict(os.environ, CQRS_READAPI_LOG_LEVEL="warning", **DEV_TOKENS)  # a loopback bench: the dev key
    env.update({f"CQRS_STREAMS_{name.upper()}": str(getattr(settings, name)) for name in names})
    return env


def _scenario(url: str, token: str, targets: list[Target], clients: int, seconds: float) -> dict[str, Any]:
    attack(url, targets, clients=clients, seconds=0.5, token=token)  # warm connections, the app and the cache
    result = attack(url, targets, clients=clients, seconds=seconds, token=token)
    return {
        "requests": result.requests,
        "errors": result.errors,
        "error codes": ", ".join(f"{code}: {n}" for code, n in sorted(result.status_codes.items()) if code != "200"),
        "req/s": result.rate,
        "p50 ms": result.p50_ms,
        "p99 ms": result.p99_ms,
        "max ms": result.max_ms,
    }


def _scenarios(order_ids: list[str], views: list[str], cursors: list[str]) -> dict[str, list[Target]]:
    """Each scenario's requests, taken round robin by the load generator."""
    rng = random.Random(7)
    fresh = {"Cache-Control": "no-cache"}
    shuffled = rng.sample(order_ids, len(order_ids))
    scenarios: dict[str, list[Target]] = {}
    if "detail" in views:
        scenarios["cached detail"] = [Target(f"/orders/{order_id}", {}) for order_id in order_ids[:HOT_ORDERS]]
        scenarios["uncached detail"] = [Target(f"/orders/{order_id}", fresh) for order_id in shuffled]
    if "list" in views:
        customers = [f"bench-{n}" for n in rng.sample(range(CUSTOMERS), 20)]
        filters: dict[str, list[str]] = {
            "all": [""],
            "status": ["status=confirmed&"],
            "customer": [f"customerId={customer}&" for customer in customers],
            "customer+status": [f"customerId={customer}&status=confirmed&" for customer in customers],
        }
        for name, prefixes in filters.items():
            for sort in LIST_SORTS:
                scenarios[f"list {name} {sort}"] = [
                    Target(f"/orders?{prefix}sort={sort}&page={page}", fresh)
                    for prefix in prefixes
                    for page in (1, 2, 3)
                ]
        scenarios["list keyset createdAt:desc"] = [
            Target(f"/orders?sort=createdAt:desc&cursor={cursor}", fresh) for cursor in cursors
        ]
    if "search" in views:
        scenarios["search"] = [Target(f"/orders/search?q={word}&filters=currency:EUR", fresh) for word in WORDS]
    if "analytics" in views:
        scenarios["analytics"] = [Target("/analytics/revenue/daily?currency=EUR", {})]
    return scenarios


def _ceiling(
    token: str, clients: list[int], seconds: float, workers: int, rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The same-run reference (`cqrs.bench.ceiling`: uvicorn answering fixed bytes) at each client count; every row
    above gets its req/s as a share of it (`÷ ceiling`), which says more than req/s on a shared, noisy machine."""
    port = _free_port()
    command = [sys.executable, "-m", "cqrs.bench.ceiling", str(port), str(workers)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_port(port, process)
        ceiling = {count: _scenario(url, token, [Target("/", {})], count, seconds) for count in clients}
    finally:
        process.terminate()
        process.wait(15)
    for row in rows:
        count = int(row["scenario"].rsplit(", ", 1)[1].split()[0])
        row["÷ ceiling"] = round(row["req/s"] / ceiling[count]["req/s"], 2)
    return [{"scenario": f"uvicorn ceiling, {count} clients"} | ceiling[count] for count in clients]


def _wait_for_port(port: int, process: subprocess.Popen[bytes], within_s: float = 30) -> None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline and process.poll() is None:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"the ceiling server did not listen on {port}")


def _cursors(url: str, token: str) -> list[str]:
    """The cursors of the first `KEYSET_PAGES` pages of the newest-first list (deep pages for the keyset scenario)."""
    cursors: list[str] = []
    params: dict[str, str] = {"sort": "createdAt:desc"}
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        while len(cursors) < KEYSET_PAGES:
            cursor = client.get("/orders", params=params).json()["pagination"].get("cursor")
            if cursor is None:
                break
            cursors.append(cursor)
            params["cursor"] = cursor
    return cursors


def run(clients: list[int], seconds: float, workers: int, orders: int, views: list[str] | None = None) -> None:
    """Every scenario at each number of concurrent clients: few clients show the service's own latency, many its
    throughput once saturated (where latency is mostly queueing)."""
    views = views or list(VIEWS)
    unknown = set(views) - set(VIEWS)
    if unknown:
        raise ValueError(f"unknown views {sorted(unknown)}; known: {', '.join(VIEWS)}")
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
        order_ids, rates = asyncio.run(_seed(settings, orders, [VIEWS[view] for view in views]))
        command = [sys.executable, "-m", "readapi.cli", "serve", "--port", str(port), "--workers", str(workers)]
        process = subprocess.Popen(command, env=_server_env(settings), stdout=subprocess.DEVNULL)
        wait_until_ready(url, process, within_s=60)
        cursors = _cursors(url, token) if "list" in views else []
        rows = [
            {"scenario": f"{name}, {count} clients"} | _scenario(url, token, targets, count, seconds)
            for name, targets in _scenarios(order_ids, views, cursors).items()
            for count in clients
        ]
        rows += _ceiling(token, clients, seconds, workers, rows)
        if rates:
            rows.append({"scenario": "list projection"} | rates)
    finally:
        if process is not None:
            process.terminate()
            process.wait(15)
        asyncio.run(remove(settings))
    report(
        "readapi",
        rows,
        {
            "clients": clients,
            "seconds_per_scenario": seconds,
            "uvicorn_workers": workers,
            "orders": orders,
            "views": views,
        },
    )
