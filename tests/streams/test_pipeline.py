"""Projections against real Kafka and stores, driven by the worker runtime (aiokafka runner in this process): every
read model shows what the events say; redelivery changes nothing; checkpoints are mirrored and announced."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import pytest
from redis.asyncio import Redis

from streams.checkpoints import Checkpoints
from streams.peek import shown
from streams.projections import PROJECTIONS
from streams.settings import StreamsSettings
from tests.streams.conftest import create_topics
from tests.streams.history import History, line
from tests.streams.pipeline import Background, preload, produce, reset_group, run_until_caught_up, until
from tests.streams.read_models import analytics_totals, expected_revenue

pytestmark = pytest.mark.stack


async def test_every_read_model_shows_the_events_and_redelivery_changes_nothing(settings: StreamsSettings) -> None:
    loaded = await preload(settings, 120, seed=21)
    histories, events, ids, want = loaded.histories, loaded.events, loaded.ids, loaded.want

    await asyncio.gather(*(run_until_caught_up(settings, name) for name in PROJECTIONS))
    for name in PROJECTIONS:
        assert await shown(settings, name, ids) == want, name
    facts, daily, skus = await analytics_totals(settings)
    assert facts == len(events)
    revenue: dict[tuple[str, str], tuple[int, Decimal]] = {}
    for _, status, currency, orders, amount in daily:
        o, r = revenue.get((status, currency), (0, Decimal(0)))
        revenue[(status, currency)] = (o + int(orders), r + Decimal(amount))
    assert revenue == expected_revenue(histories)

    # Everything again, from offset 0: duplicates only, no second effect in any store.
    for name in PROJECTIONS:
        await reset_group(settings, settings.group_id(name, 1))
    workers = await asyncio.gather(*(run_until_caught_up(settings, name) for name in PROJECTIONS))
    for worker in workers:
        assert worker.engine.dlq.ledger.entries == {}
    for name in PROJECTIONS:
        assert await shown(settings, name, ids) == want, name
    assert await analytics_totals(settings) == (facts, daily, skus)

    # The mirror: positions per partition match the committed offsets, versions per order are there.
    redis = Redis.from_url(settings.redis_url)
    try:
        checkpoints = Checkpoints(redis, settings.redis_prefix, "orders-mongo")
        positions = await checkpoints.positions(1)
        assert sum(p.offset for p in positions.values()) == len(events)
        assert await checkpoints.applied_version(histories[0].order_id) == histories[0].version
        stats = await checkpoints.stats(1)
        assert stats["applied"] == len(events)
        assert stats["duplicates"] == len(events)
    finally:
        await redis.aclose()


async def test_after_each_flush_the_new_versions_are_announced(settings: StreamsSettings) -> None:
    await create_topics(settings)
    redis = Redis.from_url(settings.redis_url)
    pubsub = redis.pubsub()
    background = Background(settings, "orders-search")
    try:
        await background.start()
        channel = Checkpoints(redis, settings.redis_prefix, "orders-search").channel
        await pubsub.subscribe(channel)
        history = History()
        await produce(settings, [history.created(line("A")), history.confirmed()])
        announced: dict[str, int] = {}

        async def version_2_announced() -> bool:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is not None:
                announced.update(json.loads(message["data"]))
            return announced.get(history.order_id) == 2

        await until(version_2_announced, within=30)
        # A reader woken by the announcement finds the version it waited for.
        assert (await shown(settings, "orders-search", [history.order_id]))[history.order_id].version == 2
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await redis.aclose()
        await background.stop()
