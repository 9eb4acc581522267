"""Request builders and database probes shared by the writer tests."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg

from servicekit.principals import Role
from servicekit.tokens import mint_token
from writer.settings import WriterSettings

TABLES = ("orders", "order_summary", "commands", "idempotency_keys", "outbox")
PROBLEM_JSON = "application/problem+json"


def bearer(settings: WriterSettings, role: Role, subject: str) -> str:
    return f"Bearer {mint_token(settings, subject=subject, roles=[role])}"


def line(sku: str = "SKU-1", quantity: int = 2, unit_price: str = "19.99", name: str = "Widget") -> dict[str, Any]:
    return {"sku": sku, "name": name, "quantity": quantity, "unitPrice": unit_price}


def new_order(customer_id: str = "customer-1", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"customerId": customer_id, "currency": "EUR", "items": [line()]}
    body.update(overrides)
    return body


async def row_counts(db: psycopg.AsyncConnection) -> dict[str, int]:
    """Rows per writer table (plus the WAL position, so an insert+delete in the outbox shows up too)."""
    counts = {}
    for table in TABLES:
        cursor = await db.execute(f"SELECT count(*) FROM {table}")
        row = await cursor.fetchone()
        assert row is not None
        counts[table] = row[0]
    return counts


async def create_order(client: httpx.AsyncClient, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    """Place an order through the API and return the 202 body (asserting it was accepted)."""
    response = await client.post("/commands/create-order", json=new_order(**overrides), headers=headers)
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


async def order_row(db: psycopg.AsyncConnection, order_id: str) -> dict[str, Any] | None:
    cursor = await db.execute(
        "SELECT customer_id, status, currency, items, total, version FROM orders WHERE id = %s", (order_id,)
    )
    row = await cursor.fetchone()
    if row is None:
        return None
    keys = ("customer_id", "status", "currency", "items", "total", "version")
    return dict(zip(keys, row, strict=True))


async def summary_row(db: psycopg.AsyncConnection, order_id: str) -> dict[str, Any] | None:
    cursor = await db.execute(
        "SELECT customer_id, status, currency, total, item_count, version FROM order_summary WHERE id = %s",
        (order_id,),
    )
    row = await cursor.fetchone()
    if row is None:
        return None
    keys = ("customer_id", "status", "currency", "total", "item_count", "version")
    return dict(zip(keys, row, strict=True))


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The response is an RFC 9457 problem with `status`; returns its document."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    assert {"type", "title", "detail", "instance"} <= problem.keys()
    return problem
