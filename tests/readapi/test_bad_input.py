"""Bad input is a 4xx problem document, never a 5xx."""

from __future__ import annotations

import httpx
import pytest

from servicekit.principals import Role
from tests.readapi.conftest import Auth
from tests.readapi.helpers import assert_problem
from tests.readapi.seed import Seeded

pytestmark = pytest.mark.stack


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/orders", {"sort": "password:asc"}, "sort"),
        ("/orders", {"sort": "createdAt:sideways"}, "sort"),
        ("/orders", {"page": "0"}, "page"),
        ("/orders", {"page": "two"}, "page"),
        ("/orders", {"limit": "1000000"}, "limit"),
        ("/orders", {"limit": "0"}, "limit"),
        ("/orders", {"status": "lost"}, "status"),
        ("/orders", {"minVersion": "3"}, "minVersionOf"),
        ("/orders", {"minVersion": "0", "minVersionOf": "x"}, "minVersion"),
        ("/orders/search", {"filters": "status"}, "filters"),
        ("/orders/search", {"filters": "colour:blue"}, "filters"),
        ("/orders/search", {"filters": "status:lost"}, "filters"),
        ("/orders/search", {"filters": "currency:euro"}, "filters"),
        ("/orders/search", {"filters": "status:pending,status:shipped"}, "filters"),
        ("/orders/search", {"q": "x" * 10_000}, "q"),
        ("/orders/search", {"page": "101", "limit": "100"}, "page"),
        ("/orders/some-id", {"minVersion": "-1"}, "minVersion"),
        ("/orders/some-id", {"minVersion": "1", "timeout": "11"}, "timeout"),
        ("/orders/some-id", {"consistency": "linearizable"}, "consistency"),
        ("/analytics/top-skus", {"limit": "1000000"}, "limit"),
        ("/analytics/revenue/daily", {"from": "yesterday"}, "from"),
        ("/analytics/revenue/daily", {"from": "2025-03-09", "to": "2025-03-01"}, "from"),
        ("/analytics/revenue/daily", {"currency": "eur"}, "currency"),
    ],
)
async def test_bad_query_parameters_are_named_in_a_422_problem(
    seeded: Seeded, client: httpx.AsyncClient, auth: Auth, path: str, params: dict[str, str], field: str
) -> None:
    headers = auth([Role.STAFF, Role.ANALYST])
    problem = assert_problem(await client.get(path, params=params, headers=headers), 422)
    assert field in [error["field"] for error in problem["errors"]]


@pytest.mark.parametrize("path", ["/orders", "/orders/search", "/orders/some-id/items"])
async def test_strong_consistency_on_a_view_without_it_is_a_400_problem(
    client: httpx.AsyncClient, auth: Auth, path: str
) -> None:
    problem = assert_problem(await client.get(path, params={"consistency": "strong"}, headers=auth()), 400)
    assert problem["supported"] == ["eventual"]


async def test_unknown_routes_and_methods_are_problems_too(client: httpx.AsyncClient, auth: Auth) -> None:
    assert_problem(await client.get("/nowhere", headers=auth()), 404)
    assert_problem(await client.post("/orders", headers=auth()), 405)


async def test_an_unknown_query_parameter_is_refused_rather_than_ignored(client: httpx.AsyncClient, auth: Auth) -> None:
    problem = assert_problem(await client.get("/orders", params={"stauts": "pending"}, headers=auth()), 422)
    assert [error["field"] for error in problem["errors"]] == ["stauts"]


async def test_a_repeated_query_parameter_is_refused_rather_than_last_one_wins(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    repeated = await client.get("/orders", params=[("customerId", "alice"), ("customerId", "bob")], headers=auth())
    problem = assert_problem(repeated, 422)
    assert [error["field"] for error in problem["errors"]] == ["customerId"]
