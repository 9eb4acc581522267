"""Idempotency-Key: a retried request gets the first answer and has no second effect."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import psycopg

from servicekit.principals import Role
from tests.writer.helpers import assert_problem, create_order, line, new_order, row_counts

Auth = Callable[..., dict[str, str]]


async def test_same_key_and_body_returns_the_first_response_and_has_one_effect(
    client: httpx.AsyncClient, db: psycopg.AsyncConnection, auth: Auth
) -> None:
    headers = {**auth(), "Idempotency-Key": "retry-1"}
    first = await client.post("/orders", json=new_order(), headers=headers)
    again = await client.post("/orders", json=new_order(), headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.content == first.content
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    counts = await row_counts(db)
    assert counts["orders"] == counts["commands"] == counts["idempotency_keys"] == 1


async def test_same_key_with_reordered_json_is_the_same_request(
    client: httpx.AsyncClient, db: psycopg.AsyncConnection, auth: Auth
) -> None:
    headers = {**auth(), "Idempotency-Key": "retry-2", "Content-Type": "application/json"}
    body = new_order()
    reordered = '{"items":[{"unitPrice":"19.99","quantity":2,"name":"Widget","sku":"SKU-1"}],' + (
        '"currency":"EUR",  "customerId":"customer-1"}'
    )
    first = await client.post("/orders", json=body, headers=headers)
    again = await client.post("/orders", content=reordered, headers=headers)
    assert again.content == first.content
    assert (await row_counts(db))["orders"] == 1


async def test_same_idempotency_key_other_body_is_rejected(
    client: httpx.AsyncClient, db: psycopg.AsyncConnection, auth: Auth
) -> None:
    headers = {**auth(), "Idempotency-Key": "retry-3"}
    assert (await client.post("/orders", json=new_order(), headers=headers)).status_code == 202
    before = await row_counts(db)
    other = await client.post("/orders", json=new_order(items=[line(quantity=3)]), headers=headers)
    problem = assert_problem(other, 422)
    assert problem["type"].endswith(":idempotency-key-reused")
    assert await row_counts(db) == before


async def test_same_idempotency_key_on_another_route_is_rejected(
    client: httpx.AsyncClient, db: psycopg.AsyncConnection, auth: Auth
) -> None:
    order_id = (await create_order(client, auth()))["aggregateId"]
    headers = {**auth(), "Idempotency-Key": "retry-4"}
    assert (await client.post(f"/orders/{order_id}/confirm", headers=headers)).status_code == 202
    reused = await client.post(f"/orders/{order_id}/cancel", json={"reason": "x"}, headers=headers)
    assert_problem(reused, 422)


async def test_twenty_concurrent_requests_with_one_key_have_one_effect(
    client: httpx.AsyncClient, db: psycopg.AsyncConnection, auth: Auth
) -> None:
    headers = {**auth(), "Idempotency-Key": "burst-1"}
    responses = await asyncio.gather(
        *(client.post("/commands/create-order", json=new_order(), headers=headers) for _ in range(20))
    )
    assert {response.status_code for response in responses} == {202}
    assert len({response.content for response in responses}) == 1
    assert sum("idempotent-replayed" not in response.headers for response in responses) == 1
    counts = await row_counts(db)
    assert counts["orders"] == counts["commands"] == counts["idempotency_keys"] == 1


async def test_concurrent_retries_of_an_update_apply_it_once(
    client: httpx.AsyncClient, db: psycopg.AsyncConnection, auth: Auth
) -> None:
    order_id = (await create_order(client, auth()))["aggregateId"]
    headers = {**auth(), "Idempotency-Key": "burst-2"}
    responses = await asyncio.gather(
        *(client.post(f"/orders/{order_id}/items", json=line("Z"), headers=headers) for _ in range(20))
    )
    assert {response.json()["version"] for response in responses} == {2}
    cursor = await db.execute("SELECT version, jsonb_array_length(items) FROM orders WHERE id = %s", (order_id,))
    assert await cursor.fetchone() == (2, 2)


async def test_idempotency_keys_are_scoped_to_the_caller(
    client: httpx.AsyncClient, db: psycopg.AsyncConnection, auth: Auth
) -> None:
    alice = {**auth(Role.CUSTOMER, "alice"), "Idempotency-Key": "same"}
    bob = {**auth(Role.CUSTOMER, "bob"), "Idempotency-Key": "same"}
    first = await client.post("/orders", json=new_order("alice"), headers=alice)
    second = await client.post("/orders", json=new_order("bob"), headers=bob)
    assert first.status_code == second.status_code == 202
    assert first.json()["aggregateId"] != second.json()["aggregateId"]
    assert (await row_counts(db))["orders"] == 2


async def test_a_rejected_command_is_not_stored_under_its_key(
    client: httpx.AsyncClient, db: psycopg.AsyncConnection, auth: Auth
) -> None:
    order_id = (await create_order(client, auth()))["aggregateId"]
    headers = {**auth(), "Idempotency-Key": "after-fix"}
    early = await client.post(f"/orders/{order_id}/ship", headers=headers)
    assert_problem(early, 409)
    assert (await row_counts(db))["idempotency_keys"] == 0
    assert (await client.post(f"/orders/{order_id}/confirm", headers=auth())).status_code == 202
    assert (await client.post(f"/orders/{order_id}/ship", headers=headers)).status_code == 202


async def test_malformed_idempotency_key_is_a_validation_problem(
    client: httpx.AsyncClient, db: psycopg.AsyncConnection, auth: Auth
) -> None:
    response = await client.post("/orders", json=new_order(), headers={**auth(), "Idempotency-Key": "x" * 256})
    problem = assert_problem(response, 422)
    assert problem["errors"][0]["field"] == "Idempotency-Key"
    assert (await row_counts(db))["orders"] == 0
