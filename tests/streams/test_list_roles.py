"""Least privilege in readdb (`infra/config/readdb_roles.sql`): the projection workers write the list read model as
`cqrs_streams`, which owns its schema and nothing else; the read API reads it as `cqrs_readapi`, which writes
nothing, and sees every generation a rebuild creates without a grant at switch time."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import LiteralString
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import sql
from psycopg.errors import InsufficientPrivilege

from infra.readdb_roles import PROJECTOR_ROLE, READER_ROLE
from infra.services.postgres import READ_DATABASE, ReadDb, dsn
from infra.settings import Ports, StackSettings
from infra.stack import Stack
from readapi.queries import Direction, ListQuery, PageRequest, Sort, SortField
from readapi.settings import ReadApiSettings
from readapi.stores.lists import PostgresOrderLists
from streams.contract import LIST_VIEW
from streams.settings import StreamsSettings
from streams.sinks.postgres import PostgresTargets
from tests.streams.conftest import unique_settings
from tests.writer.throwaway_postgres import throwaway_postgres

pytestmark = pytest.mark.stack

EVERY_ORDER = ListQuery(None, None, Sort(SortField.CREATED_AT, Direction.DESC), PageRequest(1, 10))

_ROW = """
INSERT INTO {table} (id, customer_id, status, currency, total, total_cents, item_count, created_at, updated_at,
                     version, position, state)
VALUES (%s, 'customer-1', 'pending', 'EUR', 1.50, 150, 1, now(), now(), 1, 1, '{{}}')
"""


@pytest.fixture
async def lists(stack: Stack) -> AsyncIterator[tuple[StreamsSettings, PostgresTargets]]:
    """A list read model made by the workers' code as they connect (one order behind the view)."""
    settings = unique_settings(stack)
    targets = PostgresTargets.connect(settings)
    try:
        await targets.ensure_active()
        await _insert(settings, targets.table_name(1), "order-1")
        yield settings, targets
    finally:
        await targets.drop_everything()
        await targets.close()


async def _insert(settings: StreamsSettings, table: str, order_id: str) -> None:
    async with await psycopg.AsyncConnection.connect(settings.readdb_url, autocommit=True) as conn:
        await conn.execute(sql.SQL(_ROW).format(table=sql.Identifier(settings.list_schema, table)), (order_id,))


def _reader_url(stack: Stack) -> str:
    """What the read API's lists connect as (`readapi.api.app` hands them `as_list_reader()`)."""
    return ReadApiSettings(streams=StreamsSettings(ports=stack.settings.ports)).streams.as_list_reader().readdb_url


def test_each_side_connects_to_readdb_as_its_own_role(stack: Stack) -> None:
    assert urlsplit(StreamsSettings(ports=stack.settings.ports).readdb_url).username == PROJECTOR_ROLE
    assert urlsplit(_reader_url(stack)).username == READER_ROLE


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO {schema}.orders_v1 SELECT * FROM {schema}.orders_v1",
        "UPDATE {schema}.orders_v1 SET status = 'shipped'",
        "DELETE FROM {schema}.orders_v1",
        "TRUNCATE {schema}.orders_v1",
        "UPDATE {schema}.generations SET generation = 7",
        "CREATE TABLE {schema}.planted (id text)",
        "CREATE OR REPLACE VIEW {schema}.{view} AS SELECT 'forged' AS id",
        "DROP VIEW {schema}.{view}",
    ],
)
async def test_an_injection_in_the_read_api_cannot_change_the_lists(
    stack: Stack, lists: tuple[StreamsSettings, PostgresTargets], statement: LiteralString
) -> None:
    settings, _ = lists
    names = {"schema": sql.Identifier(settings.list_schema), "view": sql.Identifier(LIST_VIEW)}
    async with await psycopg.AsyncConnection.connect(_reader_url(stack), autocommit=True) as conn:
        with pytest.raises(InsufficientPrivilege):
            await conn.execute(sql.SQL(statement).format(**names))


async def test_the_read_api_role_reads_every_generation_a_rebuild_switches_to(
    stack: Stack, lists: tuple[StreamsSettings, PostgresTargets]
) -> None:
    settings, targets = lists
    reader = PostgresOrderLists.create(settings.as_list_reader(), timeout_s=5.0)
    await reader.open()
    try:
        assert [item["orderId"] for item in (await reader.list(EVERY_ORDER)).items] == ["order-1"]
        await targets.create(2)  # a rebuild: a new table, filled, then the view switched to it (no grant in between)
        await _insert(settings, targets.table_name(2), "order-2")
        await targets.switch(2)
        assert [item["orderId"] for item in (await reader.list(EVERY_ORDER)).items] == ["order-2"]
    finally:
        await reader.close()


async def test_a_compromised_projector_cannot_touch_other_schemas_or_the_write_model(
    stack: Stack, lists: tuple[StreamsSettings, PostgresTargets]
) -> None:
    settings, _ = lists
    other = f"not_lists_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dsn(stack.settings.ports.readdb, READ_DATABASE), autocommit=True) as owner:
        owner.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(other)))
        owner.execute(sql.SQL("CREATE TABLE {} (secret text)").format(sql.Identifier(other, "kept")))
    try:
        async with await psycopg.AsyncConnection.connect(settings.readdb_url, autocommit=True) as conn:
            for statement in (
                sql.SQL("SELECT * FROM {}").format(sql.Identifier(other, "kept")),
                sql.SQL("CREATE TABLE {} (id text)").format(sql.Identifier(other, "planted")),
                sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(other)),
                sql.SQL("CREATE TABLE public.planted (id text)"),
            ):
                with pytest.raises(InsufficientPrivilege):
                    await conn.execute(statement)
    finally:
        with psycopg.connect(dsn(stack.settings.ports.readdb, READ_DATABASE), autocommit=True) as owner:
            owner.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(other)))
    write_model = f"postgresql://{PROJECTOR_ROLE}@127.0.0.1:{stack.settings.ports.postgres}/orders"
    with pytest.raises(psycopg.OperationalError, match="does not exist"):  # no such role in the write model's cluster
        psycopg.connect(write_model, connect_timeout=3).close()


def test_a_readdb_from_before_the_roles_gets_them_and_hands_its_schemas_to_the_projector(tmp_path: Path) -> None:
    """A stack whose workers wrote as `postgres` (before these roles): bringing readdb up makes the roles, and the
    list schema the owner made passes to the projector, readable by the read API, nothing re-projected."""
    with throwaway_postgres(tmp_path, {}) as port:
        with psycopg.connect(dsn(port, "postgres"), autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{READ_DATABASE}"')
        with psycopg.connect(dsn(port, READ_DATABASE), autocommit=True) as owner:
            owner.execute("CREATE SCHEMA lists")
            owner.execute("CREATE TABLE lists.orders_v1 (id text PRIMARY KEY)")
            owner.execute("INSERT INTO lists.orders_v1 VALUES ('order-1')")
            owner.execute("CREATE VIEW lists.orders AS SELECT id FROM lists.orders_v1")
        assert ReadDb(StackSettings(ports=Ports(readdb=port))).healthy()
        settings = StreamsSettings(ports=Ports(readdb=port))
        with psycopg.connect(settings.readdb_url, autocommit=True) as projector:
            projector.execute("CREATE TABLE lists.orders_v2 (id text PRIMARY KEY)")  # its schema now
            projector.execute("CREATE OR REPLACE VIEW lists.orders AS SELECT id FROM lists.orders_v1")  # its view
        with psycopg.connect(settings.as_list_reader().readdb_url, autocommit=True) as reader:
            assert reader.execute("SELECT id FROM lists.orders").fetchall() == [("order-1",)]
            with pytest.raises(InsufficientPrivilege):
                reader.execute("DELETE FROM lists.orders_v1")
