"""Who sees what: no token 401, wrong role 403, someone else's order 404, lists and search never leak."""

from __future__ import annotations

import httpx
import pytest

from servicekit.principals import Role
from tests.readapi.conftest import Auth
from tests.readapi.helpers import assert_problem, ok
from tests.readapi.seed import CUSTOMERS, Seeded

pytestmark = pytest.mark.stack
PATHS = ["/orders", "/orders/search", "/analytics/revenue/daily", "/analytics/top-skus"]


@pytest.mark.parametrize("path", [*PATHS, "/orders/some-id", "/orders/some-id/items"])
async def test_no_token_or_a_bad_one_is_401(client: httpx.AsyncClient, path: str) -> None:
    problem = assert_problem(await client.get(path), 401)
    assert problem["type"].endswith(":unauthenticated")
    bad = await client.get(path, headers={"Authorization": "Bearer not-a-jwt"})
    assert_problem(bad, 401)
    assert "invalid_token" in bad.headers["www-authenticate"]


async def test_wrong_role_is_403(seeded: Seeded, client: httpx.AsyncClient, auth: Auth) -> None:
    order_id = seeded.histories[0].order_id
    for path in ("/orders", "/orders/search", f"/orders/{order_id}", f"/orders/{order_id}/items"):
        assert_problem(await client.get(path, headers=auth(Role.ANALYST, "analyst-1")), 403)
    for role in (Role.CUSTOMER, Role.STAFF, Role.OPERATOR):
        for path in ("/analytics/revenue/daily", "/analytics/top-skus"):
            assert_problem(await client.get(path, headers=auth(role, CUSTOMERS[0])), 403)


async def test_a_customer_sees_their_own_order_and_not_anyone_elses(
    seeded: Seeded, client: httpx.AsyncClient, auth: Auth
) -> None:
    mine, theirs = (
        seeded.histories[0],
        next(h for h in seeded.histories if h.customer_id != seeded.histories[0].customer_id),
    )
    me = auth(Role.CUSTOMER, mine.customer_id)
    assert ok(await client.get(f"/orders/{mine.order_id}", headers=me))["data"]["orderId"] == mine.order_id
    for path in (f"/orders/{theirs.order_id}", f"/orders/{theirs.order_id}/items", "/orders/no-such-order"):
        problem = assert_problem(await client.get(path, headers=me), 404)
        assert problem["type"].endswith(":order-not-found")
    # Twice: the second answer comes from the cache, which must not skip the check.
    for _ in range(2):
        assert_problem(await client.get(f"/orders/{theirs.order_id}", headers=me), 404)
        ok(await client.get(f"/orders/{theirs.order_id}", headers=auth(Role.STAFF)))


async def test_lists_and_search_never_leak_other_customers_orders(
    seeded: Seeded, client: httpx.AsyncClient, auth: Auth
) -> None:
    customer = CUSTOMERS[1]
    mine = {h.order_id for h in seeded.everything if h.customer_id == customer}
    me = auth(Role.CUSTOMER, customer)
    listed = ok(await client.get("/orders", params={"limit": 100}, headers=me))
    assert {o["orderId"] for o in listed["data"]} == mine
    assert listed["pagination"]["total"] == len(mine)
    asked_for_other = ok(await client.get("/orders", params={"customerId": CUSTOMERS[2]}, headers=me))
    assert asked_for_other["data"] == []
    assert asked_for_other["pagination"]["total"] == 0
    found = ok(await client.get("/orders/search", params={"q": "product", "limit": 100}, headers=me))
    assert {hit["orderId"] for hit in found["data"]} == mine
    other = ok(await client.get("/orders/search", params={"filters": f"customerId:{CUSTOMERS[2]}"}, headers=me))
    assert other["data"] == []
    staff = ok(await client.get("/orders", params={"customerId": customer, "limit": 100}, headers=auth(Role.STAFF)))
    assert {o["orderId"] for o in staff["data"]} == mine


@pytest.mark.parametrize("path", [*PATHS, "/orders/some-id", "/orders/some-id/items"])
async def test_a_token_without_a_known_role_reads_nothing(
    seeded: Seeded, client: httpx.AsyncClient, auth: Auth, path: str
) -> None:
    """Roles are an allowlist: a valid token whose roles are all unknown (or none) is refused on every route."""
    assert_problem(await client.get(path, headers=auth([], CUSTOMERS[0])), 403)
