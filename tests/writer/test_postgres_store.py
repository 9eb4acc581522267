"""The `CommandStore` contract against PostgreSQL, plus what only the Postgres adapter promises."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from tests.writer.store_contract import CommandStoreContract, RecordingDecider, create_command, request_for
from writer.errors import StoreUnavailable
from writer.postgres import PostgresCommandStore, create_pool
from writer.settings import WriterSettings


class TestPostgresCommandStore(CommandStoreContract):
    @pytest.fixture
    async def store(self, settings: WriterSettings, db: psycopg.AsyncConnection) -> AsyncIterator[PostgresCommandStore]:
        pool = create_pool(settings)
        await pool.open()
        try:
            yield PostgresCommandStore(pool)
        finally:
            await pool.close()


async def test_the_version_trigger_refuses_a_write_that_skips_a_version(
    database_url: str, db: psycopg.AsyncConnection
) -> None:
    store_pool = AsyncConnectionPool(database_url, open=False, kwargs={"autocommit": True})
    await store_pool.open()
    try:
        command = create_command()
        await PostgresCommandStore(store_pool).execute(request_for(command), RecordingDecider(command))
    finally:
        await store_pool.close()
    with pytest.raises(psycopg.errors.SerializationFailure):
        await db.execute("UPDATE orders SET version = version + 2 WHERE id = %s", (command.order_id,))
    cursor = await db.execute("UPDATE orders SET version = version + 1 WHERE id = %s", (command.order_id,))
    assert cursor.rowcount == 1


async def test_an_unreachable_database_is_store_unavailable(settings: WriterSettings) -> None:
    unreachable = settings.model_copy(
        update={"database_url": "postgresql://postgres@127.0.0.1:1/none?connect_timeout=1", "pool_timeout_s": 0.5}
    )
    pool = create_pool(unreachable)
    await pool.open(wait=False)
    try:
        store = PostgresCommandStore(pool)
        with pytest.raises(StoreUnavailable):
            await store.check_ready()
        command = create_command()
        with pytest.raises(StoreUnavailable):
            await store.execute(request_for(command), RecordingDecider(command))
    finally:
        await pool.close(timeout=0)


async def test_an_overloaded_writer_refuses_at_once_instead_of_queueing(settings: WriterSettings) -> None:
    # Open-loop load above capacity: with an unbounded queue every request waited `pool_timeout_s` and then failed,
    # and accepted commands/s collapsed. A bounded queue answers the excess 503 at once.
    overloaded = settings.model_copy(update={"pool_min_size": 1, "pool_max_size": 1, "pool_max_waiting": 1})
    pool = create_pool(overloaded)
    await pool.open()
    try:
        store = PostgresCommandStore(pool)
        async with pool.connection():  # the only connection is busy
            waiting = asyncio.ensure_future(store.check_ready())  # the one request the queue may hold
            await asyncio.sleep(0.05)
            command = create_command()
            started = time.monotonic()
            with pytest.raises(StoreUnavailable):
                await store.execute(request_for(command), RecordingDecider(command))
            assert time.monotonic() - started < 1.0  # not after pool_timeout_s (5 s)
        await waiting  # the queued request got the connection once it was free
    finally:
        await pool.close()
