"""DDL of one analytics generation and the stable views readers (and analysts) query.

Physical objects carry the generation (`order_events_v2`, …); the views `order_events`, `orders_latest`,
`daily_revenue` and `top_skus` point at the active one. Moving a view is one `CREATE OR REPLACE VIEW`, atomic per
view, and every generation a view may point at is complete, so a reader never sees a missing or empty table.
The views also hide merge semantics from analysts: `orders_latest` reads `FINAL`, the sums are summed.
"""

from __future__ import annotations

from streams.contract import DAILY, FACTS, LATEST, SKUS

TABLES = (FACTS, LATEST, DAILY, SKUS)

FACT_COLUMNS: list[tuple[str, str]] = [
    ("event_id", "UUID"),
    ("event_type", "LowCardinality(String)"),
    ("aggregate_id", "String"),
    ("version", "UInt64"),
    ("sequence", "UInt32"),
    ("event_time", "DateTime64(3, 'UTC')"),
    ("correlation_id", "String"),
    ("causation_id", "String"),
    ("customer_id", "String"),
    ("currency", "LowCardinality(String)"),
    ("status", "LowCardinality(String)"),
    ("previous_status", "LowCardinality(String)"),
    ("total", "Decimal(18, 2)"),
    ("previous_total", "Decimal(18, 2)"),
    ("created_at", "DateTime64(3, 'UTC')"),
    ("item_count", "UInt32"),
    ("item_ids", "Array(String)"),
    ("item_skus", "Array(String)"),
    ("item_names", "Array(String)"),
    ("item_quantities", "Array(UInt32)"),
    ("item_unit_prices", "Array(Decimal(18, 2))"),
    ("delta_skus", "Array(String)"),
    ("delta_quantities", "Array(Int32)"),
    ("delta_revenue", "Array(Decimal(18, 2))"),
    ("cancel_reason", "String"),
    ("shipping_country", "LowCardinality(String)"),
]
FACT_COLUMN_NAMES = [name for name, _ in FACT_COLUMNS]
POSITION_SQL = "version * 1000000 + sequence"  # streams.positions.SEQUENCE_SPAN


def physical(table: str, generation: int) -> str:
    return f"{table}_v{generation}"


def create_statements(db: str, generation: int) -> list[str]:
    """Tables first, then the materialized views that fill them from the facts (so no insert misses a view)."""
    facts, latest, daily, skus = (f"{db}.{physical(table, generation)}" for table in TABLES)
    columns = ",\n  ".join(f"{name} {kind}" for name, kind in FACT_COLUMNS)
    return [
        # Deduplication happens before the insert (the engine never writes a position the table already has, and
        # the sink filters against the table); ReplacingMergeTree on the event's position within its order (one
        # eventId per position) is the second line of defence. No PARTITION BY: one insert is one part, atomic.
        f"CREATE TABLE IF NOT EXISTS {facts} (\n  {columns}\n) ENGINE = ReplacingMergeTree "
        "ORDER BY (aggregate_id, version, sequence)",
        f"CREATE TABLE IF NOT EXISTS {latest} (aggregate_id String, position UInt64, version UInt64, "
        "customer_id String, currency LowCardinality(String), status LowCardinality(String), total Decimal(18, 2), "
        "item_count UInt32, created_at DateTime64(3, 'UTC'), updated_at DateTime64(3, 'UTC'), "
        "last_event_type LowCardinality(String)) ENGINE = ReplacingMergeTree(position) ORDER BY aggregate_id",
        f"CREATE TABLE IF NOT EXISTS {daily} (day Date, status LowCardinality(String), "
        "currency LowCardinality(String), orders Int64, revenue Decimal(38, 2)) "
        "ENGINE = SummingMergeTree ORDER BY (day, status, currency)",
        f"CREATE TABLE IF NOT EXISTS {skus} (sku String, currency LowCardinality(String), quantity Int64, "
        "revenue Decimal(38, 2)) ENGINE = SummingMergeTree ORDER BY (sku, currency)",
        f"CREATE MATERIALIZED VIEW IF NOT EXISTS {latest}_mv TO {latest} AS SELECT aggregate_id, "
        f"{POSITION_SQL} AS position, version, customer_id, currency, status, total, item_count, created_at, "
        f"event_time AS updated_at, event_type AS last_event_type FROM {facts}",
        # Each event moves its order out of the (day, previous status) bucket and into (day, status).
        # (The inner query keeps the facts' column names apart from the output aliases: ClickHouse aliases are
        # query-wide, and `status AS status` over an expression using `status` would be circular.)
        f"CREATE MATERIALIZED VIEW IF NOT EXISTS {daily}_mv TO {daily} AS SELECT day, "
        "tupleElement(bucket, 1) AS status, currency, tupleElement(bucket, 2) AS orders, "
        "tupleElement(bucket, 3) AS revenue FROM (SELECT toDate(created_at) AS day, currency, "
        "arrayJoin(arrayFilter(b -> tupleElement(b, 1) != '', ["
        "(toString(status), toInt64(1), toDecimal128(total, 2)), "
        f"(toString(previous_status), toInt64(-1), -toDecimal128(previous_total, 2))])) AS bucket FROM {facts})",
        f"CREATE MATERIALIZED VIEW IF NOT EXISTS {skus}_mv TO {skus} AS SELECT delta_sku AS sku, currency, "
        "toInt64(delta_quantity) AS quantity, toDecimal128(delta_amount, 2) AS revenue "
        f"FROM {facts} ARRAY JOIN delta_skus AS delta_sku, delta_quantities AS delta_quantity, "
        "delta_revenue AS delta_amount",
    ]


def drop_statements(db: str, generation: int) -> list[str]:
    views = [f"DROP VIEW IF EXISTS {db}.{physical(table, generation)}_mv" for table in (LATEST, DAILY, SKUS)]
    return views + [f"DROP TABLE IF EXISTS {db}.{physical(table, generation)}" for table in TABLES]


def view_statements(db: str, generation: int) -> list[str]:
    """The reader-facing views, facts first (so every view a reader joins is complete in either generation)."""
    facts, latest, daily, skus = (f"{db}.{physical(table, generation)}" for table in TABLES)
    return [
        f"CREATE OR REPLACE VIEW {db}.{FACTS} AS SELECT * FROM {facts} FINAL",
        f"CREATE OR REPLACE VIEW {db}.{LATEST} AS SELECT * FROM {latest} FINAL",
        f"CREATE OR REPLACE VIEW {db}.{DAILY} AS SELECT day, status, currency, sum(orders) AS orders, "
        f"sum(revenue) AS revenue FROM {daily} GROUP BY day, status, currency HAVING orders != 0 OR revenue != 0",
        f"CREATE OR REPLACE VIEW {db}.{SKUS} AS SELECT sku, currency, sum(quantity) AS quantity, "
        f"sum(revenue) AS revenue FROM {skus} GROUP BY sku, currency HAVING quantity != 0 OR revenue != 0",
    ]
