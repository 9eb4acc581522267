"""Settings whose every name is private (topics, groups, databases, index alias, Redis keys), and their removal.

Tests and benchmarks run on the shared stack next to the real pipeline; a sandbox never touches the real names.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Collection
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from redis.asyncio import Redis

from streams.projections import PROJECTIONS
from streams.settings import StreamsSettings
from streams.sinks import STORES, targets_for


def sandbox(
    base: StreamsSettings | None = None, *, tag: str = "t", topic: str | None = None, **overrides: Any
) -> StreamsSettings:
    """Copy of `base` with unique names; `topic` shares an existing event topic between sandboxes."""
    uid = f"{tag}{uuid.uuid4().hex[:10]}"
    values = (base or StreamsSettings()).model_dump()
    values.update(
        topic=topic or f"{uid}.events.Order",
        group_prefix=f"{uid}.",
        dlq_prefix=f"{uid}.dlq.",
        mongo_database=f"{uid}_orders".replace("-", "_"),
        list_schema=f"{uid}_lists".replace("-", "_").lower(),
        search_alias=f"{uid}-orders",
        clickhouse_database=f"{uid}_analytics".replace("-", "_"),
        redis_prefix=uid,
    )
    return StreamsSettings(**(values | overrides))


async def create_topics(settings: StreamsSettings, partitions: int = 3, *, events: bool = True) -> None:
    """The event topic (unless shared) and the DLQ topics, as `connectors/topics.yaml` would."""
    topics = [NewTopic(settings.dlq_topic(name), num_partitions=1, replication_factor=1) for name in PROJECTIONS]
    if events:
        topics.append(NewTopic(settings.topic, num_partitions=partitions, replication_factor=1))
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics(topics)
    finally:
        await admin.close()


async def remove(settings: StreamsSettings, *, events: bool = True, stores: Collection[str] = STORES) -> None:
    """Delete everything the sandbox names: store targets, Redis keys, DLQ topics (and the event topic). `stores`: only
    those the sandbox used (`streams.sinks.STORES` names), so a store it never touched need not answer. Every part is
    attempted even when one fails (a store that is down must not leave the others' leftovers behind); the first
    failure is raised at the end."""
    failures: list[BaseException] = []
    for part in (_drop_stores(settings, stores), _drop_keys(settings), _drop_topics(settings, events=events)):
        try:
            await part
        except Exception as error:
            failures.append(error)
    if failures:
        raise failures[0]


async def _drop_stores(settings: StreamsSettings, stores: Collection[str]) -> None:
    failures: list[BaseException] = []
    for store in stores:
        targets = targets_for(store, settings)
        try:
            await targets.drop_everything()
        except Exception as error:
            failures.append(error)
        finally:
            await targets.close()
    if failures:
        raise failures[0]


async def _drop_keys(settings: StreamsSettings) -> None:
    redis = Redis.from_url(settings.redis_url)
    try:
        keys = [key async for key in redis.scan_iter(match=f"{settings.redis_prefix}:*")]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


async def _drop_topics(settings: StreamsSettings, *, events: bool) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        names = [settings.dlq_topic(name) for name in PROJECTIONS] + ([settings.topic] if events else [])
        existing = set(await admin.list_topics())
        doomed = [name for name in names if name in existing]
        if doomed:
            with contextlib.suppress(Exception):  # a topic deleted concurrently is fine
                await admin.delete_topics(doomed)
    finally:
        await admin.close()
