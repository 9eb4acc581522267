"""Redis is a cache, not the truth: when it loses the checkpoint mirror (restart, eviction) or drops the waiter's
connection, reads stay correct at once and caching and announcements come back by themselves."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from infra.settings import Ports, StackSettings
from infra.stack import Stack
from readapi.freshness import CheckpointMirror
from readapi.waiter import VersionWaiter
from streams.checkpoints import Checkpoints, Flushed, PartitionPosition
from streams.contract import DETAIL
from streams.sandbox import remove
from streams.settings import StreamsSettings
from tests.readapi.conftest import Auth, client_of, readapi_settings, running_app
from tests.readapi.helpers import ok
from tests.readapi.seed import varied_histories
from tests.servers import free_port
from tests.streams.conftest import create_topics, unique_settings
from tests.streams.history import History, line
from tests.streams.pipeline import Background, produce, run_until_caught_up

pytestmark = pytest.mark.stack


@dataclass(frozen=True, slots=True)
class Projected:
    streams: StreamsSettings
    reader: httpx.AsyncClient
    redis: Redis
    histories: list[History]


@pytest.fixture
async def projected(stack: Stack) -> AsyncIterator[Projected]:
    """A few orders in a private detail read model, its live worker idling, and the read API on top."""
    streams = unique_settings(stack)
    histories = varied_histories(4, seed=14)
    await create_topics(streams)
    worker = Background(streams, DETAIL)
    redis = Redis.from_url(streams.redis_url)
    try:
        await produce(streams, [event for history in histories for event in history.events])
        await run_until_caught_up(streams, DETAIL)
        await worker.start()
        async for app in running_app(readapi_settings(streams)):
            async with client_of(app) as reader:
                yield Projected(streams, reader, redis, histories)
    finally:
        await worker.stop()
        await _forget_everything_in_redis(redis, streams.redis_prefix)
        await redis.aclose()
        await remove(streams)


async def _forget_everything_in_redis(redis: Redis, prefix: str) -> None:
    """What a Redis restart does to one sandbox: the mirror and the cached answers keyed on it are gone."""
    for pattern in (f"{prefix}:*", f"*:{prefix}:*"):
        keys = [key async for key in redis.scan_iter(match=pattern)]
        if keys:
            await redis.delete(*keys)


async def test_after_redis_lost_the_mirror_min_version_answers_at_once_and_caching_resumes(
    projected: Projected, auth: Auth
) -> None:
    history = projected.histories[0]
    url = f"/orders/{history.order_id}"
    ok(await projected.reader.get(url, headers=auth()))
    await _forget_everything_in_redis(projected.redis, projected.streams.redis_prefix)

    started = time.perf_counter()
    body = ok(await projected.reader.get(url, params={"minVersion": history.version}, headers=auth()))
    assert time.perf_counter() - started < 0.5  # the store had that version: no wait for an announcement
    assert body["meta"]["stale"] is False
    assert body["data"]["version"] == body["meta"]["version"] == history.version

    deadline = time.monotonic() + 10  # the idle worker puts the active generation back at its next tick
    while not ok(await projected.reader.get(url, headers=auth()))["meta"]["cached"]:
        assert time.monotonic() < deadline, "the detail is never cached again"
        await asyncio.sleep(0.2)


@pytest.fixture
async def private_redis(stack: Stack) -> AsyncIterator[tuple[Redis, str]]:
    """A client named after a private key prefix (so the test can find and kill only its own connections)."""
    prefix = f"t{uuid.uuid4().hex[:10]}"
    redis = Redis.from_url(StreamsSettings(ports=stack.settings.ports).redis_url, client_name=prefix)
    try:
        yield redis, prefix
    finally:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}:*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


async def _kill_own_subscriptions(redis: Redis, name: str) -> int:
    killed = 0
    for client in await redis.client_list(_type="pubsub"):
        if client.get("name") == name:
            killed += int(await redis.client_kill_filter(_id=client["id"]))
    return killed


async def test_a_waiter_whose_announcement_was_lost_with_the_connection_is_woken_by_the_reconnect(
    private_redis: tuple[Redis, str],
) -> None:
    """The version is applied while the subscription is down: its announcement is gone, the mirror still has it."""
    redis, prefix = private_redis
    mirror = CheckpointMirror(redis, prefix)
    waiter = VersionWaiter(redis, mirror, [DETAIL])
    await waiter.start()
    try:
        waiting = asyncio.create_task(waiter.wait(DETAIL, "order-1", 1, timeout_s=5))
        await asyncio.sleep(0.2)  # registered, and the mirror read said "not yet"
        keys = mirror.keys(DETAIL)
        await redis.set(keys.active, "1")
        await redis.hset(keys.versions(1), "order-1", "1")  # applied, announced to nobody
        assert await _kill_own_subscriptions(redis, prefix) == 1
        assert await waiting == 1
        # And the new subscription hears announcements again.
        later = asyncio.create_task(waiter.wait(DETAIL, "order-2", 1, timeout_s=5))
        for _ in range(50):  # announce until the re-subscribed listener hears it (pub/sub keeps nothing)
            await asyncio.sleep(0.1)
            await redis.publish(mirror.channel(DETAIL), json.dumps({"order-2": 1}))
            if later.done():
                break
        assert await later == 1
    finally:
        await waiter.stop()


async def test_while_redis_is_away_the_mirror_answers_unknown_instead_of_failing_the_read() -> None:
    with socket.socket() as probe:  # a port nobody listens on: Redis is down
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    redis = Redis.from_url(f"redis://127.0.0.1:{port}/0", socket_connect_timeout=1)
    mirror = CheckpointMirror(redis, "away")
    try:
        lookup = await mirror.detail(DETAIL, "order-1", cache_prefix="readapi:detail:away")
        assert (lookup.generation, lookup.applied_version, lookup.cached) == (None, None, None)
        assert (await mirror.fill(DETAIL, "order-1", 3)).generation is None
        assert (await mirror.position(DETAIL)).generation is None
    finally:
        await redis.aclose()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[Stack]:
    """A throwaway Redis of our own, which this test may restart (the shared one must stay up)."""
    redis = Stack(StackSettings(state_dir=tmp_path, ports=Ports(redis=free_port())), ["redis"])
    redis.up()
    try:
        yield redis
    finally:
        redis.down()


async def test_after_a_redis_restart_the_live_worker_announces_and_the_waiter_is_woken_again(own_redis: Stack) -> None:
    """Redis keeps nothing: the active generation, the mirror and every subscription are gone with the restart."""
    url = StreamsSettings(ports=own_redis.settings.ports).redis_url
    streams_side, reader_side = Redis.from_url(url), Redis.from_url(url)
    live = Checkpoints(streams_side, "own", DETAIL)  # what a live worker holds after activating its generation
    waiter = VersionWaiter(reader_side, CheckpointMirror(reader_side, "own"), [DETAIL])
    try:
        await live.activate(1)
        await waiter.start()
        await asyncio.to_thread(own_redis.down)
        await asyncio.to_thread(own_redis.up)
        waiting = asyncio.create_task(waiter.wait(DETAIL, "order-1", 1, timeout_s=10))
        flushed = Flushed({0: PartitionPosition(1, 1)}, {"order-1": 1}, applied=1, duplicates=0, parked_now=0, rate=1)
        for _ in range(40):  # flushes go on; the waiter hears one once it has subscribed again
            with contextlib.suppress(RedisError):  # the worker's pool finds its old connections dead first
                await live.record(1, flushed)
            await asyncio.sleep(0.2)
            if waiting.done():
                break
        assert await waiting == 1
    finally:
        await waiter.stop()
        await streams_side.aclose()
        await reader_side.aclose()


async def test_after_a_redis_restart_known_orders_answer_at_once_and_read_your_writes_is_fresh_within_10_s(
    stack: Stack, own_redis: Stack, auth: Auth
) -> None:
    """The `cqrs chaos` Redis scenario in small, on a Redis of our own: a projection and the read API run on it,
    Redis restarts (losing mirror, cache and subscriptions), and readers must not notice more than a moment."""
    ports = stack.settings.ports.model_copy(update={"redis": own_redis.settings.ports.redis})
    streams = unique_settings(stack, ports=ports)
    known, later = History(), History()
    await create_topics(streams)
    worker = Background(streams, DETAIL)
    try:
        await produce(streams, [known.created(line("K")), known.confirmed()])
        await run_until_caught_up(streams, DETAIL)
        await worker.start()
        async for app in running_app(readapi_settings(streams)):
            async with client_of(app) as reader:
                reader.headers.update(auth())
                await asyncio.to_thread(own_redis.down)
                await asyncio.to_thread(own_redis.up)
                up_at = time.monotonic()

                started = time.perf_counter()
                body = ok(await reader.get(f"/orders/{known.order_id}", params={"minVersion": known.version}))
                assert time.perf_counter() - started < 0.5  # the store had it: no wait for an announcement
                assert (body["data"]["version"], body["meta"]["stale"]) == (known.version, False)

                await produce(streams, [later.created(line("L"))])
                while True:  # one more version of the same order, until its read is fresh and woken in time
                    started = time.perf_counter()
                    params = {"minVersion": str(later.version), "timeout": "2"}
                    body = ok(await reader.get(f"/orders/{later.order_id}", params=params))
                    if body["meta"]["stale"] is False and time.perf_counter() - started < 1.0:
                        break
                    assert time.monotonic() - up_at < 10, "read-your-writes not fresh again within 10 s"
                    await produce(streams, [later.added(line(f"L{later.version}"))])
    finally:
        await worker.stop()
        await remove(streams)
