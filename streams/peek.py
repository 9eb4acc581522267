"""What each read model shows for some orders, read the way readers read (alias, pointer document, active tables),
in one comparable shape: for the demo, for operators comparing stores, and for the tests."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from streams.settings import StreamsSettings
from streams.sinks.clickhouse import ClickHouseTargets
from streams.sinks.elasticsearch import ElasticsearchTargets
from streams.sinks.mongo import MongoTargets, by_ids


@dataclass(frozen=True, slots=True)
class Shown:
    version: int
    status: str
    total: Decimal
    skus: tuple[str, ...]


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
            for doc in await by_ids(collection, order_ids)
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
            f"SELECT aggregate_id, max(version) FROM {db}.orders_latest WHERE aggregate_id IN {{ids:Array(String)}} "
            "GROUP BY aggregate_id",
            {"ids": order_ids},
        ))  # fmt: skip
        shown = {}
        for aggregate, version, status, total, skus in rows:
            if latest.get(aggregate) != version:  # the latest-state table must agree with the newest fact
                continue
            shown[aggregate] = Shown(int(version), status, Decimal(total), tuple(skus))
        return shown
    finally:
        await targets.close()
