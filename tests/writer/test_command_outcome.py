"""GET /commands/{commandId} returns what the command did, to whoever may see it."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import jwt
import psycopg
import pytest

from servicekit.principals import Role
from servicekit.tokens import hs256_secret
from tests.writer.helpers import assert_problem, new_order
from writer.settings import WriterSettings

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


@pytest.mark.parametrize("roles", [[], ["auditor"]], ids=["no role", "unknown role"])
async def test_token_without_a_known_role_reads_no_command_outcome(
    client: httpx.AsyncClient, auth: Auth, settings: WriterSettings, roles: list[str]
) -> None:
    accepted = await client.post("/orders", json=new_order("bob"), headers=auth(Role.CUSTOMER, "bob"))
    claims = {"sub": "bob", "roles": roles, "iss": settings.jwt_issuer, "aud": settings.jwt_audience}
    token = jwt.encode({**claims, "exp": int(time.time()) + 60}, hs256_secret(settings, serving=True), "HS256")
    path = f"/commands/{accepted.json()['commandId']}"
    assert_problem(await client.get(path, headers={"Authorization": f"Bearer {token}"}), 404)
