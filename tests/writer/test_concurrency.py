"""Optimistic concurrency: expectedVersion (body) or If-Match decide, and a stale writer gets 409."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import psycopg

from tests.writer.helpers import assert_problem, create_order, line, order_row, row_counts

Auth = Callable[..., dict[str, str]]


async def test_two_writers_with_the_same_expected_version_one_wins_one_gets_409(
    client: httpx.AsyncClient, db: psycopg.AsyncConnection, auth: Auth
) -> None:
    order_id = (await create_order(client, auth()))["aggregateId"]
    body = {"orderId": order_id, "item": line("RACE"), "expectedVersion": 1}
    first, second = await asyncio.gather(
        client.post("/commands/add-item-to-order", json=body, headers=auth()),
        client.post("/commands/add-item-to-order", json=body, headers=auth()),
    )
    assert sorted([first.status_code, second.status_code]) == [202, 409]
    loser = first if first.status_code == 409 else second
    problem = assert_problem(loser, 409)
    assert problem["currentVersion"] == 2
    assert problem["expectedVersion"] == 1
    assert loser.headers["etag"] == '"2"'
    assert (await order_row(db, order_id) or {})["version"] == 2


async def test_if_match_carries_the_expected_version(
    client: httpx.AsyncClient, db: psycopg.AsyncConnection, auth: Auth
) -> None:
    order_id = (await create_order(client, auth()))["aggregateId"]
    stale = await client.post(f"/orders/{order_id}/confirm", headers={**auth(), "If-Match": '"7"'})
    assert assert_problem(stale, 409)["currentVersion"] == 1
    fresh = await client.post(f"/orders/{order_id}/confirm", headers={**auth(), "If-Match": '"1"'})
    assert fresh.status_code == 202


async def test_if_match_on_delete_guards_item_removal(
    client: httpx.AsyncClient, db: psycopg.AsyncConnection, auth: Auth
) -> None:
    order_id = (await create_order(client, auth()))["aggregateId"]
    item_id = (await order_row(db, order_id) or {})["items"][0]["itemId"]
    stale = await client.delete(f"/orders/{order_id}/items/{item_id}", headers={**auth(), "If-Match": '"3"'})
    assert_problem(stale, 409)
    assert (await order_row(db, order_id) or {})["version"] == 1


async def test_if_match_disagreeing_with_the_body_is_a_validation_problem(
    client: httpx.AsyncClient, db: psycopg.AsyncConnection, auth: Auth
) -> None:
    order_id = (await create_order(client, auth()))["aggregateId"]
    before = await row_counts(db)
    response = await client.post(
        f"/orders/{order_id}/confirm", json={"expectedVersion": 1}, headers={**auth(), "If-Match": '"2"'}
    )
    assert assert_problem(response, 422)["errors"][0]["field"] == "expectedVersion"
    assert await row_counts(db) == before


async def test_malformed_if_match_is_a_validation_problem(
    client: httpx.AsyncClient, db: psycopg.AsyncConnection, auth: Auth
) -> None:
    order_id = (await create_order(client, auth()))["aggregateId"]
    response = await client.post(f"/orders/{order_id}/confirm", headers={**auth(), "If-Match": "W/abc"})
    assert assert_problem(response, 422)["errors"][0]["field"] == "If-Match"


async def test_concurrent_writers_without_expected_version_are_serialised(
    client: httpx.AsyncClient, db: psycopg.AsyncConnection, auth: Auth
) -> None:
    order_id = (await create_order(client, auth()))["aggregateId"]
    responses = await asyncio.gather(
        *(client.post(f"/orders/{order_id}/items", json=line(f"S{n}"), headers=auth()) for n in range(10))
    )
    assert {response.status_code for response in responses} == {202}
    assert sorted(response.json()["version"] for response in responses) == list(range(2, 12))
    stored = await order_row(db, order_id)
    assert stored is not None
    assert stored["version"] == 11
    assert len(stored["items"]) == 11
