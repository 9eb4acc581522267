"""Writer → WAL → Debezium outbox router → `events.Order`, on the real Postgres, Connect and Kafka."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg
import pytest

from connectors.client import ConnectClient
from connectors.settings import ConnectorSettings
from connectors.slots import slot_state
from connectors.tail import EventsTail
from cqrs.apps import pipeline_stack
from infra.process import kill_hard
from infra.services.postgres import dsn as postgres_dsn
from infra.stack import Stack

pytestmark = pytest.mark.stack
SLOT = "cqrs_outbox"


def new_order(customer: str = "customer-relay") -> dict[str, Any]:
    return {
        "customerId": customer,
        "currency": "EUR",
        "items": [{"sku": "MUG-1", "name": "Blue mug", "quantity": 2, "unitPrice": "12.50"}],
    }


def create(api: httpx.Client, correlation_id: str | None = None) -> dict[str, Any]:
    headers = {"X-Correlation-ID": correlation_id} if correlation_id else {}
    response = api.post("/commands/create-order", json=new_order(), headers=headers)
    assert response.status_code == 202, response.text
    return dict(response.json())


def add_item(api: httpx.Client, order_id: str, n: int) -> httpx.Response:
    item = {"sku": f"SKU-{n}", "name": f"Item {n}", "quantity": 1, "unitPrice": "1.00"}
    return api.post("/commands/add-item-to-order", json={"orderId": order_id, "item": item})


def test_a_command_reaches_events_order_with_key_headers_and_the_writers_envelope(
    api: httpx.Client, tail: EventsTail
) -> None:
    correlation_id = f"corr-{uuid.uuid4()}"
    accepted = create(api, correlation_id)
    order_id = accepted["aggregateId"]

    [event] = tail.collect(lambda events: any(e.key == order_id for e in events), 60)

    envelope = event.envelope
    assert event.key == order_id
    assert envelope.aggregate_id == order_id
    assert envelope.aggregate_type == "Order"
    assert envelope.event_type == "OrderCreated"
    assert envelope.version == accepted["version"] == 1
    assert envelope.correlation_id == correlation_id
    assert envelope.causation_id == accepted["commandId"]
    assert event.headers["eventId"] == str(envelope.event_id)
    assert event.headers["eventType"] == "OrderCreated"
    assert event.headers["version"] == "1"
    assert event.headers["correlationId"] == correlation_id
    assert event.headers["causationId"] == accepted["commandId"]
    # The value is exactly what the writer committed: compare with the write model's row.
    detail = api.get(f"/commands/{accepted['commandId']}")
    assert detail.status_code == 200
    assert str(envelope.data.total) == "25.00"


def test_concurrent_commands_keep_each_orders_versions_strictly_increasing(api: httpx.Client, tail: EventsTail) -> None:
    orders = [create(api)["aggregateId"] for _ in range(20)]
    jobs = [(order_id, n) for n in range(9) for order_id in orders]  # 180 more commands, 9 per order
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(lambda job: add_item(api, *job).status_code, jobs))
    assert Counter(statuses) == {202: 180}

    wanted = set(orders)
    events = tail.collect(lambda got: sum(e.key in wanted for e in got) >= 200, 90)

    versions: dict[str, list[int]] = defaultdict(list)
    for event in sorted((e for e in events if e.key in wanted), key=lambda e: (e.partition, e.offset)):
        versions[event.key].append(event.envelope.version)
    assert {order_id: versions[order_id] for order_id in orders} == {
        order_id: list(range(1, 11)) for order_id in orders
    }


@pytest.mark.disruptive
def test_killing_connect_mid_stream_loses_no_event(relay: Stack, api: httpx.Client, tail: EventsTail) -> None:
    accepted: list[tuple[str, int]] = []
    refused: list[str] = []
    stop = threading.Event()

    def keep_posting() -> None:
        while not stop.is_set():
            response = api.post("/commands/create-order", json=new_order())
            if response.status_code == 202:
                accepted.append((response.json()["aggregateId"], response.json()["version"]))
            else:
                refused.append(f"{response.status_code} {response.text[:200]}")
            time.sleep(0.02)

    poster = threading.Thread(target=keep_posting)
    poster.start()
    try:
        time.sleep(2)
        connect = pipeline_stack(relay.settings, ["connect"])
        pid = connect.status()[0].pid
        assert pid is not None
        kill_hard(pid)
        time.sleep(3)  # commands keep committing while nothing reads the WAL
        connect.up()
        with ConnectClient(ConnectorSettings().connect_url) as client:
            client.wait_running("orders-outbox", 120)
        time.sleep(2)
    finally:
        stop.set()
        poster.join()

    expected = set(accepted)
    events = tail.collect(lambda got: expected <= {(e.key, e.envelope.version) for e in got}, 120)
    relayed = [(e.key, e.envelope.version) for e in events]
    lost = expected - set(relayed)
    duplicates = sum(count - 1 for count in Counter(e.envelope.event_id for e in events).values())
    print(f"\nkill -9 connect: accepted={len(expected)} relayed={len(relayed)} lost={len(lost)} dup={duplicates}")
    assert refused == []  # the writer does not depend on Connect being up
    assert len(expected) > 100
    assert not lost


def test_an_idle_slot_keeps_confirming_through_heartbeats(relay: Stack) -> None:
    """Other tables keep writing WAL while no order changes: the heartbeat lets the slot confirm past it."""
    dsn = ConnectorSettings().postgres_dsn
    with psycopg.connect(postgres_dsn(relay.settings.ports.postgres), autocommit=True) as conn:  # the owner: DDL
        conn.execute("CREATE TABLE IF NOT EXISTS unrelated_churn (id serial PRIMARY KEY, filler text)")
        before = slot_state(dsn, SLOT)
        assert before is not None
        for _ in range(20):  # ~20 MB of WAL that Debezium never sees (the table is not in the publication)
            conn.execute("INSERT INTO unrelated_churn (filler) SELECT repeat('x', 1000) FROM generate_series(1, 1000)")
        conn.execute("TRUNCATE unrelated_churn")
    churned = slot_state(dsn, SLOT)
    assert churned is not None
    assert churned.lag_bytes > 10_000_000

    deadline = time.monotonic() + 60  # the heartbeat runs every 10 s; restart_lsn follows at the next checkpoint
    state = churned
    while time.monotonic() < deadline and (state.lag_bytes > 1_000_000 or state.retained_bytes > 64 * 2**20):
        time.sleep(2)
        state = slot_state(dsn, SLOT) or state
    print(f"\nslot lag: churned {churned.lag_bytes:,} B -> {state.lag_bytes:,} B, retained {state.retained_bytes:,} B")
    assert state.active
    assert state.lag_bytes < 1_000_000
    # restart_lsn trails confirmed_flush_lsn (it waits for a running-transactions record): bounded, not zero.
    assert state.retained_bytes < 64 * 2**20
