"""Read-your-writes end to end: post a command to the writer, GET its `Location` from the read API, no client retry.

The projection runs live in this process on a sandbox that follows `events.Order`; the read API waits for the
projection's announcement (pub/sub), so the answer carries the version the command produced. With the projection
paused the answer comes back at the timeout, marked stale; strong reads need no projection at all; the cache serves
repeated reads and never an older version than asked for.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from infra.stack import Stack
from servicekit.principals import Role
from streams.contract import DETAIL, LIST
from tests.readapi.conftest import client_of, readapi_settings, running_app, token
from tests.readapi.helpers import ok
from tests.readapi.live import Live, live_pipeline

pytestmark = pytest.mark.stack
CHAINS, COMMANDS_PER_CHAIN = 10, 10


@pytest.fixture(scope="module")
async def live(stack: Stack, relay: Stack) -> AsyncIterator[Live]:
    # Detail and items read orders-mongo, lists orders-list: both project this test's commands.
    async with live_pipeline(stack, projections=(DETAIL, LIST)) as pipeline:
        yield pipeline


async def freshness_of_reads(
    live: Live, commands: int, read: Callable[[httpx.Response], Awaitable[bool]]
) -> list[bool]:
    """CHAINS orders, each taking `commands` commands in turn; after every 202, `read` says whether the answer it got
    showed that command's version (no client retry)."""
    fresh: list[bool] = []

    async def chain() -> None:
        order_id = ""
        for n in range(commands):
            accepted = await (live.add_item(order_id, n) if order_id else live.create())
            order_id = accepted.json()["aggregateId"]
            fresh.append(await read(accepted))

    await asyncio.gather(*(chain() for _ in range(CHAINS)))
    return fresh


async def test_location_answers_with_the_commands_version(live: Live) -> None:
    async def location(accepted: httpx.Response) -> bool:
        body = ok(await live.reader.get(accepted.headers["location"]))  # as is: /orders/{id}?minVersion={v}
        return bool(body["data"]["version"] >= accepted.json()["version"] and body["meta"]["stale"] is False)

    fresh = await freshness_of_reads(live, COMMANDS_PER_CHAIN, location)
    assert len(fresh) == CHAINS * COMMANDS_PER_CHAIN
    assert sum(fresh) >= 0.99 * len(fresh), f"{len(fresh) - sum(fresh)} of {len(fresh)} answers were older"


async def test_a_list_read_with_the_commands_version_shows_the_change(live: Live) -> None:
    # Lists read orders-list (readdb): after a 202, `minVersion`/`minVersionOf` make the list wait for that order's
    # version, so the row in the list has it, with no client retry (the issue asks for 99% of 200 tries).
    async def listed(accepted: httpx.Response) -> bool:
        order_id, version = accepted.json()["aggregateId"], accepted.json()["version"]
        waits = {"customerId": live.customer, "minVersion": version, "minVersionOf": order_id, "limit": 100}
        body = ok(await live.reader.get("/orders", params=waits))
        versions = {row["orderId"]: row["version"] for row in body["data"]}
        return bool(versions.get(order_id, 0) >= version and body["meta"]["stale"] is False)

    fresh = await freshness_of_reads(live, COMMANDS_PER_CHAIN * 2, listed)
    assert len(fresh) == 200
    assert sum(fresh) >= 0.99 * len(fresh), f"{len(fresh) - sum(fresh)} of {len(fresh)} lists were older"


async def test_with_the_projection_paused_the_answer_is_stale_at_the_timeout(live: Live) -> None:
    created = await live.create()
    order_id = created.json()["aggregateId"]
    ok(await live.reader.get(created.headers["location"]))
    await live.pause()
    try:
        changed = await live.add_item(order_id, 1)
        started = time.perf_counter()
        body = ok(await live.reader.get(changed.headers["location"] + "&timeout=0.5"))
        waited = time.perf_counter() - started
        assert body["meta"]["stale"] is True
        assert body["data"]["version"] == body["meta"]["version"] == 1
        assert 0.5 <= waited < 1.5
        # The write model's own summary is current whatever the projection does.
        strong = ok(await live.reader.get(f"/orders/{order_id}", params={"consistency": "strong"}))
        assert strong["data"]["version"] == 2
        assert strong["data"]["itemCount"] == 2
        assert strong["meta"]["stale"] is False
    finally:
        await live.resume()
    # Resumed: the same Location is answered fresh, woken by the announcement.
    body = ok(await live.reader.get(changed.headers["location"]))
    assert body["data"]["version"] == 2
    assert body["meta"]["stale"] is False


async def test_second_read_is_cached_and_a_new_version_is_never_hidden_by_it(live: Live) -> None:
    created = await live.create()
    order_id = created.json()["aggregateId"]
    first = ok(await live.reader.get(created.headers["location"]))
    second = ok(await live.reader.get(f"/orders/{order_id}"))
    assert (first["meta"]["cached"], second["meta"]["cached"]) == (False, True)
    assert second["data"] == first["data"]
    changed = await live.add_item(order_id, 7)
    after = ok(await live.reader.get(changed.headers["location"]))
    assert after["data"]["version"] == 2
    assert after["meta"]["cached"] is False
    assert [line["sku"] for line in after["data"]["items"]] == ["RW-1", "RW-7"]
    assert ok(await live.reader.get(f"/orders/{order_id}"))["meta"]["cached"] is True

    # The list: cached until the projection moves; read-your-writes with minVersion + minVersionOf.
    params = {"customerId": live.customer, "sort": "createdAt:desc"}
    listed = [ok(await live.reader.get("/orders", params=params)) for _ in range(2)]
    assert [body["meta"]["cached"] for body in listed] == [False, True]
    third = await live.add_item(order_id, 8)
    wait_for = {"minVersion": str(third.json()["version"]), "minVersionOf": order_id}
    relisted = ok(await live.reader.get("/orders", params=params | wait_for))
    assert relisted["meta"]["cached"] is False
    assert relisted["meta"]["stale"] is False
    assert relisted["meta"]["version"] > listed[0]["meta"]["version"]
    shown = next(order for order in relisted["data"] if order["orderId"] == order_id)
    assert shown["version"] == 3


async def test_a_customer_waiting_on_someone_elses_order_gets_404_at_once(live: Live) -> None:
    """Ownership is checked before the wait: no waiter is held, and the timing does not tell the order exists."""
    created = await live.create()
    order_id = created.json()["aggregateId"]
    ok(await live.reader.get(created.headers["location"]))
    await live.pause()
    try:
        changed = await live.add_item(order_id, 1)
        mallory = {"Authorization": f"Bearer {token(Role.CUSTOMER, 'mallory')}"}
        waits = {"minVersion": str(changed.json()["version"]), "timeout": "2"}
        for path, params in (
            (f"/orders/{order_id}", waits),
            (f"/orders/{order_id}/items", waits),
            ("/orders", waits | {"minVersionOf": order_id}),
            ("/orders/no-such-order", waits),
        ):
            started = time.perf_counter()
            response = await live.reader.get(path, params=params, headers=mallory)
            assert response.status_code == 404, (path, response.text)
            assert time.perf_counter() - started < 0.5, f"{path} waited before refusing"
        # The owner still waits for their own order, and gets it once the projection has applied it.
        owner = {"Authorization": f"Bearer {token(Role.CUSTOMER, live.customer)}"}
        pending = asyncio.create_task(live.reader.get(changed.headers["location"], headers=owner))
        await asyncio.sleep(0.2)
        assert not pending.done()
    finally:
        await live.resume()
    body = ok(await pending)
    assert body["data"]["version"] == 2
    assert body["meta"]["stale"] is False


async def test_waiters_beyond_the_limit_get_503_with_retry_after(live: Live) -> None:
    created = await live.create()
    order_id = created.json()["aggregateId"]
    ok(await live.reader.get(created.headers["location"]))
    await live.pause()
    try:
        async for application in running_app(readapi_settings(live.streams, max_waiters=2)):
            async with client_of(application) as reader:
                reader.headers.update(live.reader.headers)
                waits = {"minVersion": "2", "timeout": "1"}
                held = [asyncio.create_task(reader.get(f"/orders/{order_id}", params=waits)) for _ in range(2)]
                await asyncio.sleep(0.2)
                started = time.perf_counter()
                refused = await reader.get(f"/orders/{order_id}", params=waits)
                assert time.perf_counter() - started < 0.5
                assert refused.status_code == 503
                assert refused.headers["content-type"] == "application/problem+json"
                assert int(refused.headers["retry-after"]) >= 1
                assert all(ok(response)["meta"]["stale"] is True for response in await asyncio.gather(*held))
                # The slots are free again once the waits are over.
                assert (await reader.get(f"/orders/{order_id}", params=waits | {"timeout": "0.1"})).status_code == 200
    finally:
        await live.resume()
