"""GET /commands/{commandId} returns what the command did, to whoever may see it."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import psycopg

from servicekit.principals import Role
from tests.writer.helpers import assert_problem, new_order

Auth = Callable[..., dict[str, str]]


async def test_command_outcome_reports_the_accepted_command_and_its_events(
    client: httpx.AsyncClient, db: psycopg.AsyncConnection, auth: Auth
) -> None:
    accepted = await client.post("/orders", json=new_order(), headers={**auth(), "X-Correlation-ID": "c-77"})
    command_id = accepted.json()["commandId"]
    response = await client.get(f"/commands/{command_id}", headers=auth())
    assert response.status_code == 200
    outcome = response.json()
    assert {key: outcome[key] for key in ("commandId", "status", "aggregateId", "version", "timestamp")} == (
        accepted.json()
    )
    assert outcome["command"] == "create-order"
    assert outcome["correlationId"] == "c-77"
    (event,) = outcome["events"]
    assert event["eventType"] == "OrderCreated"
    assert event["sequence"] == 0


async def test_unknown_command_is_404(client: httpx.AsyncClient, auth: Auth) -> None:
    assert_problem(await client.get("/commands/00000000-0000-4000-8000-000000000000", headers=auth()), 404)
    assert_problem(await client.get("/commands/not-a-uuid", headers=auth()), 404)


async def test_customers_see_only_their_own_commands(client: httpx.AsyncClient, auth: Auth) -> None:
    accepted = await client.post("/orders", json=new_order("bob"), headers=auth(Role.CUSTOMER, "bob"))
    path = f"/commands/{accepted.json()['commandId']}"
    assert (await client.get(path, headers=auth(Role.CUSTOMER, "bob"))).status_code == 200
    assert_problem(await client.get(path, headers=auth(Role.CUSTOMER, "alice")), 404)
    assert (await client.get(path, headers=auth(Role.ANALYST, "ann"))).status_code == 200


async def test_command_outcome_needs_a_token(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/commands/00000000-0000-4000-8000-000000000000"), 401)
