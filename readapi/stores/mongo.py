"""`OrderViews` on the MongoDB-wire detail projection (FerretDB here, MongoDB in compose).

The collection is resolved through the projection's pointer document (`read_models/<name>` → `orders_v<N>`), which
a rebuild switches atomically; the pointer is trusted for `pointer_ttl_s` (a second) to save a round trip per
request: after a switch, readers move within that second, and the old collection stays readable until it is dropped.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection

from readapi.ports import Document
from readapi.queries import Direction, ListQuery, Page, SortField
from readapi.stores.documents import order_detail, order_summary
from readapi.stores.guard import guarded
from streams.contract import POINTER_COLLECTION, POINTERS, POSITION_FIELD
from streams.settings import StreamsSettings

STORE = "mongo"
# Money sorts on integer cents (exact); the other fields sort as stored.
_SORT_KEYS = {
    SortField.CREATED_AT: "createdAt",
    SortField.UPDATED_AT: "updatedAt",
    SortField.TOTAL: "totalCents",
    SortField.STATUS: "status",
    SortField.ITEM_COUNT: "itemCount",
    SortField.VERSION: "version",
}
_SUMMARY_PROJECTION = {"items": 0, "shippingAddress": 0, POSITION_FIELD: 0}
_Raw = dict[str, Any]


class MongoOrderViews:
    def __init__(self, client: AsyncMongoClient[_Raw], settings: StreamsSettings, *, pointer_ttl_s: float,
                 timeout_s: float, list_scans: int = 2) -> None:  # fmt: skip
        self._client = client
        # A bulkhead for lists: FerretDB answers them by scanning the collection, so a few at a time finish while
        # the rest wait within their deadline (or get a 503 without reaching the store), instead of all of them
        # sharing the store's CPU and all missing the deadline.
        self._list_slots = asyncio.Semaphore(list_scans)
        self._db = client[settings.mongo_database]
        self._name = settings.mongo_collection
        self._pointer_ttl_s = pointer_ttl_s
        self._timeout_s = timeout_s
        self._pointer: tuple[float, str | None] = (0.0, None)

    @classmethod
    def connect(
        cls, settings: StreamsSettings, *, pointer_ttl_s: float, timeout_s: float, list_scans: int = 2
    ) -> MongoOrderViews:
        client: AsyncMongoClient[_Raw] = AsyncMongoClient(
            settings.mongo_url, tz_aware=True, serverSelectionTimeoutMS=int(timeout_s * 1000), maxPoolSize=32
        )
        return cls(client, settings, pointer_ttl_s=pointer_ttl_s, timeout_s=timeout_s, list_scans=list_scans)

    async def close(self) -> None:
        await self._client.close()

    async def _collection(self) -> AsyncCollection[_Raw] | None:
        resolved_at, name = self._pointer
        if name is None or time.monotonic() - resolved_at > self._pointer_ttl_s:
            pointer = await self._db[POINTERS].find_one({"_id": self._name})
            name = None if pointer is None else str(pointer[POINTER_COLLECTION])
            self._pointer = (time.monotonic(), name)
        return None if name is None else self._db[name]

    async def get(self, order_id: str) -> Document | None:
        async with guarded(STORE, self._timeout_s):
            collection = await self._collection()
            doc = None if collection is None else await collection.find_one({"_id": order_id})
        return None if doc is None else order_detail(doc)

    async def list(self, query: ListQuery) -> Page[Document]:
        where: dict[str, Any] = {}
        if query.status is not None:
            where["status"] = query.status.value
        if query.customer_id is not None:
            where["customerId"] = query.customer_id
        direction = ASCENDING if query.sort.direction is Direction.ASC else DESCENDING
        # `_id` (the orderId) breaks ties, so equal sort values never swap places between pages.
        order = [(_SORT_KEYS[query.sort.field], direction), ("_id", ASCENDING)]
        async with guarded(STORE, self._timeout_s), self._list_slots:
            collection = await self._collection()
            if collection is None:
                return Page([], 0)
            # The server gets the same deadline: a query the read API gave up on must not keep the store busy
            # (on FerretDB a list scans the collection, and abandoned scans would pile up under load).
            deadline_ms = int(self._timeout_s * 1000)
            total = await collection.count_documents(where, maxTimeMS=deadline_ms)
            if query.page.offset >= total:
                return Page([], total)
            cursor = collection.find(where, _SUMMARY_PROJECTION, max_time_ms=deadline_ms).sort(order)
            docs = await cursor.skip(query.page.offset).limit(query.page.limit).to_list()
        return Page([order_summary(doc) for doc in docs], total)

    async def check(self) -> None:
        async with guarded(STORE, self._timeout_s):
            await self._db.command("ping")
