"""MongoDB-wire adapter (FerretDB 1.24 on SQLite here; MongoDB in compose).

What FerretDB 1.24 can and cannot do decided the shape (each probed against the running server):
- no Decimal128 (the server drops the connection): money is text + integer cents (`streams.money`);
- `renameCollection` works but not with `dropTarget`, so renaming a new generation over the live collection would
  leave a moment with no collection: readers instead follow a pointer document (`read_models/<name>` →
  `orders_v<N>`), switched by one single-document update, which is atomic;
- only an equality on `_id` reaches SQLite's `_id` index (with the build's patch, `infra.install.FERRETDB_PATCHES`;
  unpatched, even that scanned); any other filter, `{_id: {$in: [...]}}` included, scans and decodes the whole
  collection (20 s for 100 keys at 36k documents, against well under 1 ms per `_id` lookup). So the sink knows the
  stored positions (from the engine's load of the batch, or one read by `_id`), inserts new orders in bulk, and
  replaces changed ones by `_id` only (MongoDB adds the stored position to the filter: `MongoSink`'s fencing).
  A rebuild target (`bulk=True`) deletes and re-inserts instead;
- an `update` command holds one SQLite connection per statement until it ends, and with about 100 statements the
  server's connection pool runs dry and the command deadlocks (the server then needs a restart), so replacements
  go in sequential commands of `MAX_STATEMENTS` (never in parallel: the pool is shared). Several workers of the
  projection share that pool too, so each takes its share (`MongoSink.statements`: `MAX_STATEMENTS` and
  `PARALLEL_READS` divided by `CQRS_STREAMS_WORKERS`; three workers at 40 statements each stalled the server);
- unordered bulk writes stop at their first error, and upsert-only replies lack `nModified` (pymongo then fails
  merging results): nothing here relies on either.
Documents are therefore read by `_id` one by one, several at a time (`by_ids`), and deleted by `_id`, one statement
each.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from pymongo import AsyncMongoClient, DeleteOne, ReplaceOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from streams.contract import POINTER_COLLECTION, POINTERS, POSITION_FIELD
from streams.errors import TargetError
from streams.positions import Position
from streams.settings import StreamsSettings
from streams.sink import BatchingSink, Put, Stored, Targets
from streams.sinks.known import NOTHING, KnownPositions

MAX_STATEMENTS = 40
MAX_INSERTS = 1000
PARALLEL_READS = 16

_Document = dict[str, Any]


class MongoSink(BatchingSink):
    """`bulk=True` for a target nobody reads yet (a rebuild): changed documents are then deleted and inserted again
    in two statements per batch instead of replaced one by one, which is fast on FerretDB but would let a reader
    miss the document for a moment.

    Fencing: an insert never replaces (a duplicate `_id` raises, and the retry reads the stored position), and with
    `position_filter` a replacement matches only a stored position older than its own (`{_id, position: {$lt}}`),
    so a stale worker's write changes nothing. MongoDB serves that filter from the `_id` index; FerretDB 1.24 pushes
    down only a bare `_id` equality and would scan the collection per statement, so on the native stack the filter
    is off and the fence is the worker's lease (`streams.ownership`) plus a fresh read of the stored positions after
    every rebalance (`forget`)."""

    def __init__(
        self,
        collection: AsyncCollection[_Document],
        *,
        bulk: bool = False,
        memory: int = 200_000,
        position_filter: bool = False,
        workers: int = 1,
    ) -> None:
        super().__init__()
        self._collection = collection
        self._bulk = bulk
        self._position_filter = position_filter
        self.statements = max(MAX_STATEMENTS // max(workers, 1), 4)
        """Statements per update command: this worker's share of the server's connection pool."""
        self._reads = max(PARALLEL_READS // max(workers, 1), 4)
        self._known = KnownPositions(memory)

    async def load(self, keys: Collection[str]) -> dict[str, Stored]:
        if not keys:
            return {}
        found: dict[str, Stored] = {}
        for doc in await by_ids(self._collection, keys, parallel=self._reads):
            key = doc.pop("_id")
            found[key] = Stored(Position.unpack(doc.pop(POSITION_FIELD)), doc)
        self._known.loaded(keys, {key: stored.position for key, stored in found.items()})
        return found

    def forget(self) -> None:
        self._known.forget()

    async def write(self, puts: list[Put]) -> None:
        try:
            uncertain = await self._insert_or_replace(puts)
        except Exception:
            self._known.forget(put.key for put in puts)  # what the store holds is unknown now: read it on the retry
            raise
        self._known.wrote({put.key: put.position for put in puts})
        self._known.forget(uncertain)

    async def _insert_or_replace(self, puts: list[Put]) -> list[str]:
        """Write; returns the keys whose stored position is not known now (a fenced replacement matched nothing)."""
        # The stored position decides per order: insert (absent), replace (older) or nothing (same or newer). The
        # engine's load of this batch's orders told the sink most positions already; only the rest are read.
        unknown = [put.key for put in puts if self._known.get(put.key) is None]
        if unknown:
            self.guard()
            projection = {POSITION_FIELD: 1}
            stored = {
                d["_id"]: Position.unpack(d[POSITION_FIELD])
                for d in await by_ids(self._collection, unknown, projection, parallel=self._reads)
            }
            self._known.loaded(unknown, stored)
        held = {put.key: self._known.get(put.key) or NOTHING for put in puts}
        new = [put for put in puts if held[put.key] == NOTHING]
        changed = [put for put in puts if NOTHING < held[put.key] < put.position]
        if self._bulk and changed:
            for start in range(0, len(changed), self.statements):
                chunk = changed[start : start + self.statements]
                self.guard()
                await self._collection.bulk_write([DeleteOne({"_id": put.key}) for put in chunk])
            new, changed = new + changed, []
        documents = [self._document(put) for put in new]
        for start in range(0, len(documents), MAX_INSERTS):
            # A duplicate key (someone inserted it since the read) raises; the retry reads it and replaces it.
            self.guard()
            await self._collection.insert_many(documents[start : start + MAX_INSERTS], ordered=True)
        uncertain: list[str] = []
        for start in range(0, len(changed), self.statements):
            chunk = changed[start : start + self.statements]
            self.guard()
            result = await self._collection.bulk_write([ReplaceOne(self._filter(p), self._document(p)) for p in chunk])
            if result.matched_count < len(chunk):  # fenced out: another writer stored newer positions
                uncertain += [put.key for put in chunk]
        return uncertain

    def _filter(self, put: Put) -> _Document:
        if self._position_filter:
            return {"_id": put.key, POSITION_FIELD: {"$lt": put.position.packed}}
        return {"_id": put.key}

    @staticmethod
    def _document(put: Put) -> _Document:
        return {**put.document, "_id": put.key, POSITION_FIELD: put.position.packed}

    async def count(self) -> int:
        return await self._collection.count_documents({})


async def by_ids(
    collection: AsyncCollection[_Document],
    keys: Collection[str],
    projection: dict[str, int] | None = None,
    *,
    parallel: int = PARALLEL_READS,
) -> list[_Document]:
    """The documents with these `_id`s, read by `_id` (the lookup FerretDB pushes down), `parallel` at a time."""
    slots = asyncio.Semaphore(parallel)

    async def one(key: str) -> _Document | None:
        async with slots:
            return await collection.find_one({"_id": key}, projection)

    found = await asyncio.gather(*(one(key) for key in keys))
    return [doc for doc in found if doc is not None]


class MongoTargets(Targets):
    store = "mongo"

    def __init__(
        self,
        client: AsyncMongoClient[_Document],
        database: str,
        name: str,
        *,
        position_filter: bool = False,
        workers: int = 1,
    ) -> None:
        self._client = client
        self._position_filter = position_filter
        self._workers = workers
        self._db: AsyncDatabase[_Document] = client[database]
        self._name = name
        self._pattern = re.compile(rf"^{re.escape(name)}_v(\d+)$")

    @classmethod
    def connect(cls, settings: StreamsSettings) -> MongoTargets:
        client: AsyncMongoClient[_Document] = AsyncMongoClient(
            settings.mongo_url, tz_aware=True, serverSelectionTimeoutMS=10_000
        )
        return cls(
            client,
            settings.mongo_database,
            settings.mongo_collection,
            position_filter=settings.mongo_position_filter,
            workers=settings.workers,
        )

    def collection_name(self, generation: int) -> str:
        return f"{self._name}_v{generation}"

    def describe(self, generation: int) -> str:
        return f"collection {self._db.name}.{self.collection_name(generation)}"

    async def active(self) -> int | None:
        pointer = await self._db[POINTERS].find_one({"_id": self._name})
        return None if pointer is None else int(pointer["generation"])

    async def active_collection(self) -> AsyncCollection[_Document] | None:
        """The collection readers should query now (what the read API calls per request, or caches briefly)."""
        pointer = await self._db[POINTERS].find_one({"_id": self._name})
        return None if pointer is None else self._db[pointer[POINTER_COLLECTION]]

    async def generations(self) -> list[int]:
        names = await self._db.list_collection_names()
        return sorted(int(match[1]) for name in names if (match := self._pattern.match(name)))

    async def create(self, generation: int) -> None:
        # No secondary indexes: readers look documents up by `_id` only (lists are the `orders-list` projection's).
        if self.collection_name(generation) not in await self._db.list_collection_names():
            await self._db.create_collection(self.collection_name(generation))

    async def switch(self, generation: int) -> None:
        if generation not in await self.generations():
            raise TargetError(f"cannot switch {self._name} to missing {self.describe(generation)}")
        pointer = {
            POINTER_COLLECTION: self.collection_name(generation),
            "generation": generation,
            "switchedAt": datetime.now(UTC),
        }
        await self._db[POINTERS].update_one({"_id": self._name}, {"$set": pointer}, upsert=True)

    async def drop(self, generation: int) -> None:
        if generation == await self.active():
            raise TargetError(f"refusing to drop the active {self.describe(generation)}")
        await self._db.drop_collection(self.collection_name(generation))

    def sink(self, generation: int, *, bulk: bool = False) -> MongoSink:
        collection = self._db[self.collection_name(generation)]
        return MongoSink(collection, bulk=bulk, position_filter=self._position_filter, workers=self._workers)

    async def drop_everything(self) -> None:
        """Remove the whole database, every generation and pointer in it (sandboxes)."""
        await self._client.drop_database(self._db.name)

    async def close(self) -> None:
        await self._client.close()
