"""PostgreSQL adapter (the `readdb` cluster, not the write database): the list read model.

One table per generation (`<schema>.orders_v<N>`) with the indexes every list filter and sort needs; readers query
the view `<schema>.orders`, which selects from the active generation. A switch replaces the view and records the
generation in `<schema>.generations` in one transaction: readers see the old table or the new one, never neither
(a query running during the switch holds the view's lock; the switch waits for it, the next queries for the switch).

A flush is one statement: the batch's rows as arrays, `unnest`ed into an upsert that changes a stored row only when
the incoming position is newer (`WHERE stored.position < excluded.position`), so redelivered batches and rebuilds
replaying old events are harmless without a read before the write.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from psycopg import AsyncConnection, sql
from psycopg.errors import UndefinedTable
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from streams.contract import LIST_COLUMNS, LIST_VIEW
from streams.errors import TargetError
from streams.positions import Position
from streams.settings import StreamsSettings
from streams.sink import BatchingSink, Put, Stored, Targets

GENERATIONS = "generations"
STATE = "state"
_TYPES = {
    "id": "text",
    "customer_id": "text",
    "status": "text",
    "currency": "text",
    "total": "numeric(20,2)",
    "total_cents": "bigint",
    "item_count": "integer",
    "created_at": "timestamptz",
    "updated_at": "timestamptz",
    "version": "bigint",
    "position": "bigint",
    STATE: "jsonb",
}
_COLUMNS = (*LIST_COLUMNS, STATE)
# Every list filter (none, status, customer, customer + status) with every sort field, ties broken by id in the
# sort's direction, so one index serves both directions (scanned backwards for `desc`) and keyset pages
# (`(field, id) < (value, id)`) continue inside the index. A customer's list with a status filter uses the
# customer's index and filters the status on the way (a customer has few orders; a fourth set would slow writes).
SORT_COLUMNS = ("created_at", "updated_at", "total_cents", "item_count", "version")
INDEXES: dict[str, tuple[str, ...]] = {
    **{f"by_{column}": (column, "id") for column in SORT_COLUMNS},
    "by_status": ("status", "id"),
    **{f"status_{column}": ("status", column, "id") for column in SORT_COLUMNS},
    **{f"customer_{column}": ("customer_id", column, "id") for column in SORT_COLUMNS},
    "customer_status": ("customer_id", "status", "id"),
}


def _connect_options(settings: StreamsSettings) -> str:
    # UTC on the session: timestamptz values come back in UTC, as the projections wrote them.
    return f"{settings.readdb_url}?options=-c%20timezone%3DUTC&application_name=streams"


Pool = AsyncConnectionPool[AsyncConnection[Any]]


class PostgresSink(BatchingSink):
    def __init__(self, pool: Callable[[], Awaitable[Pool]], schema: str, table: str) -> None:
        super().__init__()
        self._pool = pool
        self._table = sql.Identifier(schema, table)
        self._upsert = upsert_statement(self._table)

    async def load(self, keys: Collection[str]) -> dict[str, Stored]:
        if not keys:
            return {}
        query = sql.SQL("SELECT {} FROM {} WHERE id = ANY(%s)").format(
            sql.SQL(", ").join(map(sql.Identifier, _COLUMNS)), self._table
        )
        pool = await self._pool()
        async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cursor:
            await cursor.execute(query, (list(keys),))
            rows = await cursor.fetchall()
        found = {}
        for row in rows:
            position = Position.unpack(row.pop("position"))
            found[row["id"]] = Stored(position, row)
        return found

    async def write(self, puts: list[Put]) -> None:
        columns: list[list[Any]] = [[] for _ in _COLUMNS]
        for put in puts:
            row = {**put.document, "id": put.key, "position": put.position.packed}
            row[STATE] = json.dumps(row[STATE], separators=(",", ":"))
            for values, name in zip(columns, _COLUMNS, strict=True):
                values.append(row[name])
        pool = await self._pool()
        async with pool.connection() as conn:
            await conn.execute(self._upsert, columns)

    async def count(self) -> int:
        pool = await self._pool()
        async with pool.connection() as conn:
            cursor = await conn.execute(sql.SQL("SELECT count(*) FROM {}").format(self._table))
            row = await cursor.fetchone()
        return int(row[0]) if row else 0


def upsert_statement(table: sql.Identifier) -> sql.Composed:
    """`INSERT … SELECT FROM unnest(arrays) ON CONFLICT (id) DO UPDATE … WHERE stored.position < excluded.position`."""
    names = sql.SQL(", ").join(map(sql.Identifier, _COLUMNS))
    arrays = sql.SQL(", ").join(sql.SQL(f"%s::{_TYPES[name]}[]") for name in _COLUMNS)
    updates = sql.SQL(", ").join(
        sql.SQL("{0} = excluded.{0}").format(sql.Identifier(name)) for name in _COLUMNS if name != "id"
    )
    return sql.SQL(
        "INSERT INTO {table} AS stored ({names}) SELECT * FROM unnest({arrays}) "
        "ON CONFLICT (id) DO UPDATE SET {updates} WHERE stored.position < excluded.position"
    ).format(table=table, names=names, arrays=arrays, updates=updates)


class PostgresTargets(Targets):
    store = "postgres"

    def __init__(self, pool: Pool, schema: str) -> None:
        self._pool = pool
        self._opening = asyncio.Lock()
        self._schema = schema
        self._pattern = re.compile(rf"^{re.escape(LIST_VIEW)}_v(\d+)$")

    @classmethod
    def connect(cls, settings: StreamsSettings, *, max_size: int = 4) -> PostgresTargets:
        pool: Pool = AsyncConnectionPool(
            _connect_options(settings), min_size=1, max_size=max_size, open=False, timeout=10
        )
        return cls(pool, settings.list_schema)

    async def _opened(self) -> Pool:
        """The pool, opened on first use (`connect` and `sink` are synchronous, as `targets_for` is)."""
        async with self._opening:
            if self._pool.closed:
                await self._pool.open(wait=True, timeout=10)
        return self._pool

    def table_name(self, generation: int) -> str:
        return f"{LIST_VIEW}_v{generation}"

    def describe(self, generation: int) -> str:
        return f"table {self._schema}.{self.table_name(generation)}"

    async def active(self) -> int | None:
        pool = await self._opened()
        async with pool.connection() as conn:
            cursor = await conn.execute("SELECT to_regclass(%s)", (f'"{self._schema}"."{GENERATIONS}"',))
            exists = await cursor.fetchone()
            if exists is None or exists[0] is None:
                return None
            query = sql.SQL("SELECT generation FROM {} WHERE name = %s").format(
                sql.Identifier(self._schema, GENERATIONS)
            )
            row = await (await conn.execute(query, (LIST_VIEW,))).fetchone()
        return None if row is None else int(row[0])

    async def generations(self) -> list[int]:
        pool = await self._opened()
        async with pool.connection() as conn:
            cursor = await conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (self._schema,))
            names = [row[0] for row in await cursor.fetchall()]
        return sorted(int(match[1]) for name in names if (match := self._pattern.match(name)))

    async def create(self, generation: int) -> None:
        table = sql.Identifier(self._schema, self.table_name(generation))
        columns = sql.SQL(", ").join(
            sql.SQL("{} {} NOT NULL").format(sql.Identifier(name), sql.SQL(_TYPES[name])) for name in _COLUMNS
        )
        pool = await self._opened()
        async with pool.connection() as conn:
            await conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self._schema)))
            await conn.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (name text PRIMARY KEY, generation integer NOT NULL, "
                    "switched_at timestamptz NOT NULL DEFAULT now())"
                ).format(sql.Identifier(self._schema, GENERATIONS))
            )
            await conn.execute(sql.SQL("CREATE TABLE IF NOT EXISTS {} ({}, PRIMARY KEY (id))").format(table, columns))
            for name, keys in INDEXES.items():
                await conn.execute(
                    sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} ({})").format(
                        sql.Identifier(f"{self.table_name(generation)}_{name}"),
                        table,
                        sql.SQL(", ").join(map(sql.Identifier, keys)),
                    )
                )

    async def switch(self, generation: int) -> None:
        if generation not in await self.generations():
            raise TargetError(f"cannot switch {self._schema}.{LIST_VIEW} to missing {self.describe(generation)}")
        pool = await self._opened()
        async with pool.connection() as conn, conn.transaction():
            await conn.execute(
                sql.SQL("CREATE OR REPLACE VIEW {} AS SELECT {} FROM {}").format(
                    sql.Identifier(self._schema, LIST_VIEW),
                    sql.SQL(", ").join(map(sql.Identifier, LIST_COLUMNS)),
                    sql.Identifier(self._schema, self.table_name(generation)),
                )
            )
            await conn.execute(
                sql.SQL(
                    "INSERT INTO {} (name, generation) VALUES (%s, %s) "
                    "ON CONFLICT (name) DO UPDATE SET generation = excluded.generation, switched_at = now()"
                ).format(sql.Identifier(self._schema, GENERATIONS)),
                (LIST_VIEW, generation),
            )

    async def drop(self, generation: int) -> None:
        if generation == await self.active():
            raise TargetError(f"refusing to drop the active {self.describe(generation)}")
        pool = await self._opened()
        async with pool.connection() as conn:
            table = sql.Identifier(self._schema, self.table_name(generation))
            await conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table))

    def sink(self, generation: int, *, bulk: bool = False) -> PostgresSink:
        # `bulk` changes nothing: the upsert is already one statement per batch.
        return PostgresSink(self._opened, self._schema, self.table_name(generation))

    async def read_view(self, order_id: str) -> dict[str, Any] | None:
        """The row readers see for an order, through the view (tests, operators comparing stores)."""
        rows = await self.shown([order_id], with_state=False)
        return rows[0] if rows else None

    async def shown(self, order_ids: list[str], *, with_state: bool = True) -> list[dict[str, Any]]:
        """The rows of these orders readers see through the view, with the `state` the view leaves out if asked
        (from the active generation's table: for peeking, a switch in between may mix generations)."""
        view = sql.Identifier(self._schema, LIST_VIEW)
        state = (
            sql.SQL(", (SELECT t.state FROM {} AS t WHERE t.id = v.id) AS state").format(
                sql.Identifier(self._schema, self.table_name(active))
            )
            if with_state and (active := await self.active())
            else sql.SQL("")
        )
        pool = await self._opened()
        async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cursor:
            try:
                await cursor.execute(
                    sql.SQL("SELECT v.*{} FROM {} AS v WHERE v.id = ANY(%s)").format(state, view), (order_ids,)
                )
            except UndefinedTable:
                return []  # no generation was ever switched to
            return await cursor.fetchall()

    async def drop_everything(self) -> None:
        """Remove the schema: every generation, the view and the generations table (sandboxes)."""
        pool = await self._opened()
        async with pool.connection() as conn:
            await conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(self._schema)))

    async def close(self) -> None:
        await self._pool.close()
