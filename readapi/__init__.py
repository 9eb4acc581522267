"""The query side: the read API over the projections (Mongo-wire details and lists, Elasticsearch search, ClickHouse
analytics, Postgres `order_summary` for strong reads), with freshness metadata, read-your-writes and a cache."""
