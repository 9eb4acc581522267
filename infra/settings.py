"""Where the native stack lives and which loopback ports it uses.

Downloads and builds are cached per user (shared by every clone, keyed by version); data, logs and pid files are per
clone under `.stack/` (git-ignored), so two clones never share a database.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cqrs-pipeline"


class Ports(BaseSettings):
    """Fixed loopback ports; override one with e.g. `CQRS_PORT_KAFKA=9092`."""

    model_config = SettingsConfigDict(env_prefix="CQRS_PORT_")

    postgres: int = 55432
    readdb: int = 55433
    """The read store (PostgreSQL) of the list projection."""
    redis: int = 56379
    kafka: int = 59092
    kafka_controller: int = 59093
    connect: int = 58083
    ferretdb: int = 57017
    ferretdb_debug: int = 57018
    elasticsearch: int = 59200
    elasticsearch_transport: int = 59300
    clickhouse: int = 58123
    writer: int = 58001
    writer_grpc: int = 58051
    """The writer's gRPC command API (the same process as `writer`)."""
    readapi: int = 58002
    streams: int = 59400
    """Prometheus port of the first projection worker; the others follow (+1, +2)."""
    webhooks: int = 59410
    """Prometheus port of the webhook delivery agent."""


class StackSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CQRS_STACK_")

    cache_dir: Path = Field(default_factory=_default_cache_dir)
    state_dir: Path = REPO_ROOT / ".stack"
    java_home: Path | None = None
    health_timeout_s: float = 180.0
    ports: Ports = Field(default_factory=Ports)

    @property
    def data_dir(self) -> Path:
        return self.state_dir / "data"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def run_dir(self) -> Path:
        return self.state_dir / "run"

    @property
    def conf_dir(self) -> Path:
        return self.state_dir / "conf"

    @property
    def clickhouse_users_file(self) -> Path:
        """The ClickHouse users' generated passwords (mode 600), see infra/clickhouse/credentials.py."""
        return self.conf_dir / "clickhouse" / "users.json"


@lru_cache(maxsize=1)
def stack_settings() -> StackSettings:
    return StackSettings()
