"""Fixtures of the writer tests: a private database on the real Postgres, migrated once per run; the real app
(lifespan and pool included) behind httpx's ASGI transport; tables emptied before every test."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import psycopg
import pytest
from fastapi import FastAPI

from infra.services.postgres import dsn
from infra.stack import Stack
from servicekit.principals import Role
from tests.writer.helpers import TABLES, bearer
from writer.api.app import create_app
from writer.migrate import migrate
from writer.settings import WriterSettings

DATABASE_PREFIX = "writer_test_"


@pytest.fixture(scope="session")
def database_url(stack: Stack) -> Iterator[str]:
    """A database of this test run (named after the pid, so parallel runs never share one)."""
    port = stack.settings.ports.postgres
    name = f"{DATABASE_PREFIX}{os.getpid()}"
    with psycopg.connect(dsn(port, "postgres"), autocommit=True) as admin:
        _drop_abandoned_databases(admin)
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql://postgres@127.0.0.1:{port}/{name}"
    migrate(url)
    yield url
    with psycopg.connect(dsn(port, "postgres"), autocommit=True) as admin:
        _drop_database(admin, name)


def _drop_database(admin: psycopg.Connection, name: str) -> None:
    # A logical slot pins its database; a test that failed half-way may have left one behind.
    for (slot,) in admin.execute("SELECT slot_name FROM pg_replication_slots WHERE database = %s", (name,)):
        admin.execute("SELECT pg_drop_replication_slot(%s)", (slot,))
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _drop_abandoned_databases(admin: psycopg.Connection) -> None:
    """Databases of earlier runs whose process is gone (killed before its teardown ran)."""
    rows = admin.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (DATABASE_PREFIX + "%",))
    for (name,) in rows.fetchall():
        pid = name.removeprefix(DATABASE_PREFIX)
        if pid.isdigit() and not _process_alive(int(pid)):
            _drop_database(admin, name)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@pytest.fixture(scope="session")
def settings(database_url: str) -> WriterSettings:
    return WriterSettings(
        database_url=database_url, max_body_bytes=16 * 1024, pool_max_size=24, log_level="warning", grpc_enabled=False
    )  # gRPC: tests/writer/grpc start their own


@pytest.fixture(scope="session")
async def app(settings: WriterSettings) -> AsyncIterator[FastAPI]:
    """The real app with its real lifespan (Postgres pool), shared by the tests of the run."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI, db: psycopg.AsyncConnection) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the app; depends on `db`, so the tables are empty when the test starts."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://writer") as http:
        yield http


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[psycopg.AsyncConnection]:
    """A connection for arranging and checking rows; every table is empty when the test starts."""
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await conn.execute(f"TRUNCATE {', '.join(TABLES)}")
        yield conn


@pytest.fixture
def auth(settings: WriterSettings) -> Callable[..., dict[str, str]]:
    """`auth(Role.STAFF)` / `auth(Role.CUSTOMER, "c-1")` → an Authorization header."""

    def headers(role: Role = Role.STAFF, subject: str = "staff-1") -> dict[str, str]:
        return {"Authorization": bearer(settings, role, subject)}

    return headers
