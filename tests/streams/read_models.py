"""What each read model shows for an order, in one comparable shape, read the way readers read (alias, pointer,
views), and what the events say it should show."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from streams.peek import Shown
from streams.settings import StreamsSettings
from streams.sinks.clickhouse import ClickHouseTargets
from tests.streams.history import History


def expected(history: History) -> Shown:
    return Shown(history.version, history.status.value, history.total, tuple(i.sku for i in history.items))


async def analytics_totals(settings: StreamsSettings) -> tuple[int, list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Fact rows, daily revenue and top SKUs: what a double-applied event would inflate."""
    targets = ClickHouseTargets.connect(settings)
    db = settings.clickhouse_database
    try:
        (facts,) = await targets.query(f"SELECT count() FROM {db}.order_events")
        daily = await targets.query(f"SELECT * FROM {db}.daily_revenue ORDER BY ALL")
        skus = await targets.query(f"SELECT * FROM {db}.top_skus ORDER BY ALL")
        return int(facts[0]), daily, skus
    finally:
        await targets.close()


def expected_revenue(histories: list[History]) -> dict[tuple[str, str], tuple[int, Decimal]]:
    totals: dict[tuple[str, str], tuple[int, Decimal]] = {}
    for h in histories:
        orders, revenue = totals.get((h.status.value, h.currency), (0, Decimal(0)))
        totals[(h.status.value, h.currency)] = (orders + 1, revenue + h.total)
    return totals
