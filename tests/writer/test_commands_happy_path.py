"""Every command is accepted on both route styles, answers 202 per DESIGN.md and changes the write model."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any
from uuid import UUID

import httpx
import psycopg
import pytest

from servicekit.principals import Role
from tests.writer.helpers import create_order, line, new_order, order_row, summary_row

Auth = Callable[..., dict[str, str]]


def assert_accepted(response: httpx.Response, order_id: str | None, version: int) -> dict[str, Any]:
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == "accepted"
    assert body["version"] == version
    UUID(body["commandId"])
    if order_id is not None:
        assert body["aggregateId"] == order_id
    assert body["timestamp"].endswith("Z")
    assert response.headers["location"] == f"/orders/{body['aggregateId']}?minVersion={version}"
    assert response.headers["etag"] == f'"{version}"'
    return body


@pytest.mark.parametrize("path", ["/commands/create-order", "/orders"])
async def test_create_order_is_accepted_and_stored_with_its_summary(
    client: httpx.AsyncClient, db: psycopg.AsyncConnection, auth: Auth, path: str
) -> None:
    body = new_order(items=[line("A", 2, "19.99"), line("B", 1, "0.02")])
    response = await client.post(path, json=body, headers=auth())
    accepted = assert_accepted(response, None, 1)
    order_id = accepted["aggregateId"]
    stored = await order_row(db, order_id)
    assert stored is not None
    assert stored["status"] == "pending"
    assert stored["total"] == Decimal("40.00")
    assert [item["sku"] for item in stored["items"]] == ["A", "B"]
    assert stored["items"][0]["unitPrice"] == "19.99"
    summary = await summary_row(db, order_id)
    assert summary == {
        "customer_id": "customer-1",
        "status": "pending",
        "currency": "EUR",
        "total": Decimal("40.00"),
        "item_count": 2,
        "version": 1,
    }


async def test_create_order_keeps_the_shipping_address(
    client: httpx.AsyncClient, db: psycopg.AsyncConnection, auth: Auth
) -> None:
    address = {"line1": "Hauptstr. 1", "city": "Berlin", "postalCode": "10115", "country": "DE"}
    response = await client.post("/orders", json=new_order(shippingAddress=address), headers=auth())
    order_id = assert_accepted(response, None, 1)["aggregateId"]
    cursor = await db.execute("SELECT shipping_address FROM orders WHERE id = %s", (order_id,))
    row = await cursor.fetchone()
    assert row is not None
    assert row[0] == {**address, "line2": None, "region": None}


@pytest.mark.parametrize("style", ["task", "rest"])
async def test_add_item_to_order_appends_a_line(
    client: httpx.AsyncClient, db: psycopg.AsyncConnection, auth: Auth, style: str
) -> None:
    order_id = (await create_order(client, auth()))["aggregateId"]
    new_line = line("C", 3, "1.50")
    if style == "task":
        response = await client.post(
            "/commands/add-item-to-order", json={"orderId": order_id, "item": new_line}, headers=auth()
        )
    else:
        response = await client.post(f"/orders/{order_id}/items", json=new_line, headers=auth())
    assert_accepted(response, order_id, 2)
    stored = await order_row(db, order_id)
    assert stored is not None
    assert [item["sku"] for item in stored["items"]] == ["SKU-1", "C"]
    assert stored["total"] == Decimal("44.48")
    assert (await summary_row(db, order_id) or {})["item_count"] == 2


@pytest.mark.parametrize("style", ["task", "rest"])
async def test_remove_item_from_order_drops_the_line(
    client: httpx.AsyncClient, db: psycopg.AsyncConnection, auth: Auth, style: str
) -> None:
    order_id = (await create_order(client, auth(), items=[line("A"), line("B")]))["aggregateId"]
    stored = await order_row(db, order_id)
    assert stored is not None
    item_id = stored["items"][0]["itemId"]
    if style == "task":
        response = await client.post(
            "/commands/remove-item-from-order", json={"orderId": order_id, "itemId": item_id}, headers=auth()
        )
    else:
        response = await client.delete(f"/orders/{order_id}/items/{item_id}", headers=auth())
    assert_accepted(response, order_id, 2)
    stored = await order_row(db, order_id)
    assert stored is not None
    assert [item["sku"] for item in stored["items"]] == ["B"]
    assert (await summary_row(db, order_id) or {})["total"] == Decimal("39.98")


@pytest.mark.parametrize("style", ["task", "rest"])
async def test_cancel_order_cancels_a_pending_order(
    client: httpx.AsyncClient, db: psycopg.AsyncConnection, auth: Auth, style: str
) -> None:
    order_id = (await create_order(client, auth()))["aggregateId"]
    if style == "task":
        response = await client.post(
            "/commands/cancel-order", json={"orderId": order_id, "reason": "changed my mind"}, headers=auth()
        )
    else:
        response = await client.post(f"/orders/{order_id}/cancel", json={"reason": "changed my mind"}, headers=auth())
    assert_accepted(response, order_id, 2)
    assert (await order_row(db, order_id) or {})["status"] == "cancelled"
    assert (await summary_row(db, order_id) or {})["status"] == "cancelled"


@pytest.mark.parametrize("style", ["task", "rest"])
async def test_confirm_then_ship_moves_the_order_through_its_lifecycle(
    client: httpx.AsyncClient, db: psycopg.AsyncConnection, auth: Auth, style: str
) -> None:
    order_id = (await create_order(client, auth()))["aggregateId"]
    for command, version, status in (("confirm", 2, "confirmed"), ("ship", 3, "shipped")):
        if style == "task":
            response = await client.post(f"/commands/{command}-order", json={"orderId": order_id}, headers=auth())
        else:
            response = await client.post(f"/orders/{order_id}/{command}", headers=auth())
        assert_accepted(response, order_id, version)
        assert (await order_row(db, order_id) or {})["status"] == status
        assert (await summary_row(db, order_id) or {})["version"] == version


async def test_customer_runs_the_whole_lifecycle_of_an_own_order_except_shipping(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    customer = auth(Role.CUSTOMER, "alice")
    order_id = (await create_order(client, customer, customer_id="alice"))["aggregateId"]
    response = await client.post(f"/orders/{order_id}/items", json=line("X"), headers=customer)
    assert_accepted(response, order_id, 2)
    response = await client.post(f"/orders/{order_id}/confirm", json={"expectedVersion": 2}, headers=customer)
    assert_accepted(response, order_id, 3)


async def test_correlation_id_is_echoed_or_generated(client: httpx.AsyncClient, auth: Auth) -> None:
    given = await client.post("/orders", json=new_order(), headers={**auth(), "X-Correlation-ID": "trace-42"})
    assert given.headers["x-correlation-id"] == "trace-42"
    generated = await client.post("/orders", json=new_order(), headers=auth())
    UUID(generated.headers["x-correlation-id"])
