"""The read API's port contracts against the real stores, filled by the real projections (the `seeded` sandbox) and,
for the sync projection, rows in `order_summary` of a private write-model database migrated like the writer's."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import psycopg
import pytest
from redis.asyncio import Redis

from infra.services.postgres import dsn
from infra.stack import Stack
from readapi.freshness import CheckpointMirror
from readapi.settings import ReadApiSettings
from readapi.stores.analytics import ClickHouseAnalytics
from readapi.stores.lists import PostgresOrderLists
from readapi.stores.mongo import MongoOrderViews
from readapi.stores.search import ElasticsearchOrderSearch
from readapi.stores.summaries import PostgresOrderSummaries
from tests.readapi.conftest import readapi_settings
from tests.readapi.ports_contract import (
    AnalyticsContract,
    FedOrders,
    FreshnessContract,
    OrderListsContract,
    OrderSearchContract,
    OrderSummariesContract,
    OrderViewsContract,
    summary_histories,
)
from tests.readapi.seed import Seeded
from tests.streams.history import History
from writer.migrate import migrate

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def fed_orders(seeded: Seeded) -> FedOrders:
    return FedOrders(seeded.histories, seeded.search)


@pytest.fixture(scope="module")
def settings(seeded: Seeded) -> ReadApiSettings:
    return readapi_settings(seeded.streams)


class TestMongoOrderViews(OrderViewsContract):
    @pytest.fixture
    async def views(self, settings: ReadApiSettings) -> AsyncIterator[MongoOrderViews]:
        views = MongoOrderViews.connect(
            settings.streams, pointer_ttl_s=settings.pointer_ttl_s, timeout_s=settings.store_timeout_s
        )
        yield views
        await views.close()

    @pytest.fixture
    def fed(self, fed_orders: FedOrders) -> FedOrders:
        return fed_orders


class TestPostgresOrderLists(OrderListsContract):
    @pytest.fixture
    async def lists(self, settings: ReadApiSettings) -> AsyncIterator[PostgresOrderLists]:
        lists = PostgresOrderLists.create(settings.streams, timeout_s=settings.store_timeout_s)
        await lists.open()
        yield lists
        await lists.close()

    @pytest.fixture
    def fed(self, fed_orders: FedOrders) -> FedOrders:
        return fed_orders


class TestElasticsearchOrderSearch(OrderSearchContract):
    @pytest.fixture
    async def search(self, settings: ReadApiSettings) -> AsyncIterator[ElasticsearchOrderSearch]:
        search = ElasticsearchOrderSearch.connect(settings.streams, timeout_s=settings.store_timeout_s)
        yield search
        await search.close()

    @pytest.fixture
    def fed(self, fed_orders: FedOrders) -> FedOrders:
        return fed_orders


class TestClickHouseAnalytics(AnalyticsContract):
    @pytest.fixture
    async def analytics(self, settings: ReadApiSettings) -> AsyncIterator[ClickHouseAnalytics]:
        analytics = ClickHouseAnalytics(
            settings.streams,
            user=settings.clickhouse_user,
            password=settings.clickhouse_password.get_secret_value(),
            timeout_s=settings.store_timeout_s,
        )
        yield analytics
        await analytics.close()

    @pytest.fixture
    def fed(self, fed_orders: FedOrders) -> FedOrders:
        return fed_orders


class TestCheckpointMirror(FreshnessContract):
    @pytest.fixture
    async def freshness(self, settings: ReadApiSettings) -> AsyncIterator[CheckpointMirror]:
        redis = Redis.from_url(settings.streams.redis_url)
        yield CheckpointMirror(redis, settings.streams.redis_prefix)
        await redis.aclose()

    @pytest.fixture
    def fed(self, fed_orders: FedOrders) -> FedOrders:
        return fed_orders


SUMMARY_DATABASE = f"readapi_test_{os.getpid()}"
_INSERT_SUMMARY = """
INSERT INTO order_summary (id, customer_id, status, currency, total, item_count, version, updated_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
"""


@pytest.fixture(scope="module")
def summarized_histories() -> list[History]:
    return summary_histories()


@pytest.fixture(scope="module")
def summary_database(stack: Stack, summarized_histories: list[History]) -> Iterator[str]:
    """A write-model database of this run holding the rows the writer's transactions would have left in
    `order_summary` for `summarized_histories`."""
    port = stack.settings.ports.postgres
    with psycopg.connect(dsn(port, "postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{SUMMARY_DATABASE}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{SUMMARY_DATABASE}"')
    url = f"postgresql://postgres@127.0.0.1:{port}/{SUMMARY_DATABASE}"
    try:
        migrate(url)
        with psycopg.connect(url, autocommit=True) as conn:
            for h in summarized_histories:
                row = (h.order_id, h.customer_id, h.status.value, h.currency, h.total, len(h.items), h.version)
                conn.execute(_INSERT_SUMMARY, (*row, h.events[-1].timestamp))
        yield url
    finally:
        with psycopg.connect(dsn(port, "postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{SUMMARY_DATABASE}" WITH (FORCE)')


class TestPostgresOrderSummaries(OrderSummariesContract):
    @pytest.fixture
    async def summaries(self, summary_database: str) -> AsyncIterator[PostgresOrderSummaries]:
        summaries = PostgresOrderSummaries.create(summary_database, timeout_s=5.0)
        await summaries.open()
        yield summaries
        await summaries.close()

    @pytest.fixture
    def summarized(self, summarized_histories: list[History]) -> list[History]:
        return summarized_histories
