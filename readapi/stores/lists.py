"""`OrderLists` on the list projection (`orders-list`): PostgreSQL, the `readdb` cluster, not the write database.

Readers query the view `<list_schema>.orders` (`streams.contract.LIST_VIEW`), which a rebuild switches to a new
generation's table in one transaction. Every filter (status, customer, both) with every sort has an index whose
order is the list's: `(filter columns, sort column, id)`, ties broken by orderId in the sort's direction, so a page
is an index range read, and a keyset page (`cursor`) continues with `(sort column, id) > (value, id)` inside the
same range, whatever was inserted since. A customer's list carries their id in the `WHERE` clause, always.

`total` counts at most `exact_total_max` matching rows (an index-only range read); beyond that bound the answer
gives the planner's estimate and says so (`Page.estimated`).
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from decimal import Decimal
from typing import Any

from psycopg import AsyncConnection, sql
from psycopg.errors import InvalidSchemaName, UndefinedTable
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from readapi.ports import Document
from readapi.queries import Cursor, Direction, ListQuery, Page, SortField
from readapi.stores.documents import timestamp
from readapi.stores.guard import guarded
from streams.contract import LIST_VIEW
from streams.settings import StreamsSettings

STORE = "readdb"
ESTIMATE_TTL_S = 5.0
SORT_COLUMNS = {
    SortField.CREATED_AT: "created_at",
    SortField.UPDATED_AT: "updated_at",
    SortField.TOTAL: "total_cents",
    SortField.STATUS: "status",
    SortField.ITEM_COUNT: "item_count",
    SortField.VERSION: "version",
}
_SELECTED = sql.SQL(
    'id AS "orderId", customer_id AS "customerId", status, currency, total, item_count AS "itemCount", version, '
    'created_at AS "createdAt", updated_at AS "updatedAt"'
)
Pool = AsyncConnectionPool[AsyncConnection[DictRow]]


class PostgresOrderLists:
    def __init__(self, pool: Pool, schema: str, *, timeout_s: float, exact_total_max: int = 1_000) -> None:
        self._pool = pool
        self._view = sql.Identifier(schema, LIST_VIEW)
        self._timeout_s = timeout_s
        self._exact_total_max = exact_total_max
        self._estimates: dict[tuple[str | None, object], tuple[float, int]] = {}

    @classmethod
    def create(
        cls, settings: StreamsSettings, *, timeout_s: float, pool_size: int = 8, exact_total_max: int = 1_000
    ) -> PostgresOrderLists:
        """A closed pool (`await open()`). The server gets the same deadline as the client (`statement_timeout`):
        a query the API gave up on must not keep the store busy."""
        options = f"-c timezone=UTC -c statement_timeout={int(timeout_s * 1000)}"
        pool: Pool = AsyncConnectionPool(
            settings.readdb_url,
            min_size=1,
            max_size=pool_size,
            timeout=timeout_s,
            kwargs={
                "autocommit": True,
                "application_name": "cqrs-readapi-lists",
                "row_factory": dict_row,
                "options": options,
            },
            open=False,
            name="cqrs-readapi-lists",
        )
        return cls(pool, settings.list_schema, timeout_s=timeout_s, exact_total_max=exact_total_max)

    async def open(self) -> None:
        await self._pool.open(wait=False)

    async def close(self) -> None:
        await self._pool.close()

    async def list(self, query: ListQuery) -> Page[Document]:
        rows_sql, rows_params = page_statement(self._view, query)
        count_sql, count_params = count_statement(self._view, query, self._exact_total_max + 1)
        async with guarded(STORE, self._timeout_s), self._pool.connection() as connection:
            try:
                # Both statements in one round trip (libpq pipeline mode): a page costs one wait on the store.
                async with connection.pipeline():
                    page = await connection.execute(rows_sql, rows_params)
                    counting = await connection.execute(count_sql, count_params)
            except Exception as error:
                if _no_view_yet(error):
                    return Page([], 0)
                raise
            rows = await page.fetchall()
            counted = await counting.fetchone()
            total = int(counted["count"]) if counted else 0
            estimated = total > self._exact_total_max
            if estimated:
                total = max(total, await self._estimate(connection, query))
        items = [_summary(row) for row in rows[: query.page.limit]]
        more = len(rows) > query.page.limit
        cursor = _next_cursor(query, items) if more else None
        return Page(items, total, cursor, estimated)

    async def _estimate(self, connection: AsyncConnection[DictRow], query: ListQuery) -> int:
        """The planner's row estimate for the query's filters, asked at most every `ESTIMATE_TTL_S` per filter: an
        estimate is marked as one, and re-planning it for every page would cost a second round trip each time."""
        key = (query.customer_id, query.status)
        now = time.monotonic()
        held = self._estimates.get(key)
        if held is not None and now - held[0] < ESTIMATE_TTL_S:
            return held[1]
        estimate = await self._planned_rows(connection, query)
        if len(self._estimates) >= 10_000:  # one per customer at most: bounded all the same
            self._estimates.clear()
        self._estimates[key] = (now, estimate)
        return estimate

    async def _planned_rows(self, connection: AsyncConnection[DictRow], query: ListQuery) -> int:
        where, params = _filters(query)
        statement = sql.SQL("EXPLAIN (FORMAT JSON) SELECT 1 FROM {} {}").format(self._view, where)
        row = await (await connection.execute(statement, params)).fetchone()
        plan = row["QUERY PLAN"] if row else [{"Plan": {"Plan Rows": 0}}]
        if isinstance(plan, str):
            plan = json.loads(plan)
        return int(plan[0]["Plan"]["Plan Rows"])

    async def check(self) -> None:
        async with guarded(STORE, self._timeout_s), self._pool.connection() as connection:
            await connection.execute("SELECT 1")


def _filters(query: ListQuery) -> tuple[sql.Composable, list[Any]]:
    conditions: list[sql.Composable] = []
    params: list[Any] = []
    if query.customer_id is not None:
        conditions.append(sql.SQL("customer_id = %s"))
        params.append(query.customer_id)
    if query.status is not None:
        conditions.append(sql.SQL("status = %s"))
        params.append(query.status.value)
    where = sql.SQL("WHERE ") + sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("")
    return where, params


def page_statement(view: sql.Identifier, query: ListQuery) -> tuple[sql.Composed, list[Any]]:
    """One page (and one row more, which tells whether another page follows), in index order."""
    column = sql.Identifier(SORT_COLUMNS[query.sort.field])
    descending = query.sort.direction is Direction.DESC
    where, params = _filters(query)
    if query.cursor is not None:
        keyset = sql.SQL("({}, id) {} (%s, %s)").format(column, sql.SQL("<" if descending else ">"))
        where = (where + sql.SQL(" AND ") if params else sql.SQL("WHERE ")) + keyset
        params += [_column_value(query.sort.field, query.cursor.value), query.cursor.order_id]
    direction = sql.SQL("DESC" if descending else "ASC")
    statement = sql.SQL("SELECT {} FROM {} {} ORDER BY {} {}, id {} LIMIT %s").format(
        _SELECTED, view, where, column, direction, direction
    )
    params.append(query.page.limit + 1)
    if query.cursor is None and query.page.offset:
        statement += sql.SQL(" OFFSET %s")
        params.append(query.page.offset)
    return statement, params


def count_statement(view: sql.Identifier, query: ListQuery, bound: int) -> tuple[sql.Composed, list[Any]]:
    """The matching rows, counted up to `bound` (an index-only range read that stops there)."""
    where, params = _filters(query)
    statement = sql.SQL("SELECT count(*) AS count FROM (SELECT 1 FROM {} {} LIMIT %s) AS matching").format(view, where)
    return statement, [*params, bound]


def _column_value(field: SortField, value: str | int) -> object:
    if field in (SortField.CREATED_AT, SortField.UPDATED_AT):
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return value


def _summary(row: DictRow) -> Document:
    summary = dict(row)
    total: Decimal = summary["total"]
    summary["total"] = format(total, "f")
    summary["createdAt"] = timestamp(summary["createdAt"])
    summary["updatedAt"] = timestamp(summary["updatedAt"])
    return summary


def _next_cursor(query: ListQuery, items: list[Document]) -> str | None:
    return Cursor.after(items[-1], query.sort).encode() if items else None


def _no_view_yet(error: Exception) -> bool:
    """Before the worker's first switch there is no view: an empty list, not an error."""
    return isinstance(error, UndefinedTable | InvalidSchemaName)
