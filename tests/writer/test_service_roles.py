"""Least privilege: each service connects as its own role (writer migration 0008_service_roles), and a role can do
what its service needs and nothing it does not — a bug or an injection in the read API cannot write orders, the
writer cannot take WAL away from the relay by creating slots of its own."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import httpx
import psycopg
import pytest

from servicekit.principals import Role
from tests.writer.helpers import bearer, line, new_order
from writer.api.app import create_app
from writer.settings import WriterSettings

pytestmark = pytest.mark.stack


def as_role(database_url: str, role: str) -> str:
    return database_url.replace("postgresql://postgres@", f"postgresql://{role}@", 1)


def test_the_read_api_role_cannot_insert_into_orders(database_url: str) -> None:
    with psycopg.connect(as_role(database_url, "cqrs_readapi"), autocommit=True) as conn:
        conn.execute("SELECT count(*) FROM order_summary")  # what strong reads need
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO orders DEFAULT VALUES")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM orders")


def test_the_writer_role_cannot_create_a_replication_slot(database_url: str) -> None:
    with psycopg.connect(as_role(database_url, "cqrs_writer"), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT pg_create_logical_replication_slot('writer_must_not', 'pgoutput')")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DROP TABLE outbox")


def test_the_relay_role_reads_the_publication_and_writes_its_heartbeat(database_url: str) -> None:
    slot = f"relay_role_test_{os.getpid()}"
    with psycopg.connect(as_role(database_url, "cqrs_relay"), autocommit=True) as conn:
        conn.execute("SELECT pg_create_logical_replication_slot(%s, 'pgoutput')", (slot,))
        try:
            conn.execute(
                "INSERT INTO debezium_heartbeat (id, beat_at) VALUES (1, now())"
                " ON CONFLICT (id) DO UPDATE SET beat_at = excluded.beat_at"
            )
            changes = conn.execute(
                "SELECT count(*) FROM pg_logical_slot_peek_binary_changes(%s, NULL, NULL,"
                " 'proto_version', '1', 'publication_names', 'cqrs_outbox')",
                (slot,),
            ).fetchone()
            assert changes is not None
            assert changes[0] > 0
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("SELECT * FROM orders")
        finally:
            conn.execute("SELECT pg_drop_replication_slot(%s)", (slot,))


@pytest.fixture
async def writer_as_its_role(database_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, WriterSettings]]:
    settings = WriterSettings(
        database_url=as_role(database_url, "cqrs_writer"),
        jwt_secret="service-roles-test-secret-0123456789abcdef",
        log_level="warning",
    )
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://w") as client:
        yield client, settings


async def test_the_writer_role_can_run_every_kind_of_write(
    writer_as_its_role: tuple[httpx.AsyncClient, WriterSettings],
) -> None:
    client, settings = writer_as_its_role
    headers = {"Authorization": bearer(settings, Role.STAFF, "staff-1"), "Idempotency-Key": f"roles-{os.getpid()}"}
    created = await client.post("/orders", json=new_order(), headers=headers)
    assert created.status_code == 202, created.text
    assert (await client.post("/orders", json=new_order(), headers=headers)).status_code == 202  # replayed
    order_id = created.json()["aggregateId"]
    plain = {"Authorization": headers["Authorization"]}
    added = await client.post(f"/orders/{order_id}/items", json=line("SKU-2"), headers=plain)
    assert added.status_code == 202, added.text
    cancelled = await client.post(f"/orders/{order_id}/cancel", json={"reason": "roles test"}, headers=plain)
    assert cancelled.status_code == 202, cancelled.text
    assert (await client.get(f"/commands/{cancelled.json()['commandId']}", headers=plain)).status_code == 200
    assert (await client.get("/health/ready")).status_code == 200
