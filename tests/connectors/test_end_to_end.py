"""The whole pipeline as deployed: commands over the writer's HTTP API → Postgres outbox → Debezium → `events.Order`
→ the streams worker (supervised Faust processes) → every read model shows exactly what the write model holds."""

from __future__ import annotations

import asyncio
import random

import httpx
import psycopg
import pytest

from cqrs.write_model import snapshot
from infra.stack import Stack
from streams.peek import Shown, shown
from streams.projections import PROJECTIONS
from streams.settings import StreamsSettings

pytestmark = pytest.mark.stack


def _item(n: int) -> dict[str, object]:
    return {"sku": f"E2E-{n % 7}", "name": f"Teapot no. {n}", "quantity": 1 + n % 3, "unitPrice": f"{3 + n % 5}.25"}


def _accepted(response: httpx.Response) -> dict[str, object]:
    assert response.status_code == 202, response.text
    return dict(response.json())


def tell_stories(api: httpx.Client, orders: int, seed: int) -> list[str]:
    """Each order lives a different life: lines added and removed, then confirmed, shipped, cancelled or left."""
    rng = random.Random(seed)
    ids = []
    for n in range(orders):
        created = _accepted(api.post("/commands/create-order", json={
            "customerId": f"customer-{n % 4}", "currency": rng.choice(["EUR", "USD"]), "items": [_item(n)],
        }))  # fmt: skip
        order_id = str(created["aggregateId"])
        ids.append(order_id)
        for extra in range(rng.randint(0, 3)):
            _accepted(api.post(f"/orders/{order_id}/items", json=_item(n + extra + 1)))
        fate = rng.choice(["confirm", "ship", "cancel", "leave"])
        if fate in ("confirm", "ship"):
            _accepted(api.post("/commands/confirm-order", json={"orderId": order_id}))
        if fate == "ship":
            _accepted(api.post("/commands/ship-order", json={"orderId": order_id}))
        if fate == "cancel":
            _accepted(api.post(f"/orders/{order_id}/cancel", json={"reason": "changed my mind"}))
    return ids


def remove_first_lines(api: httpx.Client, database_url: str, order_ids: list[str]) -> None:
    """Remove a line from the pending orders that have more than one, so removal travels the pipeline too."""
    with psycopg.connect(database_url) as db:
        rows = db.execute(
            "SELECT id::text, items FROM orders WHERE id::text = ANY(%s) AND status = 'pending'", (order_ids,)
        ).fetchall()
    for order_id, items in rows:
        if len(items) > 1:
            _accepted(api.delete(f"/orders/{order_id}/items/{items[0]['itemId']}"))


async def converged(settings: StreamsSettings, want: dict[str, Shown], within: float) -> dict[str, dict[str, Shown]]:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        seen = {name: await shown(settings, name, list(want)) for name in PROJECTIONS}
        if all(view == want for view in seen.values()) or asyncio.get_running_loop().time() > deadline:
            return seen
        await asyncio.sleep(0.5)


async def test_commands_over_http_arrive_in_every_read_model_as_the_write_model_holds_them(
    api: httpx.Client, pipeline: Stack
) -> None:
    database_url = f"postgresql://postgres@127.0.0.1:{pipeline.settings.ports.postgres}/orders"
    order_ids = tell_stories(api, orders=25, seed=7)
    remove_first_lines(api, database_url, order_ids)
    want = snapshot(database_url, order_ids)
    assert len(want) == 25

    seen = await converged(StreamsSettings(ports=pipeline.settings.ports), want, within=120)

    for name, view in seen.items():
        assert view == want, name
