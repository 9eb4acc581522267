"""The read API's port contracts against the in-memory adapters (`readapi.stores.memory`): no stack needed."""

from __future__ import annotations

from dataclasses import replace

import pytest

from readapi.ports import Freshness
from readapi.stores.memory import (
    InMemoryAnalytics,
    InMemoryOrderSearch,
    InMemoryOrderSummaries,
    InMemoryOrderViews,
    InMemoryReadModels,
)
from tests.readapi.ports_contract import (
    AnalyticsContract,
    FedOrders,
    FreshnessContract,
    OrderListsContract,
    OrderSearchContract,
    OrderSummariesContract,
    OrderViewsContract,
    expected_detail,
    summary_histories,
)
from tests.readapi.seed import search_histories, varied_histories
from tests.streams.history import History, with_position


def fed_with(histories: list[History]) -> InMemoryReadModels:
    models = InMemoryReadModels()
    for history in histories:
        for event in history.events:
            models.apply(event)
    return models


@pytest.fixture(scope="module")
def memory_orders() -> FedOrders:
    return FedOrders(varied_histories(64), search_histories())


@pytest.fixture(scope="module")
def memory_models(memory_orders: FedOrders) -> InMemoryReadModels:
    return fed_with(memory_orders.everything)


class TestInMemoryOrderViews(OrderViewsContract):
    @pytest.fixture
    def views(self, memory_models: InMemoryReadModels) -> InMemoryOrderViews:
        return memory_models.views

    @pytest.fixture
    def fed(self, memory_orders: FedOrders) -> FedOrders:
        return memory_orders


class TestInMemoryOrderLists(OrderListsContract):
    @pytest.fixture
    def lists(self, memory_models: InMemoryReadModels) -> InMemoryOrderViews:
        return memory_models.views

    @pytest.fixture
    def fed(self, memory_orders: FedOrders) -> FedOrders:
        return memory_orders


class TestInMemoryOrderSearch(OrderSearchContract):
    @pytest.fixture
    def search(self, memory_models: InMemoryReadModels) -> InMemoryOrderSearch:
        return memory_models.search

    @pytest.fixture
    def fed(self, memory_orders: FedOrders) -> FedOrders:
        return memory_orders


class TestInMemoryAnalytics(AnalyticsContract):
    @pytest.fixture
    def analytics(self, memory_models: InMemoryReadModels) -> InMemoryAnalytics:
        return memory_models.analytics

    @pytest.fixture
    def fed(self, memory_orders: FedOrders) -> FedOrders:
        return memory_orders


class TestInMemoryFreshness(FreshnessContract):
    @pytest.fixture
    def freshness(self, memory_models: InMemoryReadModels) -> Freshness:
        return memory_models.freshness

    @pytest.fixture
    def fed(self, memory_orders: FedOrders) -> FedOrders:
        return memory_orders


class TestInMemoryOrderSummaries(OrderSummariesContract):
    @pytest.fixture
    def summarized(self) -> list[History]:
        return summary_histories()

    @pytest.fixture
    def summaries(self, summarized: list[History]) -> InMemoryOrderSummaries:
        return fed_with(summarized).summaries


# What only the in-memory adapter has to say: how it takes its events.


async def test_a_redelivered_event_changes_nothing_but_the_position() -> None:
    history = summary_histories()[1]
    models = fed_with([history])
    models.apply(history.events[1])
    assert await models.views.get(history.order_id) == expected_detail(history)
    assert (await models.freshness.position("orders-mongo")).position == len(history.events) + 1


def test_a_gap_in_an_orders_versions_is_refused() -> None:
    history = summary_histories()[3]
    models = fed_with([history])
    with pytest.raises(ValueError, match="version"):
        models.apply(with_position(history.events[-1], history.version + 2))
    with pytest.raises(ValueError, match="before OrderCreated"):
        models.apply(replace(history.events[-1], aggregate_id="order-never-created"))
