"""What the settings models of both APIs share: how a server runs, the JWT fields, and the local database default.

Each API's model extends `ServiceSettings` and sets its own `env_prefix` (`CQRS_WRITER_`, `CQRS_READAPI_`), so the
fields are read from that service's own variables; only the port differs, and each model declares it with `Port`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from pydantic_settings import BaseSettings

from servicekit.tokens import TokenSettings

Port = Annotated[int, Field(ge=1, le=65535)]


class ServiceSettings(BaseSettings, TokenSettings):
    """The server fields `servicekit.cli.serve` runs by (the port is each service's own), plus `TokenSettings`."""

    host: str = "127.0.0.1"
    workers: int = Field(1, ge=1)
    log_level: str = "info"


def stack_database_url() -> str:
    """The write model on the native stack (`cqrs stack up postgres`): the default that works on a developer machine."""
    # Imported lazily: only the local default needs to know where the native stack puts Postgres.
    from infra.settings import stack_settings

    return f"postgresql://postgres@127.0.0.1:{stack_settings().ports.postgres}/orders"
