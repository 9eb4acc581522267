"""Rebuild while readers keep reading: a new generation is filled from offset 0 aside, readers switch in one step
and never see an error or an empty result, the live worker follows the switch, and new events land in the new
generation. Run for each projection."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
import pytest
from psycopg import sql

from streams.contract import LIST_VIEW
from streams.peek import shown
from streams.projections import PROJECTIONS
from streams.rebuild import RebuildProgress, rebuild
from streams.settings import StreamsSettings
from streams.sinks.clickhouse import ClickHouseTargets
from streams.sinks.elasticsearch import ElasticsearchTargets
from streams.sinks.mongo import MongoTargets
from streams.sinks.postgres import PostgresTargets
from tests.streams.history import History, line
from tests.streams.pipeline import Background, preload, produce, run_until_caught_up, until
from tests.streams.read_models import expected

pytestmark = pytest.mark.stack


class Reader:
    """Reads the read model the way the read API does, as fast as it can, and remembers every failure."""

    def __init__(self, settings: StreamsSettings, name: str, known: str) -> None:
        self.settings, self.name, self.known = settings, name, known
        self.reads = 0
        self.connection: psycopg.AsyncConnection[Any]
        self.failures: list[str] = []
        self._stop = asyncio.Event()

    async def run(self) -> None:
        read = self._read_of_projection()
        while not self._stop.is_set():
            try:
                found, listed = await read()
                if not found or not listed:
                    self.failures.append(f"empty result (order found: {found}, list size: {listed})")
            except Exception as error:
                self.failures.append(repr(error))
            self.reads += 1
            await asyncio.sleep(0)

    def stop(self) -> None:
        self._stop.set()

    def _read_of_projection(self) -> Callable[[], Awaitable[tuple[bool, int]]]:
        reads = {
            "orders-mongo": self._mongo,
            "orders-search": self._search,
            "orders-analytics": self._analytics,
            "orders-list": self._lists,
        }
        return reads[self.name]

    async def _lists(self) -> tuple[bool, int]:
        one = await self.lists.read_view(self.known)
        view = sql.Identifier(self.settings.list_schema, LIST_VIEW)
        query = sql.SQL("SELECT id FROM {} WHERE customer_id = %s ORDER BY created_at DESC, id DESC LIMIT 20")
        cursor = await self.connection.execute(query.format(view), ("customer-3",))
        return one is not None, len(await cursor.fetchall())

    async def _mongo(self) -> tuple[bool, int]:
        collection = await self.mongo.active_collection()
        assert collection is not None
        one = await collection.find_one({"_id": self.known})
        page = [d async for d in collection.find({"customerId": "customer-3"}).sort("createdAt", -1).limit(20)]
        return one is not None, len(page)

    async def _search(self) -> tuple[bool, int]:
        client = self.search.client
        alias = self.settings.search_alias
        one = await client.options(ignore_status=404).get(index=alias, id=self.known)
        hits = await client.search(index=alias, query={"match": {"items.name": "product"}}, size=20)
        return bool(one.get("found")), len(hits["hits"]["hits"])

    async def _analytics(self) -> tuple[bool, int]:
        db = self.settings.clickhouse_database
        one = await self.clickhouse.query(
            f"SELECT version FROM {db}.orders_latest WHERE aggregate_id = {{id:String}}", {"id": self.known}
        )
        daily = await self.clickhouse.query(f"SELECT * FROM {db}.daily_revenue")
        return bool(one), len(daily)

    async def __aenter__(self) -> Reader:
        self.mongo = MongoTargets.connect(self.settings)
        self.search = ElasticsearchTargets.connect(self.settings)
        self.clickhouse = ClickHouseTargets.connect(self.settings)
        self.lists = PostgresTargets.connect(self.settings)
        self.connection = await psycopg.AsyncConnection.connect(self.settings.readdb_url, autocommit=True)
        await self._baseline()
        self.task = asyncio.create_task(self.run())
        return self

    async def _baseline(self) -> None:
        """Start counting once the reader sees the current generation's data: Elasticsearch search is near real
        time (documents become searchable at the next refresh, within `refresh_interval`), and what this test
        proves is that the rebuild and its switch never take anything away."""
        read = self._read_of_projection()

        async def sees_data() -> bool:
            found, listed = await read()
            return found and listed > 0

        await until(sees_data, within=30)

    async def __aexit__(self, *exc: object) -> None:
        self.stop()
        await self.task
        for targets in (self.mongo, self.search, self.clickhouse, self.lists):
            await targets.close()
        await self.connection.close()


@pytest.mark.parametrize("name", list(PROJECTIONS))
async def test_rebuild_while_a_reader_loops_never_shows_an_error_or_an_empty_result(
    settings: StreamsSettings, name: str
) -> None:
    loaded = await preload(settings, 300, seed=4)
    histories = loaded.histories
    await run_until_caught_up(settings, name)
    live = Background(settings, name)
    await live.start()
    progress: list[RebuildProgress] = []
    try:
        async with Reader(settings, name, histories[0].order_id) as reader:
            await asyncio.sleep(0.5)
            # Events keep arriving while the rebuild runs; both generations take them.
            during = [History(customer_id="customer-3") for _ in range(20)]
            arriving = asyncio.create_task(produce(settings, [h.created(line("NEW")) for h in during]))
            result = await rebuild(settings, name, progress=progress.append)
            await arriving
            reads_at_switch = reader.reads
            await until(lambda: _set(live.worker.retired), within=30)  # type: ignore[union-attr]
            await asyncio.sleep(0.5)
        assert reader.failures == []
        assert reads_at_switch > 10
        assert reader.reads > reads_at_switch
    finally:
        await live.stop()
    assert (result.previous, result.generation) == (1, 2)
    assert result.events >= len(loaded.events)
    assert result.parked == 0
    assert progress
    assert progress[-1].events == result.events
    # The live worker restarts on generation 2 and continues where the rebuild stopped.
    restarted = Background(settings, name)
    worker = await restarted.start()
    try:
        assert worker.generation == 2
        later = History(customer_id="customer-3")
        await produce(settings, [later.created(line("LATE")), later.confirmed()])
        every = [*histories, *during, later]

        async def all_shown() -> bool:
            return await shown(settings, name, [h.order_id for h in every]) == {h.order_id: expected(h) for h in every}

        await until(all_shown, within=120)
    finally:
        await restarted.stop()


async def _set(event: asyncio.Event) -> bool:
    return event.is_set()
