"""The connection pool of one writer process (each uvicorn worker opens its own)."""

from __future__ import annotations

from psycopg import AsyncConnection
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool

from writer.settings import WriterSettings


def create_pool(settings: WriterSettings) -> AsyncConnectionPool[AsyncConnection[TupleRow]]:
    """A closed pool; `await pool.open()` in the app's lifespan.

    Connections run in autocommit mode: the store opens its transactions explicitly (inside a pipeline, so
    BEGIN costs no round trip), and single reads need no BEGIN/COMMIT at all.
    """
    return AsyncConnectionPool(
        settings.database_url,
        min_size=settings.pool_min_size,
        max_size=max(settings.pool_min_size, settings.pool_max_size),
        timeout=settings.pool_timeout_s,
        # Beyond this many waiting requests the pool refuses at once (TooManyRequests → 503): under overload the
        # writer keeps committing at its pace instead of timing out every request after `pool_timeout_s`.
        max_waiting=settings.pool_max_waiting,
        kwargs={"autocommit": True, "application_name": "cqrs-writer"},
        open=False,
        name="cqrs-writer",
    )
