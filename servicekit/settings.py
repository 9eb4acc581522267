"""What the settings models of both APIs share: how a server runs, the JWT fields, and the local database default.

Each API's model extends `ServiceSettings` and sets its own `env_prefix` (`CQRS_WRITER_`, `CQRS_READAPI_`), so the
fields are read from that service's own variables; only the port differs, and each model declares it with `Port`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings

from servicekit.tokens import TokenSettings

Port = Annotated[int, Field(ge=1, le=65535)]


class ServiceSettings(BaseSettings, TokenSettings):
    """The server fields `servicekit.cli.serve` runs by (the port is each service's own), plus `TokenSettings` (which
    also reads `host`: the built-in dev secret is honoured only in dev mode on a loopback address)."""

    host: str = "127.0.0.1"
    workers: int = Field(1, ge=1)
    log_level: str = "info"
    # What an API shows besides its routes (servicekit.exposure): off or token-protected outside a developer machine.
    docs_enabled: bool = Field(True, description="serve /docs, /redoc and /openapi.json (off: 404)")
    metrics_enabled: bool = Field(True, description="serve /metrics (off: 404)")
    metrics_token: SecretStr | None = Field(None, description="set: /metrics wants `Authorization: Bearer <token>`")


def stack_database_url(role: str = "postgres") -> str:
    """The write model on the native stack (`cqrs stack up postgres`) as `role`: the default that works on a developer
    machine (each service has its own role, created by the writer's migrations; `postgres` owns the schema)."""
    # Imported lazily: only the local default needs to know where the native stack puts Postgres.
    from infra.settings import stack_settings

    return f"postgresql://{role}@127.0.0.1:{stack_settings().ports.postgres}/orders"
