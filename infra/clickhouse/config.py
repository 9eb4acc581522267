"""Server configuration: env vars with the `CQRS_CLICKHOUSE_` prefix, overridable by command-line flags."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from infra.clickhouse.credentials import ANALYST_USER, WRITER_USER, load


class ServerSettings(BaseSettings):
    """Loopback only by default. Every user needs a password: from `users_file` (the stack's generated file, see
    credentials.py) or the `*_PASSWORD` variables; the server refuses to start without them (no anonymous access)."""

    model_config = SettingsConfigDict(env_prefix="CQRS_CLICKHOUSE_", extra="ignore")

    # Relative to the working directory; the stack manager passes an absolute --data-dir under `.stack/`.
    data_dir: Path = Path(".stack/data/clickhouse")
    host: str = "127.0.0.1"
    port: int = Field(default=8123, ge=1, le=65535)

    # When set, the users and passwords come from this file and the four fields below are ignored.
    users_file: Path | None = None
    # The writer has full access (streams worker, migrations); ClickHouse's default user is called `default`.
    writer_user: str = WRITER_USER
    writer_password: SecretStr = SecretStr("")
    # Read-only (ClickHouse `readonly=1`): SELECT/SHOW/DESCRIBE/EXPLAIN; no writes, settings, file() or url().
    analyst_user: str = ANALYST_USER
    analyst_password: SecretStr = SecretStr("")
    # Queries are serialized on one engine, so one runaway ad-hoc query would stall projection inserts;
    # analysts cannot lift this limit because readonly=1 forbids changing settings. 0 disables it.
    analyst_max_execution_time_s: int = Field(default=60, ge=0)
    writer_max_execution_time_s: int = Field(default=0, ge=0)

    # Memory and result size of one read-only query, so an analyst's query cannot exhaust the memory the
    # projection's inserts need (0 = no limit). Errors: 241 MEMORY_LIMIT_EXCEEDED, 396 TOO_MANY_ROWS_OR_BYTES.
    analyst_max_memory_usage: int = Field(default=2 * 1024**3, ge=0)
    analyst_max_result_bytes: int = Field(default=256 * 1024**2, ge=0)

    # Request bodies are buffered (then decompressed) before they reach the engine; these bound both buffers.
    max_request_bytes: int = Field(default=512 * 1024 * 1024, gt=0)
    max_decompressed_bytes: int = Field(default=1024 * 1024 * 1024, gt=0)
    log_level: Literal["debug", "info", "warning", "error"] = "info"

    @model_validator(mode="after")
    def _users_have_passwords(self) -> ServerSettings:
        if self.users_file is not None:
            users = load(self.users_file)
            self.writer_user, self.writer_password = users.writer_user, users.writer_password
            self.analyst_user, self.analyst_password = users.analyst_user, users.analyst_password
        for user, password in ((self.writer_user, self.writer_password), (self.analyst_user, self.analyst_password)):
            if not password.get_secret_value():
                raise ValueError(
                    f"user {user!r} has no password; anonymous access is refused: pass --users-file (the stack's "
                    "generated one) or set CQRS_CLICKHOUSE_WRITER_PASSWORD and CQRS_CLICKHOUSE_ANALYST_PASSWORD"
                )
        if self.writer_user == self.analyst_user:
            raise ValueError("the writer and the analyst must be different users")
        return self
