"""Configuration of the writer service: one pydantic-settings model, read from `CQRS_WRITER_*` variables.

Every default works on a developer machine with the native stack running (`cqrs stack up postgres`); a
deployment overrides the database URL and the JWT secret.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from servicekit.tokens import TokenSettings


def _stack_database_url() -> str:
    # Imported lazily: only the local default needs to know where the native stack puts Postgres.
    from infra.settings import stack_settings

    return f"postgresql://postgres@127.0.0.1:{stack_settings().ports.postgres}/orders"


class WriterSettings(BaseSettings, TokenSettings):
    """Settings of one writer process (each uvicorn worker reads them and opens its own pool); the JWT fields
    (`CQRS_WRITER_JWT_SECRET`, …) come from `TokenSettings`."""

    model_config = SettingsConfigDict(env_prefix="CQRS_WRITER_", extra="ignore")

    database_url: str = Field(default_factory=_stack_database_url, description="libpq URL of the write model")
    pool_min_size: int = Field(2, ge=1)
    pool_max_size: int = Field(16, ge=1)
    pool_timeout_s: float = Field(5.0, gt=0, description="how long a request waits for a connection → 503")

    idempotency_ttl_s: int = Field(24 * 3600, ge=1, description="how long a stored response is replayed")
    idempotency_purge_interval_s: float = Field(300.0, gt=0)
    max_body_bytes: int = Field(64 * 1024, ge=1024, description="larger request bodies get 413")
    batch_max_body_bytes: int = Field(
        64 * 1024 * 1024, ge=1024, description="limit of one POST /commands/batch body (~150k typical lines)"
    )
    batch_concurrency: int = Field(8, ge=1, description="lines of one batch applied at the same time")

    host: str = "127.0.0.1"
    port: int = Field(8001, ge=1, le=65535)
    workers: int = Field(1, ge=1)
    log_level: str = "info"


@lru_cache(maxsize=1)
def writer_settings() -> WriterSettings:
    """The settings of this process, read from the environment once."""
    return WriterSettings()
