"""Accepted → visible, per store: how long after the writer's 202 a reader of each read model sees that version.

Each projection announces `{orderId: version}` on Redis right after its store acknowledged the batch
(`streams.checkpoints`), which is the moment a reader of that store sees the version: MongoDB and ClickHouse reads
follow acknowledged writes, and an Elasticsearch GET by id is real-time. (Full-text *search* also waits for the
index refresh, at most `refresh_interval` = 1 s later.) The probe listens to those announcements — one subscription,
no polling of the stores — and times the sampled commands; `verify` then reads the stores themselves to prove the
announcements told the truth.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import defaultdict
from dataclasses import dataclass, field

from redis.asyncio import Redis

from cqrs.e2e.load import Accepted
from streams.checkpoints import Checkpoints
from streams.contract import ANALYTICS, DETAIL, LIST, SEARCH
from streams.peek import ReadModels
from streams.settings import StreamsSettings

STORES = {DETAIL: "mongo", SEARCH: "elasticsearch", ANALYTICS: "clickhouse", LIST: "readdb"}
"""Every projection the probe times, by the store it writes (a column of the table and the picture)."""


@dataclass(frozen=True, slots=True)
class Sample:
    store: str
    order_id: str
    version: int
    at: float
    """Seconds since the run started, when the version became visible."""
    accepted_ms: float
    """From the writer's acceptance (its commit) to visibility."""
    intended_ms: float
    """From the intended send time to visibility (includes the writer's own latency)."""


@dataclass(slots=True)
class FreshnessProbe:
    settings: StreamsSettings
    every: int = 10
    """Time one accepted command in `every`."""
    started: float = field(default_factory=time.time)
    samples: list[Sample] = field(default_factory=list)
    _waiting: dict[str, dict[str, list[Accepted]]] = field(default_factory=lambda: defaultdict(dict))
    _count: int = 0
    _announced: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    """Latest announced version per projection and order (an announcement may beat the 202 to the client)."""
    _task: asyncio.Task[None] | None = None
    _ready: asyncio.Event = field(default_factory=asyncio.Event)
    _draining: bool = False
    _drained: asyncio.Event = field(default_factory=asyncio.Event)

    def on_accepted(self, accepted: Accepted) -> None:
        self._count += 1
        if self._count % self.every:
            return
        now = time.time()
        for projection in STORES:
            if self._announced[projection].get(accepted.order_id, 0) >= accepted.version:
                self._record(projection, accepted, now)
            else:
                self._waiting[projection].setdefault(accepted.order_id, []).append(accepted)

    @property
    def pending(self) -> int:
        return sum(len(waits) for orders in self._waiting.values() for waits in orders.values())

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen())
        await asyncio.wait_for(self._ready.wait(), 10)

    async def stop(self, drain_s: float = 30.0) -> None:
        """Wait until every sample was seen (or `drain_s`), then stop listening."""
        self._draining = True
        if self.pending:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._drained.wait(), drain_s)
        if self._task is not None:
            self._task.cancel()

    async def _listen(self) -> None:
        redis = Redis.from_url(self.settings.redis_url)
        channels = {
            Checkpoints(redis, self.settings.redis_prefix, name).channel: name for name in STORES
        }  # fmt: skip
        pubsub = redis.pubsub()
        try:
            await pubsub.subscribe(*channels)
            self._ready.set()
            async for message in pubsub.listen():
                if message["type"] == "message":
                    channel = message["channel"].decode()
                    self._seen(channels[channel], json.loads(message["data"]), time.time())
                    if self._draining and not self.pending:
                        self._drained.set()
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call]
            await redis.aclose()

    def _seen(self, projection: str, versions: dict[str, int], now: float) -> None:
        waiting = self._waiting[projection]
        announced = self._announced[projection]
        for order_id, version in versions.items():
            announced[order_id] = max(version, announced.get(order_id, 0))
            waits = waiting.get(order_id)
            if not waits:
                continue
            for accepted in waits:
                if accepted.version <= version:
                    self._record(projection, accepted, now)
            left = [a for a in waits if a.version > version]
            if left:
                waiting[order_id] = left
            else:
                del waiting[order_id]

    def _record(self, projection: str, accepted: Accepted, now: float) -> None:
        since_202_ms = max(now - accepted.accepted_at, 0.0) * 1000
        self.samples.append(
            Sample(
                STORES[projection],
                accepted.order_id,
                accepted.version,
                now - self.started,
                since_202_ms,
                (now - accepted.due) * 1000,
            )
        )

    async def verify(self, most: int = 300) -> dict[str, int]:
        """Per store, how many announced samples (up to `most`) the store itself shows below their version: 0
        everywhere means the announcements told the truth."""
        behind = {}
        async with ReadModels(self.settings) as models:
            for projection, store in STORES.items():
                checked = [s for s in self.samples if s.store == store][-most:]
                view = await models.shown(projection, sorted({s.order_id for s in checked})) if checked else {}
                behind[store] = sum(
                    1 for s in checked if s.order_id not in view or view[s.order_id].version < s.version
                )
        return behind
