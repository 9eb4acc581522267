"""`OrderSummaries` on the write model's sync projection `order_summary` (strategy 3: updated inside the command's
own transaction, so it is exactly as fresh as the write model). It holds no items and no creation time."""

from __future__ import annotations

from uuid import UUID

from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from readapi.ports import Document
from readapi.stores.documents import timestamp
from readapi.stores.guard import guarded

STORE = "postgres"
_SELECT = """
SELECT id::text AS "orderId", customer_id AS "customerId", status, currency, total::text AS total,
       item_count AS "itemCount", version, updated_at AS "updatedAt"
FROM order_summary WHERE id = %s
"""


class PostgresOrderSummaries:
    def __init__(self, pool: AsyncConnectionPool[AsyncConnection[DictRow]], *, timeout_s: float) -> None:
        self._pool = pool
        self._timeout_s = timeout_s

    @classmethod
    def create(cls, database_url: str, *, timeout_s: float) -> PostgresOrderSummaries:
        """A closed pool (`await open()`); one or two connections suffice for primary-key reads."""
        pool: AsyncConnectionPool[AsyncConnection[DictRow]] = AsyncConnectionPool(
            database_url,
            min_size=1,
            max_size=4,
            timeout=timeout_s,
            kwargs={"autocommit": True, "application_name": "cqrs-readapi", "row_factory": dict_row},
            open=False,
            name="cqrs-readapi",
        )
        return cls(pool, timeout_s=timeout_s)

    async def open(self) -> None:
        await self._pool.open(wait=False)

    async def close(self) -> None:
        await self._pool.close()

    async def get(self, order_id: str) -> Document | None:
        try:
            key = UUID(order_id)  # the writer's ids are UUIDs: anything else names no order (and must not 503)
        except ValueError:
            return None
        async with guarded(STORE, self._timeout_s), self._pool.connection() as connection:
            cursor = await connection.execute(_SELECT, (key,))
            row = await cursor.fetchone()
        if row is None:
            return None
        document = dict(row)
        document["updatedAt"] = timestamp(document["updatedAt"])
        return document

    async def check(self) -> None:
        async with guarded(STORE, self._timeout_s), self._pool.connection() as connection:
            await connection.execute("SELECT 1")
