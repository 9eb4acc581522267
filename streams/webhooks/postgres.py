"""`WebhookRegistry` on PostgreSQL: the tables of `migrations/0007_webhooks.sql`, in the write model's database,
on a small pool of its own (`open_registry`)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from uuid import UUID

import psycopg
from psycopg import AsyncConnection
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from streams.webhooks.cipher import SecretCipher, encrypt_plaintext_secrets
from streams.webhooks.endpoints import Pool
from streams.webhooks.errors import WebhookStoreUnavailable
from streams.webhooks.registry import DeliveryLogEntry, WebhookEndpoint

Connection = AsyncConnection[TupleRow]

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
"""yoyo migrations of the webhook tables; whoever migrates the write model's database applies them too."""

_COLUMNS = "id, url, event_types, description, secret, created_by, created_at"
_REGISTER = """
INSERT INTO webhook_endpoints (id, url, event_types, description, secret, created_by, created_at)
VALUES (%s, %s, %s, %s, %s, %s, %s)
"""
_LIVE = f"SELECT {_COLUMNS} FROM webhook_endpoints WHERE deleted_at IS NULL ORDER BY created_at"
_FIND = f"SELECT {_COLUMNS} FROM webhook_endpoints WHERE id = %s AND deleted_at IS NULL"
_DELETE = "UPDATE webhook_endpoints SET deleted_at = now() WHERE id = %s AND deleted_at IS NULL"
_DELIVERIES = """
SELECT event_id, event_type, order_id, version, attempt, outcome, http_status, error, duration_ms, at
FROM webhook_deliveries
WHERE endpoint_id = %(endpoint)s AND (%(outcome)s::text IS NULL OR outcome = %(outcome)s)
ORDER BY id DESC
LIMIT %(limit)s
"""
_PARKED_COUNT = "SELECT count(*) FROM webhook_parked WHERE endpoint_id = %s"


class PostgresWebhookRegistry:
    """Secrets are sealed with `cipher` before they are written and opened as they are read."""

    def __init__(self, pool: Pool, cipher: SecretCipher) -> None:
        self._pool = pool
        self._cipher = cipher

    async def register(self, endpoint: WebhookEndpoint) -> None:
        params = (
            endpoint.id, endpoint.url, list(endpoint.event_types), endpoint.description,
            self._cipher.seal(endpoint.secret), endpoint.created_by, endpoint.created_at,
        )  # fmt: skip
        async with self._connection() as conn:
            await conn.execute(_REGISTER, params)

    async def live(self) -> list[WebhookEndpoint]:
        async with self._connection() as conn:
            return [self._endpoint(row) for row in await (await conn.execute(_LIVE)).fetchall()]

    async def find(self, endpoint_id: UUID) -> WebhookEndpoint | None:
        async with self._connection() as conn:
            row = await (await conn.execute(_FIND, (endpoint_id,))).fetchone()
        return None if row is None else self._endpoint(row)

    async def delete(self, endpoint_id: UUID) -> bool:
        async with self._connection() as conn:
            return (await conn.execute(_DELETE, (endpoint_id,))).rowcount == 1

    async def deliveries(
        self, endpoint_id: UUID, *, limit: int, outcome: str | None = None
    ) -> tuple[list[DeliveryLogEntry], int]:
        async with self._connection() as conn:
            params = {"endpoint": endpoint_id, "outcome": outcome, "limit": limit}
            rows = await (await conn.execute(_DELIVERIES, params)).fetchall()
            counted = await (await conn.execute(_PARKED_COUNT, (endpoint_id,))).fetchone()
        parked = counted[0] if counted else 0
        return [_entry(row) for row in rows], parked

    def _endpoint(self, row: TupleRow) -> WebhookEndpoint:
        endpoint_id, url, event_types, description, secret, created_by, created_at = row
        return WebhookEndpoint(
            id=endpoint_id, url=url, event_types=tuple(event_types), description=description,
            secret=self._cipher.open(secret), created_by=created_by, created_at=created_at,
        )  # fmt: skip

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[Connection]:
        """A pooled connection; a database that cannot be reached is `WebhookStoreUnavailable` (503), as for
        commands."""
        try:
            async with self._pool.connection() as conn:
                yield conn
        except (PoolTimeout, psycopg.OperationalError) as error:
            raise WebhookStoreUnavailable(f"the write model is unavailable: {error}") from error


@asynccontextmanager
async def open_registry(
    database_url: str, cipher: SecretCipher, *, max_size: int = 4, timeout_s: float = 5.0
) -> AsyncIterator[PostgresWebhookRegistry]:
    """The registry on a pool of its own for an app's lifetime (each uvicorn worker opens one).

    The pool opens without waiting, as the writer's does: an app starts while its database is down, and its
    routes answer 503 until it is back. Registrations are rare, so a few connections are plenty."""
    pool: Pool = AsyncConnectionPool(
        database_url, min_size=1, max_size=max_size, timeout=timeout_s, open=False, name="cqrs-webhooks",
        kwargs={"autocommit": True, "application_name": "cqrs-webhooks"},
    )  # fmt: skip
    await pool.open()
    await _encrypt_old_secrets(pool, cipher)
    try:
        yield PostgresWebhookRegistry(pool, cipher)
    finally:
        await pool.close()


async def _encrypt_old_secrets(pool: Pool, cipher: SecretCipher) -> None:
    """The upgrade to encrypted secrets, at start (the agent does it too); the database may be down now: the secrets
    in clear are still read meanwhile, and the next start encrypts them."""
    try:
        async with pool.connection(timeout=2) as conn:
            if sealed := await encrypt_plaintext_secrets(conn, cipher):
                log.info("encrypted %d webhook secret(s) stored in clear", sealed)
    except (PoolTimeout, psycopg.Error) as error:
        log.warning("webhook secrets stored in clear not encrypted yet: %s", type(error).__name__)


def _entry(row: TupleRow) -> DeliveryLogEntry:
    event_id, event_type, order_id, version, attempt, outcome, http_status, error, duration_ms, at = row
    return DeliveryLogEntry(
        event_id=event_id, event_type=event_type, order_id=order_id, version=version, attempt=attempt,
        outcome=outcome, http_status=http_status, error=error, duration_ms=duration_ms, at=at,
    )  # fmt: skip
