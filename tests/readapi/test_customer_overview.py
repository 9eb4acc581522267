"""`GET /customers/{id}/overview` on the whole pipeline: commands to the stack's writer, relayed by Debezium, projected
live (list and analytics) into a sandbox; every part's figures equal those computed from the write model, and a
store that cannot answer (refused, or hung past the part's deadline) leaves a partial answer naming it."""

from __future__ import annotations

import asyncio
import socket
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from infra.services.postgres import dsn
from infra.stack import Stack
from readapi.api.services import Services
from servicekit.principals import Role
from streams.contract import ANALYTICS, LIST
from tests.readapi.conftest import client_of, readapi_settings, running_app, token
from tests.readapi.helpers import assert_problem
from tests.readapi.live import Live, live_pipeline

pytestmark = pytest.mark.stack
PARTS = {"recentOrders", "openOrders", "lifetimeTotals", "topSkus"}


@pytest.fixture(scope="module")
async def live(stack: Stack, relay: Stack) -> AsyncIterator[Live]:
    async with live_pipeline(stack, projections=(LIST, ANALYTICS)) as pipeline:
        yield pipeline


@pytest.fixture(scope="module")
async def customer(live: Live) -> str:
    """One customer's history over two currencies: lines added and removed, orders confirmed, shipped, cancelled."""
    versions: dict[str, int] = {}
    for n, currency in enumerate(["EUR", "EUR", "USD", "EUR", "USD", "EUR"]):
        items = [
            {"sku": f"OV-{n % 3}", "name": "Overview mug", "quantity": n + 1, "unitPrice": "2.50"},
            {"sku": "OV-X", "name": "Overview pot", "quantity": 1, "unitPrice": "10.00"},
        ]
        order = (await live.create(currency=currency, items=items)).json()
        versions[order["aggregateId"]] = order["version"]
    first, second, third, fourth, *_ = versions  # the others stay pending
    steps = [
        (first, "confirm", {}),
        (second, "cancel", {"reason": "changed my mind"}),
        (third, "confirm", {}),
        (third, "ship", {}),
        (fourth, "items", {"sku": "OV-9", "name": "Extra", "quantity": 4, "unitPrice": "1.25"}),
    ]
    for order_id, action, body in steps:
        accepted = await live.writer.post(f"/orders/{order_id}/{action}", json=body)
        assert accepted.status_code == 202, accepted.text
        versions[order_id] = accepted.json()["version"]
    await _applied(live, versions)
    return live.customer


async def _applied(live: Live, versions: dict[str, int], deadline_s: float = 20.0) -> None:
    """Until both projections announce every order at its last version (the mirror their flushes write)."""
    services: Services = live.app.state.services
    deadline = time.monotonic() + deadline_s
    for projection in (LIST, ANALYTICS):
        for order_id, version in versions.items():
            while (await services.mirror.applied_version(projection, order_id) or 0) < version:
                assert time.monotonic() < deadline, f"{projection} did not apply {order_id} v{version}"
                await asyncio.sleep(0.1)


def _write_model(stack: Stack, customer_id: str) -> dict[str, Any]:
    """The overview's figures from the `orders` table of the write model."""
    with psycopg.connect(dsn(stack.settings.ports.postgres, "orders"), row_factory=dict_row) as connection:
        orders = connection.execute(
            "SELECT id::text AS id, status, currency, total, items FROM orders WHERE customer_id = %s "
            "ORDER BY created_at DESC, id DESC",
            [customer_id],
        ).fetchall()
    totals: dict[str, dict[str, Any]] = defaultdict(lambda: {"orders": 0, "revenue": Decimal(0), "cancelled": 0})
    units: dict[str, int] = defaultdict(int)
    revenue: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for order in orders:
        figures = totals[order["currency"]]
        if order["status"] == "cancelled":
            figures["cancelled"] += 1
            continue
        figures["orders"] += 1
        figures["revenue"] += order["total"]
        for line in order["items"]:
            units[line["sku"]] += int(line["quantity"])
            revenue[line["sku"]][order["currency"]] += int(line["quantity"]) * Decimal(str(line["unitPrice"]))
    ranked = sorted(units, key=lambda sku: (-units[sku], sku))
    return {
        "recentOrders": [order["id"] for order in orders],
        "openOrders": sum(order["status"] in ("pending", "confirmed") for order in orders),
        "lifetimeTotals": [
            {"currency": cur, "orders": f["orders"], "revenue": f"{f['revenue']:.2f}", "cancelled": f["cancelled"]}
            for cur, f in sorted(totals.items())
        ],
        "topSkus": [
            {"sku": sku, "quantity": units[sku], "revenue": {c: f"{a:.2f}" for c, a in sorted(revenue[sku].items())}}
            for sku in ranked
        ],
    }


def _customer(customer_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(Role.CUSTOMER, customer_id)}"}


async def test_every_part_equals_the_write_models_figures(stack: Stack, live: Live, customer: str) -> None:
    response = await live.reader.get(f"/customers/{customer}/overview", params={"recent": 20, "top": 20})
    assert response.status_code == 200, response.text
    body = response.json()
    data, meta = body["data"], body["meta"]
    expected = _write_model(stack, customer)
    assert [order["orderId"] for order in data["recentOrders"]] == expected["recentOrders"]
    assert {order["customerId"] for order in data["recentOrders"]} == {customer}
    assert data["openOrders"] == expected["openOrders"] == 4
    assert data["lifetimeTotals"] == expected["lifetimeTotals"]
    assert data["topSkus"] == expected["topSkus"]
    assert meta["partial"] is False
    assert set(meta["parts"]) == PARTS
    for name, part in meta["parts"].items():
        assert part["source"] == ("readdb" if name in ("recentOrders", "openOrders") else "clickhouse")
        assert part["version"] > 0
        assert part["lastUpdated"] is not None
        assert "error" not in part
    assert body["pagination"] is None


async def test_recent_and_top_are_bounded_by_the_query(live: Live, customer: str) -> None:
    response = await live.reader.get(f"/customers/{customer}/overview", params={"recent": 2, "top": 1})
    data = response.json()["data"]
    assert (len(data["recentOrders"]), len(data["topSkus"])) == (2, 1)


async def test_a_customer_sees_their_own_overview_and_no_one_elses(live: Live, customer: str) -> None:
    own = await live.reader.get(f"/customers/{customer}/overview", headers=_customer(customer))
    assert own.status_code == 200
    assert own.json()["data"]["customerId"] == customer
    other = await live.reader.get(f"/customers/{customer}/overview", headers=_customer("someone-else"))
    assert_problem(other, 403)
    analyst = await live.reader.get(
        f"/customers/{customer}/overview", headers={"Authorization": f"Bearer {token(Role.ANALYST)}"}
    )
    assert_problem(analyst, 403)


@pytest.fixture
def hung_port() -> Iterator[int]:
    """A port that accepts connections and never answers: a store that hangs."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield server.getsockname()[1]


async def _overview_with_clickhouse_at(live: Live, port: int, customer: str, **params: str) -> httpx.Response:
    streams = live.streams.model_copy(update={"ports": live.streams.ports.model_copy(update={"clickhouse": port})})
    settings = readapi_settings(streams, overview_part_timeout_s=0.5)
    async for application in running_app(settings):
        async with client_of(application) as reader:
            reader.headers.update(live.reader.headers)
            return await reader.get(f"/customers/{customer}/overview", params=params)
    raise AssertionError("the app did not start")


async def test_a_hung_store_leaves_its_parts_out_and_the_rest_answers(
    live: Live, customer: str, hung_port: int
) -> None:
    started = time.monotonic()
    response = await _overview_with_clickhouse_at(live, hung_port, customer)
    assert time.monotonic() - started < 5, "the parts are fetched concurrently, each within its deadline"
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["meta"]["partial"] is True
    parts = body["meta"]["parts"]
    for name in ("lifetimeTotals", "topSkus"):
        assert body["data"][name] is None
        assert parts[name]["error"]["reason"] == "timeout"
        assert "clickhouse" in parts[name]["error"]["detail"]
    assert len(body["data"]["recentOrders"]) == 5
    assert body["data"]["openOrders"] == 4
    assert "error" not in parts["recentOrders"]
    assert "error" not in parts["openOrders"]


async def test_require_all_turns_a_missing_part_into_503_naming_it(live: Live, customer: str) -> None:
    with socket.socket() as probe:  # a port nothing listens on: the store refuses at once
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    partial = await _overview_with_clickhouse_at(live, closed, customer)
    assert partial.status_code == 200
    assert partial.json()["meta"]["parts"]["topSkus"]["error"]["reason"] == "unavailable"
    refused = await _overview_with_clickhouse_at(live, closed, customer, require="all")
    problem = assert_problem(refused, 503)
    assert sorted(problem["missingParts"]) == ["lifetimeTotals", "topSkus"]
    assert "clickhouse" in problem["detail"]
