"""Configuration of the read API: one pydantic-settings model, read from `CQRS_READAPI_*` variables.

The names of the read models (Mongo database, search alias, ClickHouse database, Redis prefix) are the streams
worker's own settings (`CQRS_STREAMS_*`), embedded here, so the API always reads what the worker writes, and a test
points both at one sandbox by handing the same `StreamsSettings` to each.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from servicekit.settings import Port, ServiceSettings, stack_database_url
from streams.settings import StreamsSettings, clickhouse_login


def _streams() -> StreamsSettings:
    return StreamsSettings()


class ReadApiSettings(ServiceSettings):
    """Settings of one read API process (each uvicorn worker reads them and opens its own clients).

    Host, workers, log level and the JWT fields (`CQRS_READAPI_JWT_SECRET`, …) come from `ServiceSettings`: by default
    the same secret, issuer and audience as the writer's, so its tokens are accepted as they are."""

    model_config = SettingsConfigDict(env_prefix="CQRS_READAPI_", extra="ignore")

    streams: StreamsSettings = Field(default_factory=_streams)
    database_url: str = Field(
        default_factory=lambda: stack_database_url("cqrs_readapi"),
        description="the write model, whose `order_summary` strong reads use (its role may only SELECT that table)",
    )
    clickhouse_user: str = Field(
        default_factory=lambda: clickhouse_login("analyst"), description="read-only ClickHouse user for analytics"
    )
    clickhouse_password: SecretStr = Field(
        default_factory=lambda: SecretStr(clickhouse_login("analyst", password=True)),
        description="default: the native stack's generated one (`cqrs stack credentials clickhouse`)",
    )

    wait_default_s: float = Field(2.0, gt=0, description="how long `minVersion` waits when no `timeout` is given")
    wait_max_s: float = Field(10.0, gt=0, description="the largest `timeout` a client may ask for")
    max_waiters: int = Field(
        1000, ge=1, description="`minVersion` requests waiting at once per worker; beyond it 503 with Retry-After"
    )
    detail_cache_ttl_s: int = Field(3600, ge=1, description="version-exact entries: the TTL only bounds memory")
    detail_recent_s: float = Field(
        0.25,
        ge=0,
        description="a worker answers a plain detail read again from its own memory for this long after it came from "
        "the cache (no Redis round trip; 0: never): that much staler than the projection at worst",
    )
    detail_recent_max: int = Field(
        10_000, ge=1, description="orders a worker remembers so (its memory is cleared when full)"
    )
    list_cache_ttl_s: int = Field(60, ge=1)
    search_refresh_s: float = Field(
        1.5, ge=0, description="search answers are cached only this long after the last flush (refresh: every 0.5 s)"
    )
    cache_prefix: str = "readapi"
    pointer_ttl_s: float = Field(1.0, ge=0, description="how long the Mongo collection pointer is trusted")
    store_timeout_s: float = Field(5.0, gt=0, description="per store call; beyond it the answer is a 503")
    list_pool_size: int = Field(8, ge=1, description="connections to the list store (readdb) per worker")
    list_exact_total_max: int = Field(
        1_000, ge=0, description="lists count matching orders exactly up to this many; beyond, `total` is an estimate"
    )

    region: str = Field(
        "primary",
        description="the region this API serves (`meta.region`); a read region's API also reads that region's "
        "read models (`CQRS_STREAMS_*` names, `StreamsSettings.in_region`)",
    )
    lag_every_s: float = Field(1.0, gt=0, description="how often the replica lag is measured (`meta.lagSeconds`)")
    overview_part_timeout_s: float = Field(
        2.0, gt=0, description="each part of a composed answer (customer overview); a slower part is left out"
    )

    port: Port = 58002


@lru_cache(maxsize=1)
def readapi_settings() -> ReadApiSettings:
    """The settings of this process, read from the environment once."""
    return ReadApiSettings()
