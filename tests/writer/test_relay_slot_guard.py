"""The relay's slot is never invalidated under accepted commands: with Connect down (the slot not consumed) and other
traffic filling the WAL, the writer refuses commands with a 503 before Postgres could drop the WAL the slot holds, and
every command it accepted is still readable from the slot.

Runs on its own throwaway cluster (a tiny max_slot_wal_keep_size, 1 MB segments), never the shared one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx
import psycopg
import pytest

from connectors.slots import slot_state
from infra.services.postgres import dsn
from infra.slot_retention import SlotRetention
from servicekit.principals import Role
from tests.writer.helpers import PROBLEM_JSON, bearer, new_order
from tests.writer.throwaway_postgres import throwaway_postgres
from writer.api.app import create_app
from writer.migrate import migrate
from writer.settings import WriterSettings

SLOT = "cqrs_outbox"
POLL_S = 0.05
KEEP = "8MB"
FILLER = 512 * 1024  # WAL bytes of "other traffic" per step: a sixteenth of what the slot may keep


@pytest.fixture(scope="module")
def tiny_slot_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated `orders` database whose relay slot (pgoutput, like Debezium's) nobody consumes: Connect is down."""
    settings = {
        "wal_level": "logical",
        "max_slot_wal_keep_size": KEEP,
        "max_wal_size": "4MB",
        "min_wal_size": "2MB",
        "fsync": "off",
    }
    with throwaway_postgres(tmp_path_factory.mktemp("slot-pg"), settings, initdb_args=("--wal-segsize=1",)) as port:
        with psycopg.connect(dsn(port, "postgres"), autocommit=True) as admin:
            admin.execute("CREATE DATABASE orders")
        url = f"postgresql://postgres@127.0.0.1:{port}/orders"
        migrate(url)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SELECT pg_create_logical_replication_slot(%s, 'pgoutput')", (SLOT,))
        yield url


@pytest.fixture
async def writer(tiny_slot_cluster: str) -> AsyncIterator[tuple[httpx.AsyncClient, WriterSettings]]:
    settings = WriterSettings(
        database_url=tiny_slot_cluster,
        relay_slot=SLOT,
        relay_slot_poll_interval_s=POLL_S,
        jwt_secret="relay-slot-guard-test-secret-0123456789",
        log_level="warning",
    )
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://w") as client:
        yield client, settings


def wal_status(url: str) -> str:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT wal_status FROM pg_replication_slots WHERE slot_name = %s", (SLOT,)).fetchone()
    assert row is not None
    return str(row[0])


def other_traffic(url: str) -> None:
    """WAL the writer did not write (another app on the same cluster), then a checkpoint: the moment Postgres
    invalidates a slot past max_slot_wal_keep_size."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_logical_emit_message(false, 'other-traffic', repeat('x', %s))", (FILLER,))
        conn.execute("CHECKPOINT")


def relayable_orders(url: str) -> bytes:
    """What Debezium would still read from the slot: the decoded outbox inserts (pgoutput, the publication)."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT data FROM pg_logical_slot_peek_binary_changes(%s, NULL, NULL,"
            " 'proto_version', '1', 'publication_names', 'cqrs_outbox')",
            (SLOT,),
        ).fetchall()
    return b"".join(bytes(data) for (data,) in rows)


async def test_a_relay_slot_near_its_limit_pauses_commands_before_any_event_is_lost(
    tiny_slot_cluster: str, writer: tuple[httpx.AsyncClient, WriterSettings]
) -> None:
    client, settings = writer
    headers = {"Authorization": bearer(settings, Role.STAFF, "staff-1")}
    accepted: list[str] = []
    for _ in range(200):
        response = await client.post("/orders", json=new_order(), headers=headers)
        if response.status_code == 503:
            break
        assert response.status_code == 202, response.text
        accepted.append(response.json()["aggregateId"])
        await asyncio.to_thread(other_traffic, tiny_slot_cluster)
        status = wal_status(tiny_slot_cluster)
        assert status != "lost", f"the slot was invalidated while the writer still accepted commands ({len(accepted)})"
        await asyncio.sleep(3 * POLL_S)  # the guard's next reading
    else:
        pytest.fail("the writer never refused a command while the slot filled up")

    assert accepted, "the guard tripped before the slot held anything"
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert response.json()["type"].endswith("relay-at-risk")
    assert response.headers["Retry-After"]
    await asyncio.to_thread(other_traffic, tiny_slot_cluster)  # one more checkpoint: the slot still stands
    assert wal_status(tiny_slot_cluster) in ("reserved", "extended")
    relayable = relayable_orders(tiny_slot_cluster)
    missing = [order_id for order_id in accepted if order_id.encode() not in relayable]
    assert not missing, f"{len(missing)} of {len(accepted)} accepted orders can no longer be relayed"

    warned = slot_state(tiny_slot_cluster, SLOT)
    assert warned is not None
    assert warned.warning() is not None  # what `cqrs connectors status` prints in red

    # The gauges are per process: other writer apps of this test run (polling their slot-less databases once a
    # second) may set them in between, so look a few of this guard's polls long.
    for _ in range(20):
        metrics = (await client.get("/metrics")).text
        if "writer_relay_slot_refusing 1.0" in metrics:
            break
        await asyncio.sleep(POLL_S)
    assert "writer_relay_slot_refusing 1.0" in metrics
    assert "writer_relay_slot_safe_bytes" in metrics


async def test_commands_are_accepted_again_once_the_relay_catches_up(
    tiny_slot_cluster: str, writer: tuple[httpx.AsyncClient, WriterSettings]
) -> None:
    with psycopg.connect(tiny_slot_cluster, autocommit=True) as conn:
        conn.execute("SELECT pg_replication_slot_advance(%s, pg_current_wal_lsn())", (SLOT,))  # Connect is back
        conn.execute("CHECKPOINT")
    await asyncio.sleep(3 * POLL_S)
    client, settings = writer
    headers = {"Authorization": bearer(settings, Role.STAFF, "staff-1")}
    response = await client.post("/orders", json=new_order(), headers=headers)
    assert response.status_code == 202, response.text


@pytest.mark.parametrize(
    ("row", "refuses"),
    [
        (("reserved", 1_000, 7_000_000, 8_000_000), False),
        (("extended", 7_000_000, 1_000_000, 8_000_000), True),  # 12.5 % left
        (("unreserved", 9_000_000, -500_000, 8_000_000), True),
        (("lost", 0, None, 8_000_000), True),
        (("extended", 90_000_000, None, -1), False),  # no max_slot_wal_keep_size: never invalidated
    ],
)
def test_slot_retention_verdict(row: tuple[object, ...], refuses: bool) -> None:
    assert (SlotRetention.from_row(SLOT, row).at_risk(0.2) is not None) is refuses
