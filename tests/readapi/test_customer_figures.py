"""The customer overview's analytics figures (`Analytics.customer_totals`, `customer_top_skus`): one contract, held
by the in-memory adapter and by ClickHouse filled by the real projection (the `seeded` sandbox)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from readapi.ports import Analytics
from readapi.queries import DateRange
from readapi.stores.analytics import ClickHouseAnalytics
from readapi.stores.memory import InMemoryReadModels
from tests.readapi.conftest import readapi_settings
from tests.readapi.ports_contract import expected_top_skus, money
from tests.readapi.seed import CUSTOMERS, Seeded, varied_histories
from tests.streams.history import History

EVERY_DAY = DateRange(None, None)


def expected_totals(histories: list[History], customer: str) -> list[dict[str, Any]]:
    per_currency: dict[str, dict[str, Any]] = defaultdict(lambda: {"orders": 0, "revenue": Decimal(0), "cancelled": 0})
    for history in histories:
        if history.customer_id != customer:
            continue
        figures = per_currency[history.currency]
        if history.status.value == "cancelled":
            figures["cancelled"] += 1
        else:
            figures["orders"] += 1
            figures["revenue"] += history.total
    return [
        {"currency": cur, "orders": f["orders"], "revenue": money(f["revenue"]), "cancelled": f["cancelled"]}
        for cur, f in sorted(per_currency.items())
    ]


class CustomerFiguresContract:
    """Subclasses provide `analytics` and `histories` (what it was fed)."""

    @pytest.fixture
    def analytics(self) -> Analytics:
        raise NotImplementedError

    @pytest.fixture
    def histories(self) -> list[History]:
        raise NotImplementedError

    @pytest.mark.parametrize("customer", CUSTOMERS)
    async def test_totals_per_currency_count_the_orders_not_cancelled_and_the_cancelled_apart(
        self, analytics: Analytics, histories: list[History], customer: str
    ) -> None:
        assert await analytics.customer_totals(customer) == expected_totals(histories, customer)

    @pytest.mark.parametrize("customer", CUSTOMERS)
    async def test_top_skus_are_the_customers_net_units_most_first(
        self, analytics: Analytics, histories: list[History], customer: str
    ) -> None:
        own = [history for history in histories if history.customer_id == customer]
        expected = expected_top_skus(own, EVERY_DAY, None)
        assert await analytics.customer_top_skus(customer, 5) == expected[:5]

    async def test_an_unknown_customer_has_no_figures(self, analytics: Analytics) -> None:
        assert await analytics.customer_totals("nobody-at-all") == []
        assert await analytics.customer_top_skus("nobody-at-all", 5) == []


class TestInMemoryCustomerFigures(CustomerFiguresContract):
    @pytest.fixture
    def histories(self) -> list[History]:
        return varied_histories(64)

    @pytest.fixture
    def analytics(self, histories: list[History]) -> Analytics:
        models = InMemoryReadModels()
        for history in histories:
            for event in history.events:
                models.apply(event)
        return models.analytics


@pytest.mark.stack
class TestClickHouseCustomerFigures(CustomerFiguresContract):
    @pytest.fixture
    def histories(self, seeded: Seeded) -> list[History]:
        return seeded.histories

    @pytest.fixture
    async def analytics(self, seeded: Seeded) -> AsyncIterator[Analytics]:
        settings = readapi_settings(seeded.streams)
        adapter = ClickHouseAnalytics(
            settings.streams,
            user=settings.clickhouse_user,
            password=settings.clickhouse_password.get_secret_value(),
            timeout_s=settings.store_timeout_s,
        )
        yield adapter
        await adapter.close()
