"""Freshness from the streams checkpoint mirror in Redis (layout: `streams.contract.MirrorKeys`).

The read API only reads the mirror, with one exception: Redis is a cache, not the truth, so when it lost an order's
version (a restart, an eviction) the read flow takes the version from the store's document and fills the gap
(`fill`, never overwriting what a worker wrote), which makes that order cacheable again. While Redis is away the
lookups answer "unknown" (no generation, no version) instead of failing: reads go to the stores, uncached.

Each read is one Lua call, so a request pays one round trip for "which generation, which version" however many keys
that touches; the detail lookup also fetches the cached answer for that exact version in the same call, which makes
a cache hit cost one Redis round trip in all.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from readapi.ports import ViewPosition
from streams.contract import UPDATED_AT, MirrorKeys, decode_partition

log = logging.getLogger(__name__)

# A generation's key is ARGV[head] .. generation .. ARGV[tail] (`MirrorKeys.around_generation`).
_POSITION = """
local generation = redis.call('GET', ARGV[1])
if not generation then return {false, {}, false} end
local partitions = redis.call('HGETALL', ARGV[2] .. generation .. ARGV[3])
return {generation, partitions, redis.call('HGET', ARGV[2] .. generation .. ARGV[4], ARGV[5])}
"""

# The cached answer is looked up under the version the mirror says is applied: a new version makes the old entry
# unreachable without deleting it (its TTL does).
_DETAIL = """
local generation = redis.call('GET', ARGV[1])
if not generation then return {false, false, false} end
local version = redis.call('HGET', ARGV[2] .. generation .. ARGV[3], ARGV[4])
if not version then return {generation, false, false} end
return {generation, version, redis.call('GET', ARGV[5] .. ':g' .. generation .. ':' .. ARGV[4] .. ':v' .. version)}
"""

# HSETNX: a worker's HSET always wins, so a reader can never move a version back.
_FILL = """
local generation = redis.call('GET', ARGV[1])
if not generation then return false end
redis.call('HSETNX', ARGV[2] .. generation .. ARGV[3], ARGV[4], ARGV[5])
return generation
"""


@dataclass(frozen=True, slots=True)
class DetailLookup:
    generation: int | None
    applied_version: int | None
    cached: bytes | None


class CheckpointMirror:
    """Implements `readapi.ports.Freshness` on the mirror the streams workers write after every flush."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix
        self._keys: dict[str, MirrorKeys] = {}
        self._position = redis.register_script(_POSITION)
        self._detail = redis.register_script(_DETAIL)
        self._fill = redis.register_script(_FILL)

    def keys(self, projection: str) -> MirrorKeys:
        keys = self._keys.get(projection)
        if keys is None:
            keys = self._keys[projection] = MirrorKeys(self._prefix, projection)
        return keys

    def channel(self, projection: str) -> str:
        """Where the active generation announces `{orderId: version}`."""
        return self.keys(projection).applied

    async def applied_version(self, projection: str, order_id: str) -> int | None:
        return (await self.detail(projection, order_id, cache_prefix="")).applied_version

    async def detail(self, projection: str, order_id: str, *, cache_prefix: str) -> DetailLookup:
        keys = self.keys(projection)
        head, tail = keys.around_generation("versions")
        try:
            generation, version, cached = await self._detail(args=[keys.active, head, tail, order_id, cache_prefix])
        except RedisError as error:
            log.warning("mirror.detail_failed error=%r", error)
            return DetailLookup(generation=None, applied_version=None, cached=None)
        return DetailLookup(
            generation=int(generation) if generation else None,
            applied_version=int(version) if version else None,
            cached=cached if cache_prefix and cached else None,
        )

    async def fill(self, projection: str, order_id: str, version: int) -> DetailLookup:
        """Record the store's `version` of an order the mirror does not know (unless a worker wrote one meanwhile);
        the lookup names the active generation (None while Redis has not got it back: nothing can be cached)."""
        keys = self.keys(projection)
        head, tail = keys.around_generation("versions")
        try:
            generation = await self._fill(args=[keys.active, head, tail, order_id, str(version)])
        except RedisError as error:
            log.warning("mirror.fill_failed error=%r", error)
            generation = None
        return DetailLookup(generation=int(generation) if generation else None, applied_version=version, cached=None)

    async def position(self, projection: str) -> ViewPosition:
        try:
            generation, partitions, flushed = await self._partitions(projection)
        except RedisError as error:
            log.warning("mirror.position_failed error=%r", error)
            return ViewPosition(generation=None, position=0, last_event_ms=None, flushed_ms=None)
        offsets = 0
        newest: int | None = None
        for offset, timestamp_ms in partitions.values():
            offsets += offset
            newest = max(newest or 0, timestamp_ms)
        return ViewPosition(
            generation=int(generation) if generation else None,
            position=offsets,
            last_event_ms=newest,
            flushed_ms=int(flushed) if flushed else None,
        )

    async def partitions(self, projection: str) -> dict[int, tuple[int, int]]:
        """Partition → (next offset, event time in ms of the last applied event) of the active generation: what the
        replica lag compares with the log's end (`readapi.lag`). Raises `RedisError`."""
        return (await self._partitions(projection))[1]

    async def _partitions(self, projection: str) -> tuple[bytes | None, dict[int, tuple[int, int]], bytes | None]:
        keys = self.keys(projection)
        head, partitions = keys.around_generation("partitions")
        _, stats = keys.around_generation("stats")
        generation, flat, flushed = await self._position(args=[keys.active, head, partitions, stats, UPDATED_AT])
        decoded = {
            int(partition): decode_partition(value) for partition, value in zip(flat[::2], flat[1::2], strict=True)
        }
        return generation, decoded, flushed
