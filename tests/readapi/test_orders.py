"""Order detail and items (the Mongo-wire projection) and lists (the PostgreSQL list projection): what the events
say, every sort field and filter, pagination edges, keyset cursors, stable order."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.readapi.conftest import Auth
from tests.readapi.helpers import ok
from tests.readapi.seed import CUSTOMERS, Seeded
from tests.streams.history import History

pytestmark = pytest.mark.stack


async def test_detail_shows_the_order_as_its_events_built_it(
    seeded: Seeded, client: httpx.AsyncClient, auth: Auth
) -> None:
    history = seeded.histories[3]
    body = ok(await client.get(f"/orders/{history.order_id}", headers=auth()))
    order = body["data"]
    assert order["orderId"] == history.order_id
    assert order["customerId"] == history.customer_id
    assert order["status"] == history.status.value
    assert Decimal(order["total"]) == history.total
    assert [line["sku"] for line in order["items"]] == [item.sku for item in history.items]
    assert order["version"] == history.version
    assert body["pagination"] is None
    assert body["meta"]["version"] == history.version
    assert body["meta"]["lastUpdated"] == order["updatedAt"]
    assert body["meta"]["stale"] is False


async def test_items_are_the_orders_lines_paged(seeded: Seeded, client: httpx.AsyncClient, auth: Auth) -> None:
    history = max(seeded.histories, key=lambda h: len(h.items))
    assert len(history.items) >= 2
    body = ok(await client.get(f"/orders/{history.order_id}/items", params={"limit": 1, "page": 2}, headers=auth()))
    assert body["pagination"] == {"page": 2, "limit": 1, "total": len(history.items)}
    assert [line["itemId"] for line in body["data"]] == [history.items[1].item_id]
    assert Decimal(body["data"][0]["unitPrice"]) == history.items[1].unit_price


async def _all_pages(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    page = 1
    while True:
        body = ok(await client.get("/orders", params={**params, "page": page, "limit": 25}, headers=headers))
        seen += body["data"]
        if page * 25 >= body["pagination"]["total"]:
            assert len(seen) == body["pagination"]["total"]
            return seen
        page += 1


def _key(field: str, order: dict[str, Any]) -> Any:
    return Decimal(order["total"]) * 100 if field == "total" else order[field]


@pytest.mark.parametrize("field", ["createdAt", "updatedAt", "total", "status", "itemCount", "version"])
@pytest.mark.parametrize("direction", ["asc", "desc"])
async def test_each_sort_field_orders_every_page_with_orderid_breaking_ties(
    seeded: Seeded, client: httpx.AsyncClient, auth: Auth, field: str, direction: str
) -> None:
    orders = await _all_pages(client, auth(), sort=f"{field}:{direction}")
    assert {o["orderId"] for o in orders} == {h.order_id for h in seeded.everything}
    reverse = direction == "desc"
    # Sorted by the field in the direction asked, then by orderId in the same direction (the tie-breaker).
    expected = sorted(orders, key=lambda o: (_key(field, o), o["orderId"]), reverse=reverse)
    assert [o["orderId"] for o in orders] == [o["orderId"] for o in expected]
    followed = await _all_cursor_pages(client, auth(), sort=f"{field}:{direction}")
    assert [o["orderId"] for o in followed] == [o["orderId"] for o in expected]


async def _all_cursor_pages(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        after = {"cursor": cursor} if cursor else {}
        body = ok(await client.get("/orders", params={**params, **after, "limit": 9}, headers=headers))
        seen += body["data"]
        cursor = body["pagination"].get("cursor")
        if cursor is None:
            assert len(seen) == body["pagination"]["total"]
            return seen


async def test_a_cursor_belongs_to_its_sort_and_excludes_page(client: httpx.AsyncClient, auth: Auth) -> None:
    first = ok(await client.get("/orders", params={"limit": 5, "sort": "total:desc"}, headers=auth()))
    cursor = first["pagination"]["cursor"]
    assert first["pagination"]["totalIsEstimate"] is False
    other_sort = await client.get("/orders", params={"cursor": cursor, "sort": "total:asc"}, headers=auth())
    assert other_sort.status_code == 422
    both = await client.get("/orders", params={"cursor": cursor, "sort": "total:desc", "page": 2}, headers=auth())
    assert both.status_code == 422
    for garbage in ("x", "bm9wZQ", "WyJ0b3RhbDpkZXNjIiwieCIsMV0"):  # "nope", ["total:desc","x",1]
        bad = await client.get("/orders", params={"cursor": garbage, "sort": "total:desc"}, headers=auth())
        assert bad.status_code == 422, garbage


async def test_status_and_customer_filters_select_exactly_the_matching_orders(
    seeded: Seeded, client: httpx.AsyncClient, auth: Auth
) -> None:
    for status in ("pending", "confirmed", "shipped", "cancelled"):
        want = {h.order_id for h in seeded.everything if h.status.value == status}
        assert want, status
        got = await _all_pages(client, auth(), status=status)
        assert {o["orderId"] for o in got} == want
    customer = CUSTOMERS[2]
    got = await _all_pages(client, auth(), customerId=customer, status="confirmed")
    want = {h.order_id for h in seeded.everything if h.customer_id == customer and h.status.value == "confirmed"}
    assert {o["orderId"] for o in got} == want


async def test_pagination_edges(seeded: Seeded, client: httpx.AsyncClient, auth: Auth) -> None:
    total = len(seeded.everything)
    last_page = -(-total // 10)
    last = ok(await client.get("/orders", params={"limit": 10, "page": last_page}, headers=auth()))
    assert last["pagination"] == {"page": last_page, "limit": 10, "total": total}
    assert len(last["data"]) == total - 10 * (last_page - 1)
    beyond = ok(await client.get("/orders", params={"limit": 10, "page": last_page + 1}, headers=auth()))
    assert beyond["data"] == []
    assert beyond["pagination"]["total"] == total
    empty = ok(await client.get("/orders", params={"customerId": "nobody-at-all"}, headers=auth()))
    assert empty["data"] == []
    assert empty["pagination"] == {"page": 1, "limit": 20, "total": 0}
    largest = ok(await client.get("/orders", params={"limit": 100}, headers=auth()))
    assert len(largest["data"]) == min(100, total)
    smallest = ok(await client.get("/orders", params={"limit": 1}, headers=auth()))
    assert len(smallest["data"]) == 1
    # The default: newest first.
    newest = max(seeded.everything, key=lambda h: h.events[0].timestamp)
    assert smallest["data"][0]["orderId"] == newest.order_id


async def test_list_meta_carries_the_projection_position(seeded: Seeded, client: httpx.AsyncClient, auth: Auth) -> None:
    body = ok(await client.get("/orders", headers=auth()))
    events = sum(len(h.events) for h in seeded.everything)
    assert body["meta"]["version"] == events
    newest_event = max(e.timestamp for h in seeded.everything for e in h.events)
    assert body["meta"]["lastUpdated"] == newest_event.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _history(seeded: Seeded, order_id: str) -> History:
    return next(h for h in seeded.everything if h.order_id == order_id)
