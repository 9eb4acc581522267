"""Freshness from the streams checkpoint mirror in Redis (layout: `streams.checkpoints`), read-only.

Each read is one Lua call, so a request pays one round trip for "which generation, which version" however many keys
that touches; the detail lookup also fetches the cached answer for that exact version in the same call, which makes
a cache hit cost one Redis round trip in all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from redis.asyncio import Redis

from readapi.ports import ViewPosition

_POSITION = """
local generation = redis.call('GET', ARGV[1] .. ':active')
if not generation then return {false, {}, false} end
local base = ARGV[1] .. ':g' .. generation
return {generation, redis.call('HGETALL', base .. ':partitions'), redis.call('HGET', base .. ':stats', 'updatedAt')}
"""

# The cached answer is looked up under the version the mirror says is applied: a new version makes the old entry
# unreachable without deleting it (its TTL does).
_DETAIL = """
local generation = redis.call('GET', ARGV[1] .. ':active')
if not generation then return {false, false, false} end
local version = redis.call('HGET', ARGV[1] .. ':g' .. generation .. ':versions', ARGV[2])
if not version then return {generation, false, false} end
return {generation, version, redis.call('GET', ARGV[3] .. ':g' .. generation .. ':' .. ARGV[2] .. ':v' .. version)}
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
        self._position = redis.register_script(_POSITION)
        self._detail = redis.register_script(_DETAIL)

    def base(self, projection: str) -> str:
        return f"{self._prefix}:{projection}"

    def channel(self, projection: str) -> str:
        """Where the active generation announces `{orderId: version}` (as `streams.checkpoints.Checkpoints`)."""
        return f"{self.base(projection)}:applied"

    async def applied_version(self, projection: str, order_id: str) -> int | None:
        return (await self.detail(projection, order_id, cache_prefix="")).applied_version

    async def detail(self, projection: str, order_id: str, *, cache_prefix: str) -> DetailLookup:
        generation, version, cached = await self._detail(args=[self.base(projection), order_id, cache_prefix])
        return DetailLookup(
            generation=int(generation) if generation else None,
            applied_version=int(version) if version else None,
            cached=cached if cache_prefix and cached else None,
        )

    async def position(self, projection: str) -> ViewPosition:
        generation, flat, flushed = await self._position(args=[self.base(projection)])
        offsets = 0
        newest: int | None = None
        for value in flat[1::2]:
            partition = json.loads(value)
            offsets += int(partition["offset"])
            newest = max(newest or 0, int(partition["timestamp"]))
        return ViewPosition(
            generation=int(generation) if generation else None,
            position=offsets,
            last_event_ms=newest,
            flushed_ms=int(flushed) if flushed else None,
        )
