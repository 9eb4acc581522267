"""A slow endpoint against Kafka's poll interval: the agent's batch ends at its deadline and defers the slow
endpoint's rest, instead of overrunning `max_poll_interval_ms`, being put out of its group and having the batch
redelivered to every endpoint.

Isolated from the other tests' traffic: a topic and a database of its own, events produced straight to the topic
(as the outbox router writes them), receivers on loopback."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from psycopg_pool import AsyncConnectionPool

from connectors.topics import TopicSpec, ensure_topics
from infra.stack import Stack
from streams.webhooks.cipher import secret_cipher
from streams.webhooks.endpoints import Pool
from streams.webhooks.postgres import PostgresWebhookRegistry
from streams.webhooks.receiver import Receiver
from streams.webhooks.registry import WebhookEndpoint
from streams.webhooks.settings import WebhookSettings
from streams.webhooks.signature import new_secret
from tests.streams.history import History, as_records
from tests.streams.webhooks.agent import AgentThread, agent_settings
from tests.streams.webhooks.throwaway import webhook_database


@pytest.fixture
def database_url(stack: Stack) -> Iterator[str]:
    with webhook_database(stack.settings.ports.postgres, "webhooks_deadline") as url:
        yield url


@pytest.fixture
def topic(stack: Stack) -> Iterator[str]:
    bootstrap = f"127.0.0.1:{stack.settings.ports.kafka}"
    name = f"webhooks-deadline-{uuid.uuid4().hex[:8]}"
    asyncio.run(ensure_topics(bootstrap, [TopicSpec(name, 2)]))
    yield name
    asyncio.run(_delete_topic(bootstrap, name))


async def _delete_topic(bootstrap: str, name: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics([name])
    finally:
        await admin.close()


async def register(database_url: str, url: str, secret: str) -> uuid.UUID:
    pool: Pool = AsyncConnectionPool(database_url, min_size=1, max_size=1, open=False, kwargs={"autocommit": True})
    await pool.open(wait=True)
    try:
        endpoint = WebhookEndpoint(
            id=uuid.uuid4(), url=url, event_types=(), description=None, secret=secret, created_by="test",
            created_at=datetime.now(UTC),
        )  # fmt: skip
        await PostgresWebhookRegistry(pool, secret_cipher(WebhookSettings(dev_mode=True))).register(endpoint)
        return endpoint.id
    finally:
        await pool.close()


async def produce(bootstrap: str, topic: str, histories: list[History]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for history in histories:
            for record in as_records(history.events, topic=topic):
                await producer.send(topic, record.value, key=record.key, headers=list(record.headers))
        await producer.flush()
    finally:
        await producer.stop()


def stories(count: int) -> list[History]:
    """Orders created, given an item and confirmed, now (an endpoint gets only events after its registration)."""
    histories = []
    for _ in range(count):
        history = History(at=datetime.now(UTC))
        history.created()
        history.added()
        history.confirmed()
        histories.append(history)
    return histories


def test_a_slow_endpoint_is_deferred_at_the_batch_deadline_instead_of_making_the_group_resend_the_batch(
    stack: Stack, database_url: str, topic: str
) -> None:
    """Two agents share the group (2 partitions); 12 events; the slow endpoint takes 1.2 s each, one at a time:
    seconds per batch, past the 4 s poll interval, so the group would hand the batch to the other agent, which would
    send it again, to the fast endpoint too. With the 2.5 s deadline every batch commits in time, the fast endpoint
    gets each event exactly once, and the slow one gets them all, in order per order, from the deferred queue."""
    bootstrap = f"127.0.0.1:{stack.settings.ports.kafka}"
    secret = new_secret()
    settings = agent_settings(
        database_url=database_url, topic=topic, max_poll_interval_ms=4000, batch_deadline_s=2.5, timeout_s=2.0,
        endpoint_concurrency=1, batch_timeout_s=1.0,
    )  # fmt: skip
    with (
        Receiver(secret, delay_s=1.2) as slow,
        Receiver(secret) as fast,
        AgentThread(settings, start_at_end=False),
        AgentThread(settings, start_at_end=False),
    ):
        asyncio.run(register(database_url, slow.url, secret))
        asyncio.run(register(database_url, fast.url, secret))
        histories = stories(4)
        asyncio.run(produce(bootstrap, topic, histories))
        expected = {str(event.event_id) for history in histories for event in history.events}
        assert fast.wait_for(lambda: set(fast.successes) >= expected, 60)
        assert slow.wait_for(lambda: set(slow.successes) >= expected, 90)
        fast.wait_for(lambda: False, 5)  # a redelivered batch would reach the fast endpoint again by now
        assert dict(fast.attempts) == dict.fromkeys(expected, 1)  # each exactly once: no rebalance, no resent batch

    for history in histories:
        order = [effect.webhook_id for effect in slow.effects if effect.event["aggregateId"] == history.order_id]
        assert order == [str(event.event_id) for event in history.events]
    with psycopg.connect(database_url) as conn:
        outcomes = {outcome for (outcome,) in conn.execute("SELECT DISTINCT outcome FROM webhook_deliveries")}
    assert outcomes == {"delivered", "deferred"}  # the deadline cut batches; nothing failed or was parked
