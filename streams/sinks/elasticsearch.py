"""Elasticsearch adapter: one index per generation (`orders-v<N>`) behind the alias readers use (`orders`).

Writes are bulk `index` actions with `version_type=external` and the packed position as the version, so the
index keeps the highest position whatever the order or number of deliveries (a 409 means "already newer": fine).
The node here has only core modules (no analysis-common, no reindex, no painless): the mapping uses the standard
analyzer, and a rebuild replays Kafka into a new index instead of `_reindex`. The alias moves with one atomic
`_aliases` call.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from elasticsearch import AsyncElasticsearch, NotFoundError

from streams.errors import SinkError, TargetError
from streams.positions import Position
from streams.settings import StreamsSettings
from streams.sink import BatchingSink, Put, Stored, Targets

_TEXT_WITH_KEYWORD = {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}}
# No scaled_float here (it lives in the mapper-extras module, which this node lacks): money is indexed as a double
# parsed from the exact text the projection sends (ranges and sorts; `_source` keeps the text, so reads are exact),
# and totals also as integer cents (`totalCents`, exact sorts and sums).
_MONEY = {"type": "double"}

MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "orderId": {"type": "keyword"},
        "customerId": {"type": "keyword"},
        "status": {"type": "keyword"},
        "currency": {"type": "keyword"},
        "total": _MONEY,
        "totalCents": {"type": "long"},
        "itemCount": {"type": "integer"},
        "items": {
            "properties": {
                "itemId": {"type": "keyword"},
                "sku": _TEXT_WITH_KEYWORD,
                "name": _TEXT_WITH_KEYWORD,
                "quantity": {"type": "integer"},
                "unitPrice": _MONEY,
            }
        },
        "shippingAddress": {
            "properties": {
                "line1": {"type": "text"},
                "line2": {"type": "text"},
                "city": _TEXT_WITH_KEYWORD,
                "region": {"type": "keyword"},
                "postalCode": {"type": "keyword"},
                "country": {"type": "keyword"},
            }
        },
        "cancelReason": {"type": "text"},
        "createdAt": {"type": "date"},
        "updatedAt": {"type": "date"},
        "version": {"type": "long"},
        "sequence": {"type": "integer"},
        "lastEventId": {"type": "keyword"},
        "lastEventType": {"type": "keyword"},
    },
}
SETTINGS: dict[str, Any] = {"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": "500ms"}
"""Refreshes twice a second: search shows a write within about 0.6 s (its batch window, then a refresh)."""


class ElasticsearchSink(BatchingSink):
    def __init__(self, client: AsyncElasticsearch, index: str) -> None:
        super().__init__()
        self._client = client
        self._index = index

    async def load(self, keys: Collection[str]) -> dict[str, Stored]:
        if not keys:
            return {}
        # mget is real-time (it reads the translog), so a just-flushed document is found without a refresh.
        response = await self._client.mget(index=self._index, ids=list(keys))
        return {
            doc["_id"]: Stored(Position.unpack(doc["_version"]), doc["_source"])
            for doc in response["docs"]
            if doc.get("found")
        }

    async def write(self, puts: list[Put]) -> None:
        operations: list[dict[str, Any]] = []
        for put in puts:
            action = {"_index": self._index, "_id": put.key, "version": put.position.packed}
            operations += [{"index": {**action, "version_type": "external"}}, dict(put.document)]
        response = await self._client.bulk(operations=operations)
        if response["errors"]:
            failed = [
                item["index"]
                for item in response["items"]
                if item["index"].get("error") and item["index"]["status"] != 409
            ]
            if failed:
                # Rejections (429) and the like: raise, keep the batch, the engine retries the whole flush.
                raise SinkError(f"{len(failed)} of {len(puts)} documents failed, first: {failed[0]['error']}")

    async def count(self) -> int:
        await self._client.indices.refresh(index=self._index)
        return int((await self._client.count(index=self._index))["count"])


class ElasticsearchTargets(Targets):
    store = "elasticsearch"

    def __init__(self, client: AsyncElasticsearch, alias: str) -> None:
        self._client = client
        self._alias = alias
        self._pattern = re.compile(rf"^{re.escape(alias)}-v(\d+)$")

    @classmethod
    def connect(cls, settings: StreamsSettings) -> ElasticsearchTargets:
        return cls(AsyncElasticsearch(settings.elasticsearch_url, request_timeout=60), settings.search_alias)

    @property
    def client(self) -> AsyncElasticsearch:
        """The client, for readers and tools that query the index directly."""
        return self._client

    def index_name(self, generation: int) -> str:
        return f"{self._alias}-v{generation}"

    def describe(self, generation: int) -> str:
        return f"index {self.index_name(generation)} (alias {self._alias})"

    async def active(self) -> int | None:
        holders = await self._alias_holders()
        generations = sorted(int(m[1]) for index in holders if (m := self._pattern.match(index)))
        return generations[-1] if generations else None

    async def generations(self) -> list[int]:
        try:
            indices = await self._client.indices.get(index=f"{self._alias}-v*", expand_wildcards="all")
        except NotFoundError:
            return []
        return sorted(int(m[1]) for index in indices if (m := self._pattern.match(index)))

    async def create(self, generation: int) -> None:
        index = self.index_name(generation)
        if not await self._client.indices.exists(index=index):
            await self._client.indices.create(index=index, settings=SETTINGS, mappings=MAPPINGS)

    async def switch(self, generation: int) -> None:
        index = self.index_name(generation)
        if not await self._client.indices.exists(index=index):
            raise TargetError(f"cannot switch {self._alias} to missing {self.describe(generation)}")
        # Readers must find the documents of the new index the moment the alias moves.
        await self._client.indices.refresh(index=index)
        actions: list[dict[str, Any]] = [
            {"remove": {"index": holder, "alias": self._alias}} for holder in await self._alias_holders()
        ]
        actions.append({"add": {"index": index, "alias": self._alias}})
        await self._client.indices.update_aliases(actions=actions)

    async def drop(self, generation: int) -> None:
        if generation == await self.active():
            raise TargetError(f"refusing to drop the active {self.describe(generation)}")
        await self._client.indices.delete(index=self.index_name(generation), ignore_unavailable=True)

    def sink(self, generation: int, *, bulk: bool = False) -> ElasticsearchSink:
        return ElasticsearchSink(self._client, self.index_name(generation))

    async def drop_everything(self) -> None:
        """Remove every generation and so the alias (tests)."""
        for generation in await self.generations():
            await self._client.indices.delete(index=self.index_name(generation), ignore_unavailable=True)

    async def _alias_holders(self) -> list[str]:
        try:
            return list(await self._client.indices.get_alias(name=self._alias))
        except NotFoundError:
            return []

    async def close(self) -> None:
        await self._client.close()
