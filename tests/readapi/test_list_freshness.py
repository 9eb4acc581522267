"""The list read model while things happen: read-your-writes on lists (after a command's 202, a list read with
`minVersion` shows the change), and a rebuild of `orders-list` with readers running (no failed read, and every
answer is a whole generation: the switch is atomic)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from infra.stack import Stack
from servicekit.principals import Role
from streams.contract import LIST
from streams.rebuild import rebuild
from streams.sandbox import remove
from streams.settings import StreamsSettings
from streams.sinks.postgres import PostgresTargets
from tests.readapi.conftest import client_of, readapi_settings, running_app, token
from tests.readapi.helpers import ok
from tests.readapi.live import Live, live_pipeline
from tests.readapi.seed import varied_histories
from tests.servers import relayed_writer
from tests.streams.conftest import create_topics, unique_settings
from tests.streams.pipeline import produce, run_until_caught_up

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def writer_url(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A writer of this checkout on a port of its own (not the stack's app: no pid file), on the stack's write model,
    which the registered connector relays; this test registers nothing and skips when the connector is not running."""
    with relayed_writer(stack.settings, tmp_path_factory.mktemp("writer")) as url:
        yield url


@pytest.fixture(scope="module")
async def live(stack: Stack, writer_url: str) -> AsyncIterator[Live]:
    """Commands to this test's writer, relayed by the stack's connector; the list projection live in-process."""
    async with live_pipeline(stack, projections=(LIST,), writer_url=writer_url) as pipeline:
        yield pipeline


async def test_a_list_read_with_min_version_shows_the_commands_change(live: Live) -> None:
    params = {"customerId": live.customer, "sort": "updatedAt:desc"}
    for _ in range(5):
        created = await live.create()
        order_id, version = created.json()["aggregateId"], created.json()["version"]
        body = ok(await live.reader.get("/orders", params={**params, "minVersion": version, "minVersionOf": order_id}))
        assert body["meta"]["stale"] is False
        assert body["data"][0]["orderId"] == order_id
        changed = await live.add_item(order_id, 2)
        version = changed.json()["version"]
        body = ok(await live.reader.get("/orders", params={**params, "minVersion": version, "minVersionOf": order_id}))
        assert body["meta"]["stale"] is False
        shown = next(order for order in body["data"] if order["orderId"] == order_id)
        assert (shown["version"], shown["itemCount"]) == (version, 2)


async def test_a_rebuild_with_readers_running_fails_no_read_and_switches_at_once(stack: Stack) -> None:
    streams = unique_settings(stack)
    histories = varied_histories(300, seed=9)
    await create_topics(streams)
    try:
        await produce(streams, [event for history in histories for event in history.events])
        await run_until_caught_up(streams, LIST)
        async for app in running_app(readapi_settings(streams)):
            async with client_of(app) as client:
                client.headers.update({"Authorization": f"Bearer {token(Role.STAFF)}", "Cache-Control": "no-cache"})
                await _rebuild_while_reading(client, streams, len(histories))
    finally:
        await remove(streams, stores=["postgres"])  # the only store this test's projection wrote


async def _rebuild_while_reading(client: httpx.AsyncClient, streams: StreamsSettings, orders: int) -> None:
    expected = ok(await client.get("/orders", params={"limit": 100, "sort": "total:desc"}))["data"]
    done = asyncio.Event()
    answers: list[tuple[int, int, list[str]]] = []

    async def reader() -> None:
        while not done.is_set():
            response = await client.get("/orders", params={"limit": 100, "sort": "total:desc"})
            body = response.json()
            ids = [order["orderId"] for order in body.get("data", [])]
            answers.append((response.status_code, body.get("pagination", {}).get("total", -1), ids))
            await asyncio.sleep(0.005)

    readers = [asyncio.create_task(reader()) for _ in range(4)]
    try:
        result = await rebuild(streams, LIST)
        await asyncio.sleep(0.3)
    finally:
        done.set()
        await asyncio.gather(*readers)
    assert (result.previous, result.generation) == (1, 2)
    targets = PostgresTargets.connect(streams)
    try:
        assert await targets.active() == 2
    finally:
        await targets.close()
    assert len(answers) > 20
    assert {status for status, _, _ in answers} == {200}
    # Every answer is a whole generation: the old one or the rebuilt one, never a half-filled table.
    assert {total for _, total, _ in answers} == {orders}
    assert {tuple(ids) for _, _, ids in answers} == {tuple(order["orderId"] for order in expected)}
