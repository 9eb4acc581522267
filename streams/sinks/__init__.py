"""One adapter per store behind `streams.sink.Sink` / `Targets`; `targets_for` picks one by store name."""

from __future__ import annotations

from streams.errors import StreamsError
from streams.settings import StreamsSettings
from streams.sink import Targets

STORES = ("postgres", "mongo", "elasticsearch", "clickhouse")


def targets_for(store: str, settings: StreamsSettings) -> Targets:
    """The adapter of a store; imported lazily so a worker loads only its own store's client."""
    if store == "postgres":
        from streams.sinks.postgres import PostgresTargets

        return PostgresTargets.connect(settings)
    if store == "mongo":
        from streams.sinks.mongo import MongoTargets

        return MongoTargets.connect(settings)
    if store == "elasticsearch":
        from streams.sinks.elasticsearch import ElasticsearchTargets

        return ElasticsearchTargets.connect(settings)
    if store == "clickhouse":
        from streams.sinks.clickhouse import ClickHouseTargets

        return ClickHouseTargets.connect(settings)
    raise StreamsError(f"no sink for store {store!r}; known: {', '.join(STORES)}")
