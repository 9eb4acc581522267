"""Configuration of the read API: one pydantic-settings model, read from `CQRS_READAPI_*` variables.

The names of the read models (Mongo database, search alias, ClickHouse database, Redis prefix) are the streams
worker's own settings (`CQRS_STREAMS_*`), embedded here, so the API always reads what the worker writes, and a test
points both at one sandbox by handing the same `StreamsSettings` to each.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from servicekit.tokens import TokenSettings
from streams.settings import StreamsSettings


def _streams() -> StreamsSettings:
    return StreamsSettings()


def _stack_database_url() -> str:
    from infra.settings import stack_settings

    return f"postgresql://postgres@127.0.0.1:{stack_settings().ports.postgres}/orders"


class ReadApiSettings(BaseSettings, TokenSettings):
    """Settings of one read API process (each uvicorn worker reads them and opens its own clients).

    The JWT fields (`CQRS_READAPI_JWT_SECRET`, …) come from `TokenSettings`: by default the same secret, issuer and
    audience as the writer's, so its tokens are accepted as they are."""

    model_config = SettingsConfigDict(env_prefix="CQRS_READAPI_", extra="ignore")

    streams: StreamsSettings = Field(default_factory=_streams)
    database_url: str = Field(
        default_factory=_stack_database_url, description="the write model, whose `order_summary` strong reads use"
    )
    clickhouse_user: str = Field("analyst", description="read-only ClickHouse user for analytics queries")
    clickhouse_password: SecretStr = SecretStr("")

    wait_default_s: float = Field(2.0, gt=0, description="how long `minVersion` waits when no `timeout` is given")
    wait_max_s: float = Field(10.0, gt=0, description="the largest `timeout` a client may ask for")
    detail_cache_ttl_s: int = Field(3600, ge=1, description="version-exact entries: the TTL only bounds memory")
    list_cache_ttl_s: int = Field(60, ge=1)
    search_refresh_s: float = Field(
        1.5, ge=0, description="search answers are cached only this long after the last flush (index refresh: 1 s)"
    )
    cache_prefix: str = "readapi"
    pointer_ttl_s: float = Field(1.0, ge=0, description="how long the Mongo collection pointer is trusted")
    store_timeout_s: float = Field(5.0, gt=0, description="per store call; beyond it the answer is a 503")
    list_pool_size: int = Field(8, ge=1, description="connections to the list store (readdb) per worker")
    list_exact_total_max: int = Field(
        10_000, ge=0, description="lists count matching orders exactly up to this many; beyond, `total` is an estimate"
    )

    host: str = "127.0.0.1"
    port: int = Field(58002, ge=1, le=65535)
    workers: int = Field(1, ge=1)
    log_level: str = "info"


@lru_cache(maxsize=1)
def readapi_settings() -> ReadApiSettings:
    """The settings of this process, read from the environment once."""
    return ReadApiSettings()
