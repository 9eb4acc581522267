"""Search (Elasticsearch): relevance, highlights, filters, paging. Analytics (ClickHouse): sums equal to the sums the
events imply, per day and currency, and SKUs by net units, with and without a day range."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from servicekit.principals import Role
from tests.readapi.conftest import Auth
from tests.readapi.helpers import ok
from tests.readapi.seed import Seeded, expected_daily_revenue, expected_units

pytestmark = pytest.mark.stack


async def test_search_ranks_the_best_match_first_and_highlights_it(
    seeded: Seeded, client: httpx.AsyncClient, auth: Auth
) -> None:
    body = ok(await client.get("/orders/search", params={"q": "blue mug"}, headers=auth()))
    ids = [hit["orderId"] for hit in body["data"]]
    assert ids[0] == seeded.search["blue"].order_id
    assert set(ids) == {seeded.search["blue"].order_id, seeded.search["red"].order_id}
    scores = [hit["score"] for hit in body["data"]]
    assert scores == sorted(scores, reverse=True)
    assert any("<em>Blue</em>" in fragment for fragment in body["data"][0]["highlights"]["items.name"])
    assert body["pagination"]["total"] == 2
    by_city = ok(await client.get("/orders/search", params={"q": "lisbon"}, headers=auth()))
    assert [hit["orderId"] for hit in by_city["data"]] == [seeded.search["blue"].order_id]


async def test_search_filters_narrow_the_hits(seeded: Seeded, client: httpx.AsyncClient, auth: Auth) -> None:
    cancelled = ok(
        await client.get("/orders/search", params={"q": "mug", "filters": "status:cancelled"}, headers=auth())
    )
    assert [hit["orderId"] for hit in cancelled["data"]] == [seeded.search["red"].order_id]
    usd = ok(await client.get("/orders/search", params={"filters": "currency:USD,status:confirmed"}, headers=auth()))
    want = {h.order_id for h in seeded.everything if h.currency == "USD" and h.status.value == "confirmed"}
    assert usd["pagination"]["total"] == len(want)
    params = {"filters": "currency:USD,status:confirmed", "limit": "100"}
    everything = ok(await client.get("/orders/search", params=params, headers=auth()))
    assert {hit["orderId"] for hit in everything["data"]} == want
    assert all(hit["score"] is None for hit in everything["data"])  # no text: newest first, no relevance


async def test_search_pages_do_not_overlap(seeded: Seeded, client: httpx.AsyncClient, auth: Auth) -> None:
    pages = [
        ok(await client.get("/orders/search", params={"q": "product", "page": page, "limit": 10}, headers=auth()))
        for page in (1, 2, 3)
    ]
    ids = [hit["orderId"] for page in pages for hit in page["data"]]
    assert len(ids) == len(set(ids))
    assert pages[0]["pagination"]["total"] == len(seeded.histories)  # every generated line is a "Product …"


async def test_daily_revenue_equals_the_sums_of_the_events(
    seeded: Seeded, client: httpx.AsyncClient, auth: Auth
) -> None:
    body = ok(await client.get("/analytics/revenue/daily", headers=auth(Role.ANALYST, "analyst-1")))
    shown = {(row["day"], row["currency"]): (row["orders"], Decimal(row["revenue"])) for row in body["data"]}
    want = expected_daily_revenue(seeded.everything)
    assert {key: value for key, value in shown.items() if value[0]} == want
    events = sum(len(h.events) for h in seeded.everything)
    assert body["meta"]["version"] == events
    day, currency = sorted(want)[3]
    one = ok(await client.get("/analytics/revenue/daily", params={"from": day, "to": day, "currency": currency},
                              headers=auth(Role.ANALYST, "analyst-1")))  # fmt: skip
    assert [(row["day"], row["currency"]) for row in one["data"]] == [(day, currency)]
    assert (one["data"][0]["orders"], Decimal(one["data"][0]["revenue"])) == want[(day, currency)]


async def test_top_skus_rank_net_units_with_and_without_a_day_range(
    seeded: Seeded, client: httpx.AsyncClient, auth: Auth
) -> None:
    headers = auth(Role.ANALYST, "analyst-1")
    body = ok(await client.get("/analytics/top-skus", params={"limit": 100}, headers=headers))
    want = expected_units(seeded.everything)
    assert {row["sku"]: row["quantity"] for row in body["data"]} == want
    quantities = [row["quantity"] for row in body["data"]]
    assert quantities == sorted(quantities, reverse=True)
    assert body["pagination"]["total"] == len(want)
    top3 = ok(await client.get("/analytics/top-skus", params={"limit": 3}, headers=headers))
    assert top3["data"] == body["data"][:3]
    first, last = "2025-03-03", "2025-03-09"
    ranged = ok(
        await client.get("/analytics/top-skus", params={"from": first, "to": last, "limit": 100}, headers=headers)
    )
    assert {row["sku"]: row["quantity"] for row in ranged["data"]} == expected_units(
        seeded.everything, first=first, last=last
    )
