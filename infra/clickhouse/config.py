"""Server configuration: env vars with the `CQRS_CLICKHOUSE_` prefix, overridable by command-line flags."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServerSettings(BaseSettings):
    """Defaults work on a developer machine: loopback only, passwordless users (as a fresh clickhouse)."""

    model_config = SettingsConfigDict(env_prefix="CQRS_CLICKHOUSE_", extra="ignore")

    # Relative to the working directory; the stack manager passes an absolute --data-dir under `.stack/`.
    data_dir: Path = Path(".stack/data/clickhouse")
    host: str = "127.0.0.1"
    port: int = Field(default=8123, ge=1, le=65535)

    # The writer has full access (streams worker, migrations); ClickHouse's default user is called `default`.
    writer_user: str = "default"
    writer_password: SecretStr = SecretStr("")
    # Read-only (ClickHouse `readonly=1`): SELECT/SHOW/DESCRIBE/EXPLAIN; no writes, settings, file() or url().
    analyst_user: str = "analyst"
    analyst_password: SecretStr = SecretStr("")
    # Queries are serialized on one engine, so one runaway ad-hoc query would stall projection inserts;
    # analysts cannot lift this limit because readonly=1 forbids changing settings. 0 disables it.
    analyst_max_execution_time_s: int = Field(default=60, ge=0)
    writer_max_execution_time_s: int = Field(default=0, ge=0)

    # Request bodies are buffered (then decompressed) before they reach the engine; this bounds that buffer.
    max_request_bytes: int = Field(default=512 * 1024 * 1024, gt=0)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
