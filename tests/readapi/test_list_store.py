"""What only the PostgreSQL list store promises: every whitelisted filter and sort is an index range read (EXPLAIN),
and keyset pages never skip or repeat an order while orders are being created."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from infra.stack import Stack
from readapi.queries import Cursor, Direction, ListQuery, OrderStatus, PageRequest, Sort, SortField
from readapi.stores.lists import PostgresOrderLists, count_statement, page_statement
from streams.contract import LIST_VIEW
from streams.settings import StreamsSettings
from streams.sinks.postgres import PostgresTargets
from tests.streams.conftest import unique_settings

pytestmark = pytest.mark.stack
ROWS = 60_000
CUSTOMERS = 600
_FILL = """
INSERT INTO {table} (id, customer_id, status, currency, total, total_cents, item_count, created_at, updated_at,
                     version, position, state)
SELECT format('order-%%s', lpad(n::text, 7, '0')),
       format('customer-%%s', n %% {customers}),
       (ARRAY['pending','confirmed','shipped','cancelled'])[1 + n %% 4],
       (ARRAY['EUR','USD','GBP'])[1 + n %% 3],
       (n %% 9973) / 100.0, n %% 9973, 1 + n %% 5,
       timestamptz '2025-01-01' + n * interval '1 minute',
       timestamptz '2025-01-01' + n * interval '1 minute' + (n %% 97) * interval '1 hour',
       1 + n %% 4, (1 + n %% 4) * 1000000, '{{}}'::jsonb
FROM generate_series(%s, %s) AS n
"""


@pytest.fixture(scope="module")
async def filled(stack: Stack) -> AsyncIterator[StreamsSettings]:
    """A list store of 60,000 orders over 600 customers, analysed, behind the view readers query."""
    settings = unique_settings(stack)
    targets = PostgresTargets.connect(settings)
    try:
        await targets.ensure_active()
        async with await psycopg.AsyncConnection.connect(settings.readdb_url, autocommit=True) as conn:
            table = sql.Identifier(settings.list_schema, targets.table_name(1))
            fill = sql.SQL(_FILL).format(table=table, customers=sql.Literal(CUSTOMERS))
            await conn.execute(fill, (1, ROWS))
            await conn.execute(sql.SQL("VACUUM ANALYZE {}").format(table))
        yield settings
    finally:
        await targets.drop_everything()  # the only store this module touches
        await targets.close()


def combinations() -> list[tuple[OrderStatus | None, str | None, Sort, bool]]:
    filters = [(None, None), (OrderStatus.SHIPPED, None), (None, "customer-7"), (OrderStatus.SHIPPED, "customer-7")]
    sorts = [Sort(field, direction) for field in SortField for direction in Direction]
    return [(s, c, sort, keyset) for (s, c), sort, keyset in itertools.product(filters, sorts, (False, True))]


def _cursor(sort: Sort) -> Cursor:
    values: dict[SortField, str | int] = {
        SortField.CREATED_AT: "2025-01-20T00:00:00.000Z",
        SortField.UPDATED_AT: "2025-01-20T00:00:00.000Z",
        SortField.TOTAL: 5000,
        SortField.STATUS: "confirmed",
        SortField.ITEM_COUNT: 3,
        SortField.VERSION: 2,
    }
    return Cursor(sort, values[sort.field], "order-0030000")


async def _plan(conn: psycopg.AsyncConnection[Any], statement: sql.Composable, params: list[Any]) -> str:
    cursor = await conn.execute(sql.SQL("EXPLAIN (FORMAT JSON) ") + statement, params)
    row = await cursor.fetchone()
    assert row is not None
    plan = row[0] if not isinstance(row[0], str) else json.loads(row[0])
    return json.dumps(plan)


@pytest.mark.parametrize(("status", "customer", "sort", "keyset"), combinations())
async def test_every_filter_and_sort_is_an_index_range_read(
    filled: StreamsSettings, status: OrderStatus | None, customer: str | None, sort: Sort, keyset: bool
) -> None:
    """No sequential scan, on a table big enough (and analysed) that the planner would scan it if no index fitted;
    deep offsets and counts too. And no sort: the rows come out of an index in the list's order, except for one
    customer's orders in one status, which the `(customer_id, status, id)` index finds and a top-N sort orders (a
    customer has few orders; a fourth set of five indexes would cost every write more than it saves here)."""
    view = sql.Identifier(filled.list_schema, LIST_VIEW)
    page = PageRequest(1 if keyset else 50, 20)
    query = ListQuery(status, customer, sort, page, _cursor(sort) if keyset else None)
    async with await psycopg.AsyncConnection.connect(filled.readdb_url, autocommit=True) as conn:
        plan = await _plan(conn, *page_statement(view, query))
        counting = await _plan(conn, *count_statement(view, query, 10_001))
    assert "Seq Scan" not in plan, plan
    assert "Index" in plan, plan
    if status is not None and customer is not None:
        assert "customer_" in plan, plan
    else:
        assert '"Node Type": "Sort"' not in plan, plan
        assert "Incremental Sort" not in plan, plan
    assert "Seq Scan" not in counting, counting


async def test_keyset_pages_never_skip_or_repeat_while_orders_are_created(filled: StreamsSettings) -> None:
    """Follow the cursors through one customer's list, newest first, while new orders (newer than any) keep being
    inserted for that customer: every order that existed at the start is seen exactly once, in order."""
    lists = PostgresOrderLists.create(filled, timeout_s=5.0)
    await lists.open()
    customer = "customer-42"
    sort = Sort(SortField.CREATED_AT, Direction.DESC)
    stop = asyncio.Event()

    async def create_orders() -> int:
        created = 0
        async with await psycopg.AsyncConnection.connect(filled.readdb_url, autocommit=True) as conn:
            table = sql.Identifier(filled.list_schema, "orders_v1")
            while not stop.is_set():
                n = ROWS + 1 + created
                await conn.execute(sql.SQL(_FILL).format(table=table, customers=sql.Literal(CUSTOMERS)), (n, n))
                await conn.execute(
                    sql.SQL("UPDATE {} SET customer_id = %s WHERE id = %s").format(table),
                    (customer, f"order-{n:07d}"),
                )
                created += 1
                await asyncio.sleep(0.002)
        return created

    try:
        before = await lists.list(ListQuery(None, customer, sort, PageRequest(1, 100)))
        existing = before.total
        creator = asyncio.create_task(create_orders())
        seen: list[str] = []
        after: Cursor | None = None
        while True:
            page = await lists.list(ListQuery(None, customer, sort, PageRequest(1, 7), after))
            seen += [order["orderId"] for order in page.items]
            await asyncio.sleep(0.01)
            if page.cursor is None:
                break
            after = Cursor.decode(page.cursor, sort)
        stop.set()
        created = await creator
    finally:
        await lists.close()
    assert created > 0
    assert len(seen) == len(set(seen)) == existing  # the new ones are newer: they belong before the first page
    assert seen == sorted(seen, reverse=True)  # ids grow with creation time here


async def test_totals_are_exact_up_to_the_bound_and_estimated_beyond(filled: StreamsSettings) -> None:
    lists = PostgresOrderLists.create(filled, timeout_s=5.0, exact_total_max=1000)
    await lists.open()
    try:
        sort = Sort(SortField.CREATED_AT, Direction.DESC)
        everything = await lists.list(ListQuery(None, None, sort, PageRequest(1, 20)))
        one_customer = await lists.list(ListQuery(None, "customer-7", sort, PageRequest(1, 20)))
    finally:
        await lists.close()
    assert everything.estimated
    assert 0.8 * ROWS <= everything.total <= 1.2 * ROWS  # the planner's estimate of an analysed table
    assert not one_customer.estimated
    assert one_customer.total == ROWS // CUSTOMERS
