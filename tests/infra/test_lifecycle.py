"""`up` is idempotent and recovers crashed services; `down` then `up` keeps the data."""

from __future__ import annotations

import asyncio
import uuid

import psycopg
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from infra.process import kill_hard
from infra.services.postgres import dsn
from infra.stack import Stack

pytestmark = [pytest.mark.stack, pytest.mark.disruptive]


def pids(stack: Stack) -> dict[str, int | None]:
    return {row.name: row.pid for row in stack.status()}


def test_up_on_a_running_stack_keeps_every_process(stack: Stack) -> None:
    before = pids(stack)
    stack.up()
    assert pids(stack) == before
    assert all(row.healthy for row in stack.status())


def test_up_recovers_a_killed_service_with_a_stale_pid_file(stack: Stack) -> None:
    redis_only = Stack(stack.settings, ["redis"])
    old_pid = pids(redis_only)["redis"]
    assert old_pid is not None
    kill_hard(old_pid)
    redis_only.up()
    [row] = redis_only.status()
    assert row.healthy
    assert row.pid not in (None, old_pid)


def test_down_then_up_keeps_postgres_rows_and_kafka_topics(stack: Stack) -> None:
    marker, topic = uuid.uuid4().hex, f"persist-{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dsn(stack.settings.ports.postgres), autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS persistence_check (marker text PRIMARY KEY)")
        conn.execute("INSERT INTO persistence_check VALUES (%s)", (marker,))
    bootstrap = f"127.0.0.1:{stack.settings.ports.kafka}"
    asyncio.run(_create_topic(bootstrap, topic))

    restarted = Stack(stack.settings, ["postgres", "kafka"])
    restarted.down()
    assert all(row.pid is None for row in restarted.status())
    stack.up()

    with psycopg.connect(dsn(stack.settings.ports.postgres), autocommit=True) as conn:
        assert conn.execute("SELECT 1 FROM persistence_check WHERE marker = %s", (marker,)).fetchone() == (1,)
    assert asyncio.run(_topic_reappears(bootstrap, topic))


async def _create_topic(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()


async def _topic_reappears(bootstrap: str, topic: str) -> bool:
    """A restarted broker answers before it has reloaded every topic's metadata from its log: allow it a moment."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        for _ in range(60):
            if topic in await admin.list_topics():
                return True
            await asyncio.sleep(0.5)
        return False
    finally:
        await admin.close()
