"""Batch lines applied a chunk per transaction, on the real Postgres: each line keeps the outcome it would have posted
alone (a failing line undoes no other), lines on one order keep file order across chunks, a rerun writes nothing,
an interrupted import resumes by running again, and a batch a concurrent writer breaks settles line by line.

The app here applies 4 lines per transaction, so a few dozen lines cross several chunk boundaries."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI

from servicekit.principals import Role
from tests.writer.helpers import bearer, line, new_order, row_counts
from tests.writer.wal import consume_changes, logical_slot
from writer.api.app import create_app
from writer.api.services import Services
from writer.domain import CreateOrder, NewOrderLine, OrderAlreadyExists
from writer.handlers import CommandContext
from writer.importer import WriterUnreachable, import_lines
from writer.ports import Accepted
from writer.postgres.store import BATCH_FALLBACKS
from writer.settings import WriterSettings

pytestmark = pytest.mark.stack
CHUNK = 4
Line = tuple[str, str, dict[str, Any]]
"""(command, idempotency key, body)."""


@pytest.fixture(scope="module")
async def chunked_app(settings: WriterSettings) -> AsyncIterator[FastAPI]:
    application = create_app(settings.model_copy(update={"batch_lines_per_transaction": CHUNK}))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def http(chunked_app: FastAPI, db: psycopg.AsyncConnection) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the 4-lines-per-transaction app; `db` empties the tables first."""
    transport = httpx.ASGITransport(app=chunked_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://writer", timeout=30) as client:
        yield client


@pytest.fixture
def as_staff(settings: WriterSettings) -> Callable[[str], dict[str, str]]:
    return lambda subject: {"Authorization": bearer(settings, Role.STAFF, subject)}


def ndjson(lines: list[Line]) -> bytes:
    return "\n".join(json.dumps({"command": c, "idempotencyKey": k, "body": b}) for c, k, b in lines).encode()


async def post_batch(http: httpx.AsyncClient, headers: dict[str, str], lines: list[Line]) -> list[dict[str, Any]]:
    response = await http.post(
        "/commands/batch", content=ndjson(lines), headers={**headers, "content-type": "application/x-ndjson"}
    )
    assert response.status_code == 200, response.text
    return [json.loads(text) for text in response.text.splitlines()]


async def create_orders(http: httpx.AsyncClient, headers: dict[str, str], count: int) -> list[str]:
    ids = []
    for n in range(count):
        response = await http.post("/commands/create-order", json=new_order(f"cust-{n}"), headers=headers)
        assert response.status_code == 202, response.text
        ids.append(response.json()["aggregateId"])
    return ids


def script(orders: list[str]) -> list[Line]:
    """Valid, invalid, conflicting, missing and duplicate lines on three pending orders (version 1)."""
    o0, o1, o2 = orders
    missing = str(uuid.UUID(int=7))
    add = {"orderId": o0, "item": line("ADD-1")}
    return [
        ("create-order", "k1", new_order("new-customer")),
        ("create-order", "k2", new_order("bad", items=[{**line(), "unitPrice": 4.2}])),  # money as a number: 422
        ("add-item-to-order", "k3", add),  # o0 → 2
        ("add-item-to-order", "k3", add),  # same key, same body, same transaction: replayed
        ("confirm-order", "k4", {"orderId": o0, "expectedVersion": 1}),  # stale version: 409
        ("confirm-order", "k5", {"orderId": o0, "expectedVersion": 2}),  # o0 → 3, across a chunk boundary
        ("add-item-to-order", "k6", {"orderId": o0, "item": line("LATE")}),  # confirmed: 409
        ("cancel-order", "k7", {"orderId": missing}),  # 404
        ("add-item-to-order", "k3", add),  # same key, same body: replayed (version 2)
        ("confirm-order", "k3", {"orderId": o1}),  # same key, another body: refused
        ("ship-order", "k8", {"orderId": o1}),  # pending: 409
        ("confirm-order", "k9", {"orderId": o1}),  # o1 → 2
        ("ship-order", "k10", {"orderId": o1}),  # o1 → 3
        ("remove-item-from-order", "k11", {"orderId": o2, "itemId": "no-such-item"}),
        ("add-item-to-order", "k4", {"orderId": o2, "item": line("FREE-KEY")}),  # k4's line failed: key still free
        ("add-item-to-order", "k12", {"orderId": o2, "item": line("MORE"), "expectedVersion": 2}),  # o2 → 3
        ("cancel-order", "k13", {"orderId": o2, "reason": "test"}),  # o2 → 4
        ("create-order", "k1", new_order("new-customer")),  # replayed: line 1's order
        ("add-item-to-order", "k14", {"orderId": o1, "item": line("AFTER-SHIP")}),  # shipped: 409
        ("confirm-order", "k13", {"orderId": o0}),  # k13's key (same transaction), another body: refused
    ]


def normalized(result: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """What must be equal between the two ways: status, outcome, version, problem; ids by role, not value."""

    def name(text: str) -> str:
        for order_id, alias in names.items():
            text = text.replace(order_id, alias)
        return text

    shown: dict[str, Any] = {"status": result["status"], "outcome": result["outcome"]}
    if result["status"] == 202:
        aggregate = result["aggregateId"]
        names.setdefault(aggregate, f"created-{len(names)}")
        shown |= {"version": result["version"], "order": names[aggregate]}
    else:
        problem = result["problem"]
        errors = [(e["field"].removeprefix("body."), e["message"]) for e in problem.get("errors", [])]
        shown |= {
            "type": problem["type"],
            "title": problem["title"],
            "detail": name(problem["detail"]),
            "errors": errors,
        }
    return shown


async def post_one_by_one(http: httpx.AsyncClient, headers: dict[str, str], lines: list[Line]) -> list[dict[str, Any]]:
    """Each line as its own `POST /commands/<name>` (key in the Idempotency-Key header), as a batch result."""
    results = []
    for number, (command, key, body) in enumerate(lines, start=1):
        response = await http.post(f"/commands/{command}", json=body, headers={**headers, "Idempotency-Key": key})
        document = response.json()
        if response.status_code == 202:
            replayed = response.headers.get("idempotent-replayed") == "true"
            results.append({"line": number, "status": 202, "outcome": "replayed" if replayed else "accepted",
                            "aggregateId": document["aggregateId"], "version": document["version"]})  # fmt: skip
        else:
            outcome = "failed" if response.status_code >= 500 else "rejected"
            results.append({"line": number, "status": response.status_code, "outcome": outcome, "problem": document})
    return results


async def test_each_line_has_the_result_it_has_when_posted_alone(
    http: httpx.AsyncClient, db: psycopg.AsyncConnection, as_staff: Callable[[str], dict[str, str]]
) -> None:
    # The same keys under two subjects: keys are scoped per subject, so the two runs never meet.
    batch_staff, single_staff = as_staff("batch-importer"), as_staff("single-poster")
    batch_orders = await create_orders(http, batch_staff, 3)
    single_orders = await create_orders(http, single_staff, 3)

    batched = await post_batch(http, batch_staff, script(batch_orders))
    alone = await post_one_by_one(http, single_staff, script(single_orders))

    batch_names = {order_id: f"order-{n}" for n, order_id in enumerate(batch_orders)}
    single_names = {order_id: f"order-{n}" for n, order_id in enumerate(single_orders)}
    assert [r["line"] for r in batched] == list(range(1, len(script(batch_orders)) + 1))
    expected = [normalized(result, single_names) for result in alone]
    assert [normalized(result, batch_names) for result in batched] == expected
    # The script exercises what it claims to: accepted, replayed and several kinds of refusal.
    assert {r["outcome"] for r in expected} == {"accepted", "replayed", "rejected"}
    assert {r["status"] for r in expected} >= {202, 404, 409, 422}
    # And both ways leave the orders alike.
    for batch_id, single_id in zip(batch_orders, single_orders, strict=True):
        assert await order_state(db, batch_id) == await order_state(db, single_id)


async def order_state(db: psycopg.AsyncConnection, order_id: str) -> tuple[Any, ...]:
    cursor = await db.execute(
        "SELECT o.status, o.version, o.total, jsonb_array_length(o.items), s.version, s.item_count"
        " FROM orders o JOIN order_summary s USING (id) WHERE o.id = %s",
        (order_id,),
    )
    row = await cursor.fetchone()
    assert row is not None
    return tuple(row)


async def test_a_failing_line_undoes_nothing_of_its_chunk_and_keeps_nothing_of_its_own(
    http: httpx.AsyncClient, db: psycopg.AsyncConnection, as_staff: Callable[[str], dict[str, str]]
) -> None:
    staff = as_staff("chunk-test")
    (order_id,) = await create_orders(http, staff, 1)
    chunk: list[Line] = [  # one transaction (CHUNK lines), the second line fails
        ("add-item-to-order", "c1", {"orderId": order_id, "item": line("A")}),
        ("confirm-order", "c2", {"orderId": order_id, "expectedVersion": 99}),
        ("add-item-to-order", "c3", {"orderId": order_id, "item": line("B")}),
        ("confirm-order", "c4", {"orderId": order_id}),
    ]
    async with logical_slot(db, f"writer_batch_{os.getpid()}") as slot:
        results = await post_batch(http, staff, chunk)
        changes = await consume_changes(db, slot)

    assert [(r["outcome"], r.get("version")) for r in results] == [
        ("accepted", 2), ("rejected", None), ("accepted", 3), ("accepted", 4),
    ]  # fmt: skip
    assert results[1]["status"] == 409
    events = [(c.columns["type"], c.columns["version"]) for c in changes if c.kind == "insert" and c.table == "outbox"]
    assert events == [("OrderItemAdded", "2"), ("OrderItemAdded", "3"), ("OrderConfirmed", "4")]
    keys = await db.execute("SELECT key FROM idempotency_keys WHERE scope = 'chunk-test' ORDER BY key")
    assert [key for (key,) in await keys.fetchall()] == ["c1", "c3", "c4"]
    commands = await db.execute("SELECT count(*) FROM commands WHERE aggregate_id = %s", (order_id,))
    assert await commands.fetchone() == (4,)  # the create and the three accepted lines


async def test_lines_on_one_order_apply_in_file_order_across_transactions(
    http: httpx.AsyncClient, db: psycopg.AsyncConnection, as_staff: Callable[[str], dict[str, str]]
) -> None:
    staff = as_staff("order-test")
    mine, other = await create_orders(http, staff, 2)
    lines: list[Line] = []
    for n in range(11):  # interleaved with another order's lines, over several chunks
        lines.append(("add-item-to-order", f"m{n}", {"orderId": mine, "item": line(f"SKU-{n:02}")}))
        if n % 3 == 0:
            lines.append(("add-item-to-order", f"o{n}", {"orderId": other, "item": line(f"OTHER-{n}")}))
    lines.append(("confirm-order", "m-confirm", {"orderId": mine, "expectedVersion": 12}))

    results = await post_batch(http, staff, lines)

    on_mine = [r["version"] for r, (_, key, _) in zip(results, lines, strict=True) if key.startswith("m")]
    assert on_mine == list(range(2, 14))
    cursor = await db.execute("SELECT items, version, status FROM orders WHERE id = %s", (mine,))
    row = await cursor.fetchone()
    assert row is not None
    items, version, status = row
    assert [item["sku"] for item in items] == ["SKU-1", *(f"SKU-{n:02}" for n in range(11))]
    assert (version, status) == (13, "confirmed")


async def test_a_rerun_replays_every_line_and_writes_nothing(
    http: httpx.AsyncClient, db: psycopg.AsyncConnection, as_staff: Callable[[str], dict[str, str]]
) -> None:
    staff = as_staff("rerun-test")
    lines = script(await create_orders(http, staff, 3))
    first = await post_batch(http, staff, lines)
    before = await row_counts(db)
    async with logical_slot(db, f"writer_rerun_{os.getpid()}") as slot:
        second = await post_batch(http, staff, lines)
        changes = await consume_changes(db, slot)
    assert await row_counts(db) == before
    assert [c for c in changes if c.table == "outbox"] == []
    applied = [n for n, r in enumerate(first) if r["outcome"] in ("accepted", "replayed")]
    assert applied
    assert all(second[n]["outcome"] == "replayed" for n in applied)
    for n in applied:
        assert (second[n]["aggregateId"], second[n]["version"]) == (first[n]["aggregateId"], first[n]["version"])
    # Refused lines stay refused (line 4's key now names line 14's command: a reused key, no longer a conflict).
    assert [r["status"] >= 400 for r in second] == [r["status"] >= 400 for r in first]


class _WriterGoesAway(httpx.AsyncBaseTransport):
    """Answers the first `requests` requests, then fails like a writer that went down."""

    def __init__(self, inner: httpx.AsyncBaseTransport, requests: int) -> None:
        self._inner = inner
        self._left = requests

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self._left -= 1
        if self._left < 0:
            raise httpx.ConnectError("connection refused", request=request)
        return await self._inner.handle_async_request(request)


async def test_an_interrupted_import_resumes_by_running_it_again(
    chunked_app: FastAPI, http: httpx.AsyncClient, db: psycopg.AsyncConnection, settings: WriterSettings,
    tmp_path: Path,
) -> None:  # fmt: skip
    lines = [("create-order", f"r{n}", new_order(f"resume-{n}")) for n in range(60)]
    path = tmp_path / "orders.ndjson"
    path.write_bytes(ndjson(lines) + b"\n")
    headers = {"Authorization": bearer(settings, Role.STAFF, "resume-test")}

    def client(transport: httpx.AsyncBaseTransport) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=transport, base_url="http://writer", headers=headers, timeout=30)

    async with client(_WriterGoesAway(httpx.ASGITransport(app=chunked_app), requests=3)) as failing:
        with pytest.raises(WriterUnreachable):
            await import_lines(path, failing, chunk_lines=10, in_flight=2)
    applied_before = (await row_counts(db))["orders"]
    assert 0 < applied_before < len(lines)

    async with client(httpx.ASGITransport(app=chunked_app)) as working:
        resumed = await import_lines(path, working, chunk_lines=10, in_flight=2)

    assert (resumed.accepted, resumed.replayed, resumed.rejected) == (len(lines) - applied_before, applied_before, [])
    assert (await row_counts(db))["orders"] == len(lines)


async def test_a_batch_a_concurrent_writer_breaks_settles_each_command_alone(
    chunked_app: FastAPI,
    db: psycopg.AsyncConnection,
    as_staff: Callable[[str], dict[str, str]],
    settings: WriterSettings,
) -> None:
    """A create whose id another writer inserted meanwhile makes the batch's insert fail as a whole: the store then
    runs the commands one at a time, and only that one is refused."""
    services: Services = chunked_app.state.services
    staff = as_staff("race-test")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=chunked_app), base_url="http://writer") as http:
        (taken,) = await create_orders(http, staff, 1)
    principal = services.tokens.verify(staff["Authorization"].removeprefix("Bearer "))

    def create(order_id: str) -> tuple[CreateOrder, CommandContext]:
        item = NewOrderLine(sku="S", name="n", quantity=1, unit_price=Decimal("1.00"))
        command = CreateOrder(order_id=order_id, customer_id="race", currency="EUR", items=[item])
        context = CommandContext(principal=principal, command_id=uuid.uuid4(), correlation_id="race")
        return command, context

    fallbacks = BATCH_FALLBACKS._value.get()
    outcomes = await services.handler.handle_many([create(str(uuid.uuid4())), create(taken), create(str(uuid.uuid4()))])
    assert [type(outcome) for outcome in outcomes] == [Accepted, OrderAlreadyExists, Accepted]
    assert BATCH_FALLBACKS._value.get() == fallbacks + 1
    cursor = await db.execute("SELECT count(*) FROM orders WHERE customer_id = 'race'")
    assert await cursor.fetchone() == (2,)


async def test_batches_and_single_commands_on_the_same_orders_at_once_lose_no_update(
    http: httpx.AsyncClient, db: psycopg.AsyncConnection, as_staff: Callable[[str], dict[str, str]]
) -> None:
    """Two batches and a stream of single commands on the same orders: row locks serialise them (in a fixed order,
    or a deadlock sends a batch one line per transaction), so every accepted command is one version step."""
    staff = as_staff("mixed-load")
    orders = await create_orders(http, staff, 3)

    def batch(tag: str) -> list[Line]:
        return [("add-item-to-order", f"{tag}{n}", {"orderId": orders[n % 3], "item": line(f"{tag}-{n}")})
                for n in range(24)]  # fmt: skip

    async def singles() -> list[int]:
        statuses = []
        for n in range(12):
            body = {"orderId": orders[n % 3], "item": line(f"S-{n}")}
            statuses.append((await http.post("/commands/add-item-to-order", json=body, headers=staff)).status_code)
        return statuses

    first, second, single = await asyncio.gather(
        post_batch(http, staff, batch("a")), post_batch(http, staff, batch("b")), singles()
    )

    assert [r["outcome"] for r in first + second] == ["accepted"] * 48
    assert single == [202] * 12
    for order_id in orders:
        assert (await order_state(db, order_id))[1] == 1 + 16 + 4  # created, 8 lines of each batch, 4 singles
