"""Schema migrations of the write model, applied by yoyo from the SQL files in `writer/migrations/` (and from the
directories of the tables others keep in the same database, when the caller names them)."""

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


def migrate(database_url: str, *also: Path) -> MigrationReport:
    """Apply every pending migration; safe to run concurrently (yoyo takes a lock) and repeatedly.

    `also`: more migration directories, applied in the same run after the writer's own — tables that other
    packages keep in the write model's database. yoyo knows migrations by id, so ids must be unique across all."""
    backend = get_backend(yoyo_url(database_url))
    try:
        migrations = read_migrations(str(MIGRATIONS_DIR), *(str(directory) for directory in also))
        with backend.lock():
            pending = backend.to_apply(migrations)
            backend.apply_migrations(pending)
        return MigrationReport(applied=tuple(migration.id for migration in pending))
    finally:
        backend.connection.close()
