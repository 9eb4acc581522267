"""Each projection's applied version of one order, from the checkpoint mirror the projection workers keep in Redis.

The keys are the read model's published names (`schemas.read_models.MirrorKeys`); the writer only reads them. One
Lua call answers for every projection at once: a trace costs one Redis round trip here however many projections
there are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from redis.asyncio import Redis

from schemas.read_models import MirrorKeys

# KEYS: each projection's `active` pointer; ARGV: per projection the versions key's head and tail, then the order.
_APPLIED = """
local order = ARGV[#ARGV]
local answer = {}
for i, active in ipairs(KEYS) do
  local generation = redis.call('GET', active)
  local version = false
  if generation then version = redis.call('HGET', ARGV[2 * i - 1] .. generation .. ARGV[2 * i], order) end
  answer[#answer + 1] = generation or false
  answer[#answer + 1] = version or false
end
return answer
"""


@dataclass(frozen=True, slots=True)
class Applied:
    generation: int | None
    """The generation readers see (None: the projection has not activated one, or Redis lost the pointer)."""
    version: int | None


class AppliedVersions:
    """Reads the mirror of `projections` under `prefix`."""

    def __init__(self, redis: Redis, prefix: str, projections: Sequence[str]) -> None:
        self._keys = [MirrorKeys(prefix, projection) for projection in projections]
        self._script = redis.register_script(_APPLIED)
        self.projections = tuple(projections)

    def channel(self, projection: str) -> str:
        """Where `projection` announces `{orderId: version}` after each flush of its active generation."""
        return MirrorKeys(self._keys[0].prefix, projection).applied

    async def of(self, order_id: str) -> dict[str, Applied]:
        args: list[str] = []
        for keys in self._keys:
            args += keys.around_generation("versions")
        flat = await self._script(keys=[keys.active for keys in self._keys], args=[*args, order_id])
        return {
            projection: Applied(_int(flat[2 * index]), _int(flat[2 * index + 1]))
            for index, projection in enumerate(self.projections)
        }


def _int(value: bytes | str | None) -> int | None:
    return int(value) if value else None
