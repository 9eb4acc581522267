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
- The projections' names and the mirror's keys live in `schemas.read_models` (re-exported here): the writer's command
  trace reads them too, and the writer may not import the read side.
"""

from __future__ import annotations

from schemas.read_models import (
    ANALYTICS,
    DETAIL,
    LIST,
    PROJECTIONS,
    SEARCH,
    UPDATED_AT,
    GenerationKey,
    MirrorKeys,
    decode_partition,
    encode_partition,
)

__all__ = [
    "ANALYTICS",
    "DAILY",
    "DETAIL",
    "FACTS",
    "LATEST",
    "LIST",
    "LIST_COLUMNS",
    "LIST_VIEW",
    "POINTERS",
    "POINTER_COLLECTION",
    "POSITION_FIELD",
    "PROJECTIONS",
    "SEARCH",
    "SKUS",
    "UPDATED_AT",
    "VIEWS",
    "GenerationKey",
    "MirrorKeys",
    "decode_partition",
    "encode_partition",
]

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
