"""`OrderViews` on the MongoDB-wire detail projection (FerretDB here, MongoDB in compose): reads by `_id` only,
the one lookup FerretDB's SQLite backend answers from an index (lists are the `orders-list` projection's, in
PostgreSQL: `readapi.stores.lists`).

The collection is resolved through the projection's pointer document (`read_models/<name>` → `orders_v<N>`), which
a rebuild switches atomically; the pointer is trusted for `pointer_ttl_s` (a second) to save a round trip per
request: after a switch, readers move within that second, and the old collection stays readable until it is dropped.
"""

from __future__ import annotations

import time
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection

from readapi.ports import Document
from readapi.stores.documents import order_detail
from readapi.stores.guard import guarded
from streams.contract import POINTER_COLLECTION, POINTERS
from streams.settings import StreamsSettings

STORE = "mongo"
_Raw = dict[str, Any]


class MongoOrderViews:
    def __init__(
        self, client: AsyncMongoClient[_Raw], settings: StreamsSettings, *, pointer_ttl_s: float, timeout_s: float
    ) -> None:
        self._client = client
        self._db = client[settings.mongo_database]
        self._name = settings.mongo_collection
        self._pointer_ttl_s = pointer_ttl_s
        self._timeout_s = timeout_s
        self._pointer: tuple[float, str | None] = (0.0, None)

    @classmethod
    def connect(cls, settings: StreamsSettings, *, pointer_ttl_s: float, timeout_s: float) -> MongoOrderViews:
        client: AsyncMongoClient[_Raw] = AsyncMongoClient(
            settings.mongo_url, tz_aware=True, serverSelectionTimeoutMS=int(timeout_s * 1000), maxPoolSize=32
        )
        return cls(client, settings, pointer_ttl_s=pointer_ttl_s, timeout_s=timeout_s)

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

    async def check(self) -> None:
        async with guarded(STORE, self._timeout_s):
            await self._db.command("ping")
