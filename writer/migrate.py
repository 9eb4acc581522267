"""Schema migrations of the write model, applied by yoyo from the SQL files in `writer/migrations/`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from yoyo import get_backend, read_migrations

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


@dataclass(frozen=True, slots=True)
class MigrationReport:
    applied: tuple[str, ...]
    """Ids of the migrations this run applied (empty: the database was up to date)."""


def yoyo_url(database_url: str) -> str:
    """yoyo picks its driver from the URL scheme; `postgresql+psycopg` is psycopg 3 (the writer's driver)."""
    scheme, separator, rest = database_url.partition("://")
    if not separator or scheme not in ("postgres", "postgresql", "postgresql+psycopg"):
        raise ValueError("the database URL must look like postgresql://user@host:port/database")
    return f"postgresql+psycopg://{rest}"


def migrate(database_url: str) -> MigrationReport:
    """Apply every pending migration; safe to run concurrently (yoyo takes a lock) and repeatedly."""
    backend = get_backend(yoyo_url(database_url))
    try:
        migrations = read_migrations(str(MIGRATIONS_DIR))
        with backend.lock():
            pending = backend.to_apply(migrations)
            backend.apply_migrations(pending)
        return MigrationReport(applied=tuple(migration.id for migration in pending))
    finally:
        backend.connection.close()
