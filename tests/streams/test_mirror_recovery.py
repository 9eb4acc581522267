"""Redis is a cache, not the truth: when it loses the checkpoint mirror (a restart, an eviction) while the workers
run, the live worker puts the active generation back by itself, so readers cache and are woken again."""

from __future__ import annotations

import json

from redis.asyncio import Redis

from streams.checkpoints import Checkpoints, Flushed, PartitionPosition
from streams.contract import DETAIL, MirrorKeys
from streams.settings import StreamsSettings
from tests.streams.conftest import create_topics
from tests.streams.history import History, line
from tests.streams.pipeline import Background, produce, until


async def _lose_the_mirror(redis: Redis, prefix: str) -> None:
    keys = [key async for key in redis.scan_iter(match=f"{prefix}:*")]
    if keys:
        await redis.delete(*keys)


def _flushed(order_id: str, version: int) -> Flushed:
    return Flushed(
        positions={0: PartitionPosition(offset=version, timestamp_ms=1)},
        versions={order_id: version},
        applied=1,
        duplicates=0,
        parked_now=0,
        rate=1.0,
    )


async def test_an_idle_live_worker_restores_the_active_generation_redis_lost(settings: StreamsSettings) -> None:
    await create_topics(settings)
    redis = Redis.from_url(settings.redis_url)
    background = Background(settings, DETAIL)
    try:
        await background.start()
        active = MirrorKeys(settings.redis_prefix, DETAIL).active
        assert await redis.get(active) == b"1"
        await _lose_the_mirror(redis, settings.redis_prefix)

        async def restored() -> bool:
            return await redis.get(active) == b"1"

        await until(restored, within=10)  # no event came: the worker's tick did it
    finally:
        await redis.aclose()
        await background.stop()


async def test_the_first_flush_after_redis_lost_the_mirror_is_announced(settings: StreamsSettings) -> None:
    redis = Redis.from_url(settings.redis_url)
    pubsub = redis.pubsub()
    live = Checkpoints(redis, settings.redis_prefix, DETAIL)
    try:
        await live.activate(1)
        await pubsub.subscribe(live.channel)
        await _lose_the_mirror(redis, settings.redis_prefix)
        assert await live.record(1, _flushed("order-1", 3)) is True
        assert await live.active() == 1
        announced: dict[str, int] = {}

        async def heard() -> bool:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.5)
            if message is not None:
                announced.update(json.loads(message["data"]))
            return announced == {"order-1": 3}

        await until(heard, within=5)
        # A worker that never activated its generation (a rebuild) claims nothing.
        await _lose_the_mirror(redis, settings.redis_prefix)
        rebuild = Checkpoints(redis, settings.redis_prefix, DETAIL)
        assert await rebuild.record(2, _flushed("order-1", 3)) is False
        assert await rebuild.active() is None
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await redis.aclose()


async def test_a_live_worker_announces_new_versions_after_redis_lost_the_mirror(settings: StreamsSettings) -> None:
    await create_topics(settings)
    redis = Redis.from_url(settings.redis_url)
    pubsub = redis.pubsub()
    background = Background(settings, DETAIL)
    try:
        await background.start()
        await _lose_the_mirror(redis, settings.redis_prefix)
        await pubsub.subscribe(MirrorKeys(settings.redis_prefix, DETAIL).applied)
        history = History()
        await produce(settings, [history.created(line("A"))])
        announced: dict[str, int] = {}

        async def version_1_announced() -> bool:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is not None:
                announced.update(json.loads(message["data"]))
            return announced.get(history.order_id) == 1

        await until(version_1_announced, within=30)
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await redis.aclose()
        await background.stop()
