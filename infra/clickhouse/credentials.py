"""The two ClickHouse users' passwords, generated once per stack and kept in a file only its owner can read.

No password is built into code: `ensure` writes fresh random ones (mode 600) the first time the stack sets the
service up, the server reads them with `--users-file`, and the streams worker, the read API and the `cqrs` CLI read
the same file by default (env variables still override them, as under docker-compose).
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from infra.errors import StackError

WRITER_USER = "default"  # ClickHouse's own name for the user a fresh server has; clients assume it
ANALYST_USER = "analyst"


class CredentialsError(StackError, exit_code=7):
    """The ClickHouse users file is missing or unreadable."""

    def __init__(self, problem: str) -> None:
        super().__init__("clickhouse", problem, "`cqrs stack up clickhouse` generates it (the passwords are per stack)")


class ClickHouseCredentials(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    writer_user: str = WRITER_USER
    writer_password: SecretStr = Field(min_length=1)
    analyst_user: str = ANALYST_USER
    analyst_password: SecretStr = Field(min_length=1)

    @classmethod
    def generate(cls) -> ClickHouseCredentials:
        return cls(
            writer_password=SecretStr(secrets.token_urlsafe(24)), analyst_password=SecretStr(secrets.token_urlsafe(24))
        )

    def to_json(self) -> str:
        values = self.model_dump()
        values.update(
            writer_password=self.writer_password.get_secret_value(),
            analyst_password=self.analyst_password.get_secret_value(),
        )
        return json.dumps(values, indent=2) + "\n"


def load(path: Path) -> ClickHouseCredentials:
    try:
        return ClickHouseCredentials.model_validate_json(path.read_bytes())
    except FileNotFoundError as exc:
        raise CredentialsError(f"no users file {path}: the stack has not set ClickHouse up yet") from exc
    except (OSError, ValidationError) as exc:
        raise CredentialsError(f"{path} is not a valid ClickHouse users file: {exc}") from exc


def ensure(path: Path) -> ClickHouseCredentials:
    """The stack's credentials, generated and written on the first call; later calls read the same file."""
    if path.exists():
        return load(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    credentials = ClickHouseCredentials.generate()
    # Written complete to a private temporary file (mode 600 from its creation, never readable by others), then
    # linked into place: link fails if the file exists, so two first starts at once agree on one set of passwords.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(credentials.to_json())
        os.link(temporary, path)
    except FileExistsError:
        return load(path)
    finally:
        temporary.unlink()
    return credentials


def stack_credentials() -> ClickHouseCredentials | None:
    """The native stack's credentials, or None before the stack has set ClickHouse up (or when unreadable)."""
    from infra.settings import stack_settings  # the server itself never needs to know where the stack lives

    try:
        return load(stack_settings().clickhouse_users_file)
    except CredentialsError:
        return None
