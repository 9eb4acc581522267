"""The endpoint registry as the agent reads it (the writer's `/webhooks` API writes it): live endpoints, cached."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool

from streams.webhooks.cipher import SecretCipher

Pool = AsyncConnectionPool[AsyncConnection[TupleRow]]

_COLUMNS = "id, url, event_types, secret, created_at"
_LIVE_ENDPOINTS = f"SELECT {_COLUMNS} FROM webhook_endpoints WHERE deleted_at IS NULL ORDER BY created_at"
_ENDPOINT = f"SELECT {_COLUMNS} FROM webhook_endpoints WHERE id = %s AND deleted_at IS NULL"


@dataclass(frozen=True, slots=True)
class Endpoint:
    id: UUID
    url: str
    event_types: frozenset[str]
    """Empty: every event type."""
    secret: str
    created_at: datetime
    """Events that happened before the endpoint was registered are not sent to it (a new endpoint does not get the
    whole history, and a fresh consumer group reading from offset 0 sends nobody old events)."""

    def wants(self, event_type: str | None) -> bool:
        return not self.event_types or event_type in self.event_types


def _endpoint(row: TupleRow, cipher: SecretCipher) -> Endpoint:
    endpoint_id, url, event_types, secret, created_at = row
    return Endpoint(endpoint_id, url, frozenset(event_types), cipher.open(secret), created_at)


class EndpointDirectory:
    """Live endpoints, read again when the copy is older than `refresh_s` (registrations are rare, batches not), or
    older than the newest event about to be routed: an endpoint registered just before a command must get its events,
    and a copy read before the event was even produced may not know it yet."""

    def __init__(self, pool: Pool, refresh_s: float, cipher: SecretCipher) -> None:
        self._pool = pool
        self._cipher = cipher
        self._refresh_s = refresh_s
        self._endpoints: list[Endpoint] = []
        self._read_at: float | None = None
        self._read_at_wall = 0.0
        """Wall-clock time (s) the copy was taken: every endpoint committed before it is in the copy."""

    async def current(self, newest_event_s: float = 0.0) -> list[Endpoint]:
        """The live endpoints, for events produced up to `newest_event_s` (wall-clock seconds, e.g. Kafka's record
        timestamps)."""
        stale = self._read_at is None or time.monotonic() - self._read_at >= self._refresh_s
        if stale or newest_event_s >= self._read_at_wall:
            read_at_wall = time.time()
            async with self._pool.connection() as conn:
                rows = await (await conn.execute(_LIVE_ENDPOINTS)).fetchall()
            self._endpoints = [_endpoint(row, self._cipher) for row in rows]
            self._read_at, self._read_at_wall = time.monotonic(), read_at_wall
        return self._endpoints


async def find_endpoint(pool: Pool, endpoint_id: UUID, cipher: SecretCipher) -> Endpoint | None:
    """A live endpoint by id (None if unknown or deleted)."""
    async with pool.connection() as conn:
        row = await (await conn.execute(_ENDPOINT, (endpoint_id,))).fetchone()
    return None if row is None else _endpoint(row, cipher)
