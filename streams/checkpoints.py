"""The queryable mirror of where each projection is: Redis, written after every flush.

Kafka's committed offsets stay the truth for resuming; this mirror exists for readers. It lives in Redis, not in each
store, because readers need one cheap place for all three projections (the read API's cache and its `minVersion`
wait are in Redis already), because pub/sub wakes waiting readers without polling, and because a store-side mirror
would cost a second write per batch in stores that are slow at small writes (FerretDB, ClickHouse). Losing Redis
loses no data: the live worker puts the active generation back at its next flush or tick (`restore_active`), the next
flush writes positions and versions again, and each store document carries its own version, which the read API falls
back to (and fills in) for an order the mirror no longer knows.

The keys and the values readers parse are the read-model contract's (`streams.contract.MirrorKeys`): the active
generation, per generation the partitions' next offsets, the orders' applied versions and stats, and the channel
that announces `{orderId: version}` after each flush of the active generation.

A rebuild writes its own generation's keys and announces nothing until it becomes active, so readers of the old
generation are never woken by versions they cannot see yet.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

from streams.contract import UPDATED_AT, MirrorKeys, decode_partition, encode_partition

# Only the active generation announces: the check and the publish are one atomic step. A worker that activated its
# generation (ARGV[9] = '1') puts the pointer back if Redis lost it, or nothing would ever announce again.
_RECORD = """
local partitions = cjson.decode(ARGV[2])
for partition, position in pairs(partitions) do redis.call('HSET', KEYS[2], partition, position) end
local versions = cjson.decode(ARGV[3])
local args = {}
for aggregate, version in pairs(versions) do
  args[#args + 1] = aggregate
  args[#args + 1] = version
  if #args >= 2000 then redis.call('HSET', KEYS[3], unpack(args)); args = {} end
end
if #args > 0 then redis.call('HSET', KEYS[3], unpack(args)) end
local counts = cjson.decode(ARGV[4])
for name, count in pairs(counts) do redis.call('HINCRBY', KEYS[4], name, count) end
redis.call('HSET', KEYS[4], 'rate', ARGV[5], ARGV[8], ARGV[6], 'parked', ARGV[7])
if ARGV[9] == '1' then redis.call('SET', KEYS[1], ARGV[1], 'NX') end
if next(versions) ~= nil and redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PUBLISH', KEYS[5], ARGV[3])
  return 1
end
return 0
"""

_APPLIED_VERSION = """
local generation = redis.call('GET', KEYS[1])
if not generation then return false end
return redis.call('HGET', ARGV[1] .. generation .. ARGV[2], ARGV[3])
"""


@dataclass(frozen=True, slots=True)
class PartitionPosition:
    offset: int
    """The next offset to apply (Kafka's convention for committed offsets)."""
    timestamp_ms: int
    """Event time of the last applied event."""


@dataclass(frozen=True, slots=True)
class Flushed:
    """What one flushed batch changed, as the mirror records it."""

    positions: Mapping[int, PartitionPosition]
    versions: Mapping[str, int]
    applied: int
    duplicates: int
    parked_now: int
    """Orders parked in the DLQ after this batch."""
    rate: float
    """Events per second over the recent past."""


class Checkpoints:
    """Write and read the mirror of one projection (all generations)."""

    def __init__(self, redis: Redis, prefix: str, projection: str) -> None:
        self._redis = redis
        self._keys = MirrorKeys(prefix, projection)
        self._record = redis.register_script(_RECORD)
        self._applied_version = redis.register_script(_APPLIED_VERSION)
        self._claimed: int | None = None

    @property
    def channel(self) -> str:
        """Where the active generation announces `{orderId: version}` after each flush."""
        return self._keys.applied

    async def record(self, generation: int, flushed: Flushed) -> bool:
        """Mirror a flushed batch; True if it was announced (the generation is the active one)."""
        keys = [self._keys.active, *self._keys.of_generation(generation)]
        positions = {
            str(partition): encode_partition(p.offset, p.timestamp_ms) for partition, p in flushed.positions.items()
        }
        counts = {"applied": flushed.applied, "duplicates": flushed.duplicates}
        args = [
            str(generation),
            json.dumps(positions),
            json.dumps(dict(flushed.versions)),
            json.dumps(counts),
            f"{flushed.rate:.1f}",
            str(int(time.time() * 1000)),
            str(flushed.parked_now),
            UPDATED_AT,
            "1" if generation == self._claimed else "0",
        ]
        return bool(await self._record(keys=[*keys, self.channel], args=args))

    async def activate(self, generation: int) -> None:
        """Make `generation` the one that announces and that readers' version lookups use; from now on this mirror
        also puts it back whenever Redis lost it (restart, eviction), even if this call itself fails."""
        self._claimed = generation
        await self._redis.set(self._keys.active, str(generation))

    async def restore_active(self) -> bool:
        """Put the activated generation back if Redis lost it (an idle worker has no flush to do it); True if it did."""
        if self._claimed is None:
            return False
        return bool(await self._redis.set(self._keys.active, str(self._claimed), nx=True))

    async def active(self) -> int | None:
        value = await self._redis.get(self._keys.active)
        return int(value) if value is not None else None

    async def applied_version(self, aggregate_id: str) -> int | None:
        """The version of `aggregate_id` the active generation has applied (the read API's freshness check)."""
        head, tail = self._keys.around_generation("versions")
        value = await self._applied_version(keys=[self._keys.active], args=[head, tail, aggregate_id])
        return int(value) if value is not None else None

    async def positions(self, generation: int) -> dict[int, PartitionPosition]:
        raw = await self._redis.hgetall(self._keys.partitions(generation))
        return {int(partition): PartitionPosition(*decode_partition(value)) for partition, value in raw.items()}

    async def stats(self, generation: int) -> dict[str, Any]:
        raw = await self._redis.hgetall(self._keys.stats(generation))
        return {_text(name): _number(value) for name, value in raw.items()}

    async def forget(self, generation: int) -> None:
        """Delete a generation's keys (after it was dropped, or before a rebuild starts it afresh)."""
        await self._redis.delete(*self._keys.of_generation(generation))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _number(value: bytes | str) -> float:
    return float(_text(value))
