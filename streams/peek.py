"""What each read model shows for some orders, read the way readers read (alias, pointer document, active tables),
in one comparable shape: for the demo, the fault checks, operators comparing stores, and the tests.

`ReadModels` keeps one client per store open, so a caller that watches the stores converge reads every few
milliseconds instead of paying a connection handshake per look; `shown` is the one-off form.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from types import TracebackType
from typing import Any

from streams.contract import DETAIL, FACTS, LATEST, LIST, SEARCH
from streams.settings import StreamsSettings
from streams.sinks.clickhouse import ClickHouseTargets
from streams.sinks.elasticsearch import ElasticsearchTargets
from streams.sinks.mongo import MongoTargets, by_ids
from streams.sinks.postgres import PostgresTargets


@dataclass(frozen=True, slots=True)
class Shown:
    version: int
    status: str
    total: Decimal
    skus: tuple[str, ...]


class ReadModels:
    def __init__(self, settings: StreamsSettings) -> None:
        self._settings = settings
        self._mongo = MongoTargets.connect(settings)
        self._search = ElasticsearchTargets.connect(settings)
        self._analytics = ClickHouseTargets.connect(settings)
        self._lists = PostgresTargets.connect(settings)

    async def __aenter__(self) -> ReadModels:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        for targets in (self._mongo, self._search, self._analytics, self._lists):
            await targets.close()

    async def shown(self, name: str, order_ids: list[str]) -> dict[str, Shown]:
        """What projection `name` shows for these orders (absent ones are left out)."""
        if name == DETAIL:
            return await self._from_mongo(order_ids)
        if name == SEARCH:
            return await self._from_search(order_ids)
        if name == LIST:
            return await self._from_lists(order_ids)
        return await self._from_analytics(order_ids)

    async def _from_lists(self, order_ids: list[str]) -> dict[str, Shown]:
        return {
            row["id"]: Shown(
                row["version"], row["status"], Decimal(row["total"]), tuple(i["sku"] for i in row["state"]["items"])
            )
            for row in await self._lists.shown(order_ids)
        }

    async def _from_mongo(self, order_ids: list[str]) -> dict[str, Shown]:
        collection = await self._mongo.active_collection()
        if collection is None:
            return {}
        return {
            doc["_id"]: Shown(
                doc["version"], doc["status"], Decimal(doc["total"]), tuple(i["sku"] for i in doc["items"])
            )
            for doc in await by_ids(collection, order_ids)
        }

    async def _from_search(self, order_ids: list[str]) -> dict[str, Shown]:
        client = self._search.client.options(ignore_status=404)
        response = await client.mget(index=self._settings.search_alias, ids=order_ids)
        return {doc["_id"]: _from_source(doc["_source"]) for doc in response.get("docs", []) if doc.get("found")}

    async def _from_analytics(self, order_ids: list[str]) -> dict[str, Shown]:
        targets, db = self._analytics, self._settings.clickhouse_database
        if await targets.active() is None:
            return {}  # the worker has not created the tables yet
        rows = await targets.query(
            f"SELECT aggregate_id, version, status, total, item_skus FROM {db}.{FACTS} "
            "WHERE aggregate_id IN {ids:Array(String)} ORDER BY aggregate_id, version DESC, sequence DESC "
            "LIMIT 1 BY aggregate_id",
            {"ids": order_ids},
        )
        latest = dict(await targets.query(
            f"SELECT aggregate_id, max(version) FROM {db}.{LATEST} WHERE aggregate_id IN {{ids:Array(String)}} "
            "GROUP BY aggregate_id",
            {"ids": order_ids},
        ))  # fmt: skip
        shown = {}
        for aggregate, version, status, total, skus in rows:
            if latest.get(aggregate) != version:  # the latest-state table must agree with the newest fact
                continue
            shown[aggregate] = Shown(int(version), status, Decimal(total), tuple(skus))
        return shown


async def shown(settings: StreamsSettings, name: str, order_ids: list[str]) -> dict[str, Shown]:
    """One look at one read model."""
    async with ReadModels(settings) as models:
        return await models.shown(name, order_ids)


def _from_source(source: dict[str, Any]) -> Shown:
    return Shown(
        source["version"], source["status"], Decimal(source["total"]), tuple(i["sku"] for i in source["items"])
    )
