"""The sink contract against every adapter: in memory, PostgreSQL (readdb), FerretDB (Mongo wire), Elasticsearch,
ClickHouse; plus what each store adds (indexes, mappings and search, materialized views)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from infra.stack import Stack
from streams.projections.analytics import AnalyticsProjection
from streams.projections.detail import DetailProjection
from streams.projections.lists import ListProjection
from streams.projections.search import SearchProjection
from streams.sandbox import remove
from streams.sink import Sink, Targets
from streams.sinks.clickhouse import ClickHouseTargets
from streams.sinks.elasticsearch import ElasticsearchTargets
from streams.sinks.mongo import MongoTargets
from streams.sinks.postgres import PostgresTargets
from tests.streams.conftest import cleanup, unique_settings
from tests.streams.fakes import MemoryTargets
from tests.streams.history import History, line, sample_histories
from tests.streams.sink_contract import SinkContract, puts_of


class TestMemorySink(SinkContract):
    projection = DetailProjection()

    @pytest.fixture
    def targets(self) -> Targets:
        return MemoryTargets()

    async def read_as_reader(self, targets: Targets, key: str) -> dict[str, Any] | None:
        assert isinstance(targets, MemoryTargets)
        assert targets.pointer is not None
        stored = targets.stores[targets.pointer].get(key)
        return stored.document if stored else None


@pytest.mark.stack
class TestPostgresSink(SinkContract):
    projection = ListProjection()

    @pytest.fixture
    async def targets(self, stack: Stack) -> AsyncIterator[Targets]:
        settings = unique_settings(stack)
        targets = PostgresTargets.connect(settings)
        yield targets
        await targets.close()
        await remove(settings, stores=["postgres"])

    async def read_as_reader(self, targets: Targets, key: str) -> dict[str, Any] | None:
        assert isinstance(targets, PostgresTargets)
        return await targets.read_view(key)


@pytest.mark.stack
class TestMongoSink(SinkContract):
    projection = DetailProjection()

    @pytest.fixture
    async def targets(self, stack: Stack) -> AsyncIterator[Targets]:
        settings = unique_settings(stack)
        targets = MongoTargets.connect(settings)
        yield targets
        await targets.close()
        await cleanup(settings)

    async def read_as_reader(self, targets: Targets, key: str) -> dict[str, Any] | None:
        assert isinstance(targets, MongoTargets)
        collection = await targets.active_collection()
        assert collection is not None
        return await collection.find_one({"_id": key})

    async def test_documents_are_found_by_id_without_secondary_indexes(self, targets: Targets) -> None:
        """Readers look documents up by `_id` only: lists are the `orders-list` projection's (PostgreSQL)."""
        assert isinstance(targets, MongoTargets)
        collection = await targets.active_collection() if await targets.ensure_active() else None
        assert collection is not None
        assert set(await collection.index_information()) == {"_id_"}


@pytest.mark.stack
class TestMongoBulkSink(TestMongoSink):
    """The same contract for a rebuild's target, which deletes and re-inserts changed documents."""

    @pytest.fixture
    async def sink(self, targets: Targets) -> Sink:
        assert isinstance(targets, MongoTargets)
        return targets.sink(await targets.ensure_active(), bulk=True)


@pytest.mark.stack
class TestElasticsearchSink(SinkContract):
    projection = SearchProjection()

    @pytest.fixture
    async def targets(self, stack: Stack) -> AsyncIterator[Targets]:
        settings = unique_settings(stack)
        targets = ElasticsearchTargets.connect(settings)
        self.alias = settings.search_alias
        yield targets
        await targets.close()
        await cleanup(settings)

    async def read_as_reader(self, targets: Targets, key: str) -> dict[str, Any] | None:
        assert isinstance(targets, ElasticsearchTargets)
        response = await targets.client.options(ignore_status=404).get(index=self.alias, id=key)
        return dict(response["_source"]) if response.get("found") else None

    async def test_full_text_on_item_names_and_skus_with_keyword_filters(self, sink: Sink, targets: Targets) -> None:
        assert isinstance(targets, ElasticsearchTargets)
        mug, kettle = History(customer_id="alice"), History(customer_id="bob", currency="USD")
        mug.created(line("MUG-BLUE-01", 2, "12.50", name="Blue ceramic mug"))
        kettle.created(line("KET-RED-07", 1, "49.00", name="Red electric kettle"))
        kettle.confirmed()
        sink.add(*puts_of(self.projection, mug), *puts_of(self.projection, kettle))
        await sink.flush()
        client = targets.client
        await client.indices.refresh(index=self.alias)

        async def ids(query: dict[str, Any], **kwargs: Any) -> list[str]:
            hits = (await client.search(index=self.alias, query=query, **kwargs))["hits"]["hits"]
            return [hit["_id"] for hit in hits]

        assert await ids({"match": {"items.name": "ceramic"}}) == [mug.order_id]
        assert await ids({"match": {"items.sku": "KET-RED"}}) == [kettle.order_id]
        assert await ids({"term": {"items.sku.keyword": "MUG-BLUE-01"}}) == [mug.order_id]
        filtered = {
            "bool": {"must": {"match": {"items.name": "mug kettle"}}, "filter": {"term": {"status": "confirmed"}}}
        }
        assert await ids(filtered) == [kettle.order_id]
        assert await ids({"term": {"customerId": "alice"}}) == [mug.order_id]
        assert await ids({"range": {"total": {"gte": 25, "lte": 25}}}) == [mug.order_id]
        assert await ids({"match_all": {}}, sort=[{"total": "desc"}]) == [kettle.order_id, mug.order_id]
        assert await ids({"match_all": {}}, sort=[{"totalCents": "asc"}]) == [mug.order_id, kettle.order_id]
        assert await ids({"range": {"createdAt": {"gte": "2025-03-01"}}}, sort=["createdAt"]) != []


@pytest.mark.stack
class TestClickHouseSink(SinkContract):
    projection = AnalyticsProjection()

    @pytest.fixture
    async def targets(self, stack: Stack) -> AsyncIterator[Targets]:
        settings = unique_settings(stack)
        targets = ClickHouseTargets.connect(settings)
        self.db = settings.clickhouse_database
        yield targets
        await targets.close()
        await cleanup(settings)

    async def read_as_reader(self, targets: Targets, key: str) -> dict[str, Any] | None:
        assert isinstance(targets, ClickHouseTargets)
        rows = await targets.query(
            f"SELECT aggregate_id, status FROM {self.db}.orders_latest WHERE aggregate_id = {{k:String}}", {"k": key}
        )
        return {"aggregate_id": rows[0][0], "status": rows[0][1]} if rows else None

    async def assert_no_duplicates(self, sink: Sink, histories: list[History]) -> None:
        assert isinstance(self._targets, ClickHouseTargets)
        (count,) = await self._targets.query(f"SELECT count() FROM {self.db}.order_events_v1")
        assert count[0] == sum(len(h.events) for h in histories)

    @pytest.fixture(autouse=True)
    def _keep(self, targets: Targets) -> None:
        self._targets = targets

    async def test_an_insert_whose_answer_was_lost_is_not_inserted_again_on_retry(
        self, sink: Sink, targets: Targets, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # The sink remembers the positions it wrote, so it skips asking the table; after a failed INSERT it must ask
        # again: the rows may have landed (a time-out after the server took them) and every row counts in the views.
        assert isinstance(targets, ClickHouseTargets)
        histories = [history for history in sample_histories(20, seed=11) if len(history.events) > 1]
        for history in histories:  # the orders' first events: the sink now knows a position of each
            sink.add(*puts_of(self.projection, history)[:1])
        await sink.flush()
        client = await targets._connected()
        real_insert = client.command  # a live sink inserts with one guarded `INSERT … SELECT` statement

        async def insert_then_lose_the_answer(*args: Any, **kwargs: Any) -> Any:
            result = await real_insert(*args, **kwargs)
            if str(args[0]).startswith("INSERT"):
                raise TimeoutError("the answer never came")
            return result

        monkeypatch.setattr(client, "command", insert_then_lose_the_answer)
        for history in histories:
            sink.add(*puts_of(self.projection, history))
        with pytest.raises(TimeoutError):
            await sink.flush()
        monkeypatch.setattr(client, "command", real_insert)
        await sink.flush()  # the retry: the same records, still buffered

        await self.assert_no_duplicates(sink, histories)

    async def test_a_restarted_worker_does_not_insert_what_the_table_has(self, sink: Sink, targets: Targets) -> None:
        histories = sample_histories(8, seed=12)
        for history in histories:
            sink.add(*puts_of(self.projection, history))
        await sink.flush()

        restarted = targets.sink(await targets.ensure_active())  # remembers nothing: it must ask the table
        for history in histories:
            restarted.add(*puts_of(self.projection, history))
        await restarted.flush()

        await self.assert_no_duplicates(sink, histories)

    async def test_views_sum_revenue_by_day_status_currency_and_skus(self, sink: Sink, targets: Targets) -> None:
        assert isinstance(targets, ClickHouseTargets)
        histories = sample_histories(40, seed=5)
        for history in histories:
            sink.add(*puts_of(self.projection, history))
        await sink.flush()
        for history in histories:  # a redelivered batch: must not count twice
            sink.add(*puts_of(self.projection, history))
        await sink.flush()
        expected: dict[tuple[str, str], tuple[int, Decimal]] = {}
        for h in histories:
            orders, revenue = expected.get((h.status.value, h.currency), (0, Decimal(0)))
            expected[(h.status.value, h.currency)] = (orders + 1, revenue + h.total)
        rows = await targets.query(
            f"SELECT status, currency, sum(orders), sum(revenue) FROM {self.db}.daily_revenue GROUP BY ALL"
        )
        assert {(s, c): (int(o), Decimal(r)) for s, c, o, r in rows} == expected
        skus: dict[tuple[str, str], int] = {}
        for h in histories:
            if h.status.value != "cancelled":
                for item in h.items:
                    skus[(item.sku, h.currency)] = skus.get((item.sku, h.currency), 0) + item.quantity
        rows = await targets.query(f"SELECT sku, currency, quantity FROM {self.db}.top_skus")
        assert {(s, c): int(q) for s, c, q in rows} == skus
        latest = await targets.query(f"SELECT count(), uniqExact(aggregate_id) FROM {self.db}.orders_latest")
        assert latest == [(40, 40)]
