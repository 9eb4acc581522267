"""Answers cached in Redis under keys that carry the projection's position, so nothing is ever invalidated.

- detail: `<prefix>:detail:<streams prefix>:g<generation>:<orderId>:v<version>` — the exact version of the
  document; the lookup (`readapi.freshness`) uses the version the mirror says is applied, so a new version makes the
  old entry unreachable, and a requested `minVersion` is checked against the key's version before the entry is used;
- list/search: `<prefix>:<view>:<streams prefix>:g<generation>:p<position>:<query digest>` — any flush moves the
  position, so a cached page is never older than the mirror a reader consults at the same moment.

Entries store the answer's `data` (and `total` for pages) as JSON bytes: a hit is sent without re-validating models.
TTLs only bound memory. A failing cache is skipped, never an error: Redis is an accelerator here.
"""

from __future__ import annotations

import hashlib
import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


class ResponseCache:
    def __init__(self, redis: Redis, prefix: str, streams_prefix: str) -> None:
        self._redis = redis
        self._prefix = f"{prefix}:%s:{streams_prefix}"

    def detail_prefix(self) -> str:
        """What `CheckpointMirror.detail` appends `:g<generation>:<orderId>:v<version>` to."""
        return self._prefix % "detail"

    def detail_key(self, generation: int, order_id: str, version: int) -> str:
        return f"{self.detail_prefix()}:g{generation}:{order_id}:v{version}"

    def page_key(self, view: str, generation: int, position: int, query: str) -> str:
        digest = hashlib.blake2b(query.encode(), digest_size=16).hexdigest()
        return f"{self._prefix % view}:g{generation}:p{position}:{digest}"

    async def get(self, key: str) -> bytes | None:
        try:
            value = await self._redis.get(key)
            return value.encode() if isinstance(value, str) else value
        except RedisError as error:
            log.warning("cache.get_failed key=%s error=%r", key, error)
            return None

    async def put(self, key: str, value: bytes, ttl_s: int) -> None:
        try:
            await self._redis.set(key, value, ex=ttl_s)
        except RedisError as error:
            log.warning("cache.put_failed key=%s error=%r", key, error)
