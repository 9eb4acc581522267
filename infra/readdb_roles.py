"""The roles of the list read store (`readdb`): the projection workers write it as `PROJECTOR_ROLE`, the read API
reads it as `READER_ROLE`, the owner (`postgres`) only makes them (`config/readdb_roles.sql`). Part of the ground, as
the ClickHouse users are: any bring-up of readdb makes them, so every client of the stack finds them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from infra.settings import REPO_ROOT

if TYPE_CHECKING:
    import psycopg

PROJECTOR_ROLE = "cqrs_streams"
"""Owns the list read model's schemas and nothing else."""
READER_ROLE = "cqrs_readapi"
"""Reads what `PROJECTOR_ROLE` creates, writes nothing."""
ROLES_SQL = REPO_ROOT / "infra" / "config" / "readdb_roles.sql"
"""Also docker-compose's init script of readdb: one definition for both stacks."""


def ensure_roles(owner: psycopg.Connection) -> None:
    """Make the roles and their grants (connected as the owner to readdb's database), unless both exist already."""
    found = owner.execute("SELECT count(*) FROM pg_roles WHERE rolname = ANY(%s)", ([PROJECTOR_ROLE, READER_ROLE],))
    row = found.fetchone()
    if row is None or row[0] < 2:
        owner.execute(ROLES_SQL.read_bytes())  # several statements: no parameters, so psycopg sends them as one
