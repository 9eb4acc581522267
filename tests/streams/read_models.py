"""What each read model shows for an order, in one comparable shape, read the way readers read (alias, pointer,
views), and what the events say it should show."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from streams.settings import StreamsSettings
from streams.sinks.clickhouse import ClickHouseTargets
from streams.sinks.elasticsearch import ElasticsearchTargets
from streams.sinks.mongo import MongoTargets
from tests.streams.history import History


@dataclass(frozen=True, slots=True)
class Shown:
    version: int
    status: str
    total: Decimal
    skus: tuple[str, ...]


def expected(history: History) -> Shown:
    return Shown(history.version, history.status.value, history.total, tuple(i.sku for i in history.items))


async def shown(settings: StreamsSettings, name: str, order_ids: list[str]) -> dict[str, Shown]:
    if name == "orders-mongo":
        return await _mongo(settings, order_ids)
    if name == "orders-search":
        return await _search(settings, order_ids)
    return await _analytics(settings, order_ids)


async def _mongo(settings: StreamsSettings, order_ids: list[str]) -> dict[str, Shown]:
    targets = MongoTargets.connect(settings)
    try:
        collection = await targets.active_collection()
        if collection is None:
            return {}
        return {
            doc["_id"]: Shown(
                doc["version"], doc["status"], Decimal(doc["total"]), tuple(i["sku"] for i in doc["items"])
            )
            async for doc in collection.find({"_id": {"$in": order_ids}})
        }
    finally:
        await targets.close()


async def _search(settings: StreamsSettings, order_ids: list[str]) -> dict[str, Shown]:
    targets = ElasticsearchTargets.connect(settings)
    try:
        response = await targets.client.options(ignore_status=404).mget(index=settings.search_alias, ids=order_ids)
        return {doc["_id"]: _from_source(doc["_source"]) for doc in response.get("docs", []) if doc.get("found")}
    finally:
        await targets.close()


def _from_source(source: dict[str, Any]) -> Shown:
    return Shown(
        source["version"], source["status"], Decimal(source["total"]), tuple(i["sku"] for i in source["items"])
    )


async def _analytics(settings: StreamsSettings, order_ids: list[str]) -> dict[str, Shown]:
    targets = ClickHouseTargets.connect(settings)
    db = settings.clickhouse_database
    try:
        if await targets.active() is None:
            return {}  # the worker has not created the tables yet
        rows = await targets.query(
            f"SELECT aggregate_id, version, status, total, item_skus FROM {db}.order_events "
            "WHERE aggregate_id IN {ids:Array(String)} ORDER BY aggregate_id, version DESC, sequence DESC "
            "LIMIT 1 BY aggregate_id",
            {"ids": order_ids},
        )
        latest = dict(await targets.query(
            f"SELECT aggregate_id, version FROM {db}.orders_latest WHERE aggregate_id IN {{ids:Array(String)}}",
            {"ids": order_ids},
        ))  # fmt: skip
        shown = {}
        for aggregate, version, status, total, skus in rows:
            assert latest.get(aggregate) == version, "orders_latest must agree with the newest fact"
            shown[aggregate] = Shown(int(version), status, Decimal(total), tuple(skus))
        return shown
    finally:
        await targets.close()


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
