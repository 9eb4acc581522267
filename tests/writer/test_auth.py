"""Authentication (401) and authorization (403, or 404 for someone else's order), with nothing written."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import httpx
import jwt
import psycopg
import pytest

from servicekit.principals import Role
from servicekit.tokens import hs256_secret, mint_token
from tests.writer.helpers import assert_problem, create_order, line, new_order, order_row, row_counts
from writer.settings import WriterSettings

Auth = Callable[..., dict[str, str]]


def bad_tokens(settings: WriterSettings) -> dict[str, str]:
    other = settings.model_copy(update={"jwt_audience": "somebody-else"})
    forged_claims = {"sub": "staff-1", "roles": ["staff"], "iss": settings.jwt_issuer, "aud": settings.jwt_audience}
    return {
        "expired": mint_token(settings, subject="staff-1", roles=[Role.STAFF], ttl=timedelta(minutes=-5)),
        "other audience": mint_token(other, subject="staff-1", roles=[Role.STAFF]),
        "wrong signature": jwt.encode(
            {**forged_claims, "exp": 4_102_444_800}, "a-guessed-secret-that-is-long-enough-for-hs256!", "HS256"
        ),
        "unsigned (alg none)": jwt.encode({**forged_claims, "exp": 4_102_444_800}, None, "none"),  # type: ignore[arg-type]
        "no expiry": jwt.encode(forged_claims, hs256_secret(settings, serving=True), "HS256"),
        "garbage": "not.a.token",
    }


async def test_missing_token_is_401_with_a_bearer_challenge(
    client: httpx.AsyncClient, db: psycopg.AsyncConnection
) -> None:
    response = await client.post("/orders", json=new_order())
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == 'Bearer realm="cqrs-writer"'
    assert (await row_counts(db))["orders"] == 0


async def test_other_auth_scheme_is_401(client: httpx.AsyncClient, db: psycopg.AsyncConnection) -> None:
    response = await client.post("/orders", json=new_order(), headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert_problem(response, 401)


@pytest.mark.parametrize(
    "kind", ["expired", "other audience", "wrong signature", "unsigned (alg none)", "no expiry", "garbage"]
)
async def test_bad_or_expired_token_is_401_and_writes_nothing(
    client: httpx.AsyncClient, db: psycopg.AsyncConnection, settings: WriterSettings, kind: str
) -> None:
    token = bad_tokens(settings)[kind]
    response = await client.post("/orders", json=new_order(), headers={"Authorization": f"Bearer {token}"})
    assert_problem(response, 401)
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert (await row_counts(db))["orders"] == 0


async def test_analyst_cannot_write(client: httpx.AsyncClient, db: psycopg.AsyncConnection, auth: Auth) -> None:
    response = await client.post("/orders", json=new_order(), headers=auth(Role.ANALYST, "ann"))
    assert assert_problem(response, 403)["type"].endswith(":forbidden")
    assert (await row_counts(db))["orders"] == 0


async def test_token_without_a_known_role_cannot_write(
    client: httpx.AsyncClient, db: psycopg.AsyncConnection, settings: WriterSettings
) -> None:
    token = mint_token(settings, subject="x", roles=[])
    response = await client.post("/orders", json=new_order(), headers={"Authorization": f"Bearer {token}"})
    assert_problem(response, 403)


async def test_customer_cannot_place_an_order_for_someone_else(
    client: httpx.AsyncClient, db: psycopg.AsyncConnection, auth: Auth
) -> None:
    response = await client.post("/orders", json=new_order("bob"), headers=auth(Role.CUSTOMER, "alice"))
    assert_problem(response, 403)
    assert (await row_counts(db))["orders"] == 0


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/orders/{id}/confirm", None),
        ("POST", "/orders/{id}/cancel", {"reason": "mine now"}),
        ("POST", "/orders/{id}/items", line()),
        ("DELETE", "/orders/{id}/items/whatever", None),
    ],
)
async def test_someone_elses_order_is_not_found_for_a_customer(
    client: httpx.AsyncClient, db: psycopg.AsyncConnection, auth: Auth, method: str, path: str, body: object
) -> None:
    order_id = (await create_order(client, auth(Role.CUSTOMER, "bob"), customer_id="bob"))["aggregateId"]
    before = await row_counts(db)
    response = await client.request(method, path.format(id=order_id), json=body, headers=auth(Role.CUSTOMER, "alice"))
    assert assert_problem(response, 404)["type"].endswith(":order-not-found")
    assert await row_counts(db) == before
    assert (await order_row(db, order_id) or {})["version"] == 1


async def test_someone_elses_order_is_not_found_even_with_a_stale_version(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    order_id = (await create_order(client, auth(Role.CUSTOMER, "bob"), customer_id="bob"))["aggregateId"]
    response = await client.post(
        f"/orders/{order_id}/confirm", json={"expectedVersion": 9}, headers=auth(Role.CUSTOMER, "alice")
    )
    assert_problem(response, 404)


async def test_customer_cannot_ship(client: httpx.AsyncClient, db: psycopg.AsyncConnection, auth: Auth) -> None:
    order_id = (await create_order(client, auth(Role.CUSTOMER, "alice"), customer_id="alice"))["aggregateId"]
    await client.post(f"/orders/{order_id}/confirm", headers=auth(Role.CUSTOMER, "alice"))
    response = await client.post(f"/orders/{order_id}/ship", headers=auth(Role.CUSTOMER, "alice"))
    assert_problem(response, 403)
    assert (await order_row(db, order_id) or {})["status"] == "confirmed"


@pytest.mark.parametrize("role", [Role.STAFF, Role.OPERATOR])
async def test_staff_and_operators_act_on_any_order(client: httpx.AsyncClient, auth: Auth, role: Role) -> None:
    order_id = (await create_order(client, auth(Role.CUSTOMER, "bob"), customer_id="bob"))["aggregateId"]
    assert (await client.post(f"/orders/{order_id}/confirm", headers=auth(role, "someone"))).status_code == 202
    assert (await client.post(f"/orders/{order_id}/ship", headers=auth(role, "someone"))).status_code == 202
