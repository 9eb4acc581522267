"""The read-model contract: what `streams` writes and `readapi` reads, named once for both sides.

The read API knows the streams package only through this module and `streams.settings` (which holds the
per-environment stems of these names: `list_schema`, `mongo_database`, `mongo_collection`, `search_alias`,
`clickhouse_database`, `redis_prefix`). Standard library only, so importing it loads no store client.

- Projections: `LIST` (order lists; PostgreSQL `readdb`), `DETAIL` (detail and items; MongoDB wire), `SEARCH`
  (Elasticsearch), `ANALYTICS` (ClickHouse).
- Reader-facing names, each pointing at the active generation, which a rebuild switches atomically:
  PostgreSQL: the view `<list_schema>.LIST_VIEW` with the columns `LIST_COLUMNS`; MongoDB: the pointer document
  `POINTERS/<mongo_collection>`, whose `POINTER_COLLECTION` field names the collection to query; Elasticsearch: the
  alias `<search_alias>`; ClickHouse: the views `VIEWS` in `<clickhouse_database>`.
- The checkpoint mirror in Redis, written by the workers after every flush (`streams.checkpoints`), read by the read
  API's freshness lookups and `minVersion` waits (and so behind its cache keys): `MirrorKeys`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

DETAIL = "orders-mongo"
"""Detail and items of orders, read by orderId (MongoDB wire; FerretDB here)."""
SEARCH = "orders-search"
"""Full-text search over orders (Elasticsearch)."""
ANALYTICS = "orders-analytics"
"""Facts and aggregates (ClickHouse)."""
LIST = "orders-list"
"""Lists of orders, filtered and sorted by indexes (PostgreSQL, the `readdb` cluster)."""
PROJECTIONS = (DETAIL, SEARCH, ANALYTICS, LIST)
"""In the order of their workers' metrics ports (`metrics_port` + index)."""

LIST_VIEW = "orders"
"""The view readers query in `<list_schema>`; it selects from the active generation's table (`orders_v<N>`)."""
LIST_COLUMNS = (
    "id",
    "customer_id",
    "status",
    "currency",
    "total",
    "total_cents",
    "item_count",
    "created_at",
    "updated_at",
    "version",
    "position",
)
"""Columns of the list view: money as `numeric(20,2)` (exact) and integer cents (sorts); times `timestamptz`;
`position` the packed position of the last applied event (`streams.positions`)."""

POINTERS = "read_models"
"""MongoDB collection of pointer documents: `{_id: "orders", collection: "orders_v2", generation: 2, switchedAt}`."""
POINTER_COLLECTION = "collection"
"""The pointer document's field naming the collection readers query."""
POSITION_FIELD = "_position"
"""The packed position each detail document carries: the sink's bookkeeping, not part of the order."""

FACTS = "order_events"
LATEST = "orders_latest"
DAILY = "daily_revenue"
SKUS = "top_skus"
VIEWS = (FACTS, LATEST, DAILY, SKUS)
"""ClickHouse views readers query; each selects from the active generation's table (`<view>_v<N>`)."""

UPDATED_AT = "updatedAt"
"""Field of a generation's `stats` hash: wall-clock time (ms) of its last flush."""

GenerationKey = Literal["partitions", "versions", "stats"]


@dataclass(frozen=True, slots=True)
class MirrorKeys:
    """The Redis keys of one projection's checkpoint mirror; with `P` = `<prefix>:<projection>`, `G` = `P:g<N>`:

    | key | type | holds |
    |---|---|---|
    | `P:active` | string | the generation readers see |
    | `G:partitions` | hash | partition → `{"offset": next offset, "timestamp": ms of the last applied event}` |
    | `G:versions` | hash | orderId → applied version |
    | `G:stats` | hash | `applied`, `duplicates`, `parked` totals, `rate` (events/s), `updatedAt` (ms) |
    | channel `P:applied` | pub/sub | `{orderId: version, …}` (JSON) after each flush of the active generation |
    """

    prefix: str
    projection: str

    @property
    def base(self) -> str:
        return f"{self.prefix}:{self.projection}"

    @property
    def active(self) -> str:
        return f"{self.base}:active"

    @property
    def applied(self) -> str:
        """The announcement channel."""
        return f"{self.base}:applied"

    def partitions(self, generation: int) -> str:
        return self._of(generation, "partitions")

    def versions(self, generation: int) -> str:
        return self._of(generation, "versions")

    def stats(self, generation: int) -> str:
        return self._of(generation, "stats")

    def of_generation(self, generation: int) -> list[str]:
        """Every key of one generation."""
        return [self.partitions(generation), self.versions(generation), self.stats(generation)]

    def around_generation(self, name: GenerationKey) -> tuple[str, str]:
        """`(head, tail)` such that `head + N + tail` is key `name` (`partitions`, …) of generation N: for scripts
        that read the active generation and build its keys inside Redis."""
        return f"{self.base}:g", f":{name}"

    def _of(self, generation: int, name: GenerationKey) -> str:
        head, tail = self.around_generation(name)
        return f"{head}{generation}{tail}"


def encode_partition(offset: int, timestamp_ms: int) -> str:
    """A `partitions` hash value."""
    return json.dumps({"offset": offset, "timestamp": timestamp_ms})


def decode_partition(value: bytes | str) -> tuple[int, int]:
    """`(next offset, event time in ms of the last applied event)` from a `partitions` hash value."""
    data = json.loads(value)
    return int(data["offset"]), int(data["timestamp"])
