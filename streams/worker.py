"""A projection wired to its store, DLQ and checkpoint mirror: the `BatchHandler` a runner drives.

`live` workers follow the generation readers see: when a rebuild switches readers to a new generation, the live
worker notices (every `target_check_s`), stops, and is restarted on the new generation and its consumer group,
which continues exactly where the rebuild stopped. A rebuild runs a non-live worker on the new generation.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping, Sequence

from redis.asyncio import Redis

from streams import metrics
from streams.checkpoints import Checkpoints
from streams.dlq import DeadLetterQueue, KafkaDeadLetterLog
from streams.engine import BatchReport, Decoder, Engine
from streams.ownership import OWNED_PARTITIONS, Lease, Ownership
from streams.projection import Projection
from streams.projections import projection_named
from streams.records import Record, decode
from streams.settings import StreamsSettings
from streams.sink import Targets
from streams.sinks import targets_for

log = logging.getLogger(__name__)


async def created(targets: Targets, generation: int | None = None, *, attempts: int = 5) -> int:
    """The active generation (made on a fresh store) with `generation` created too. Several workers of a projection
    start at once: a store may refuse the second of two concurrent creations of one object (an index, a
    collection, a table), which then exists: the next attempt finds it."""
    for attempt in range(attempts):
        try:
            active = await targets.ensure_active()
            await targets.create(generation or active)
            return active
        except Exception as error:
            if attempt == attempts - 1:
                raise
            log.info("%s: creating the target failed (%r); again", targets.store, error)
            await asyncio.sleep(0.5 + attempt)
    raise AssertionError("unreachable")


class ProjectionWorker:
    def __init__(
        self,
        settings: StreamsSettings,
        projection: Projection,
        targets: Targets,
        engine: Engine,
        checkpoints: Checkpoints,
        redis: Redis,
        *,
        live: bool,
    ) -> None:
        self.settings = settings
        self.projection = projection
        self.targets = targets
        self.engine = engine
        self.checkpoints = checkpoints
        self._redis = redis
        self.live = live
        self.retired = asyncio.Event()
        """Set when readers moved to another generation: this worker must stop (and be restarted)."""
        self._checked_at = time.monotonic()
        self._applied_ms: dict[int, int] = {}
        """Per partition, the timestamp of the newest event this worker applied (for the lag in seconds)."""

    @classmethod
    async def open(
        cls,
        settings: StreamsSettings,
        name: str,
        *,
        generation: int | None = None,
        live: bool = True,
        decoder: Decoder = decode,
    ) -> ProjectionWorker:
        """Connect to the store (creating generation 1 on a fresh one), load the DLQ ledger, start following it."""
        projection = projection_named(name)
        targets = targets_for(projection.store, settings)
        active = await created(targets, generation)
        generation = generation or active
        redis = Redis.from_url(settings.redis_url)
        checkpoints = Checkpoints(redis, settings.redis_prefix, name)
        if live and generation == active:
            try:
                await checkpoints.activate(generation)
            except Exception as error:  # the mirror is optional for the pipeline itself
                log.warning("%s: cannot mark generation %d active in Redis (%r)", name, generation, error)
        dlq = DeadLetterQueue(KafkaDeadLetterLog(settings.kafka_bootstrap, settings.dlq_topic(name)), generation)
        await dlq.start()
        dlq.follow()
        # A live worker shares its group with other workers; a rebuild is its generation's only writer.
        lease = Lease(settings.lease_s) if live else None
        if lease is not None:
            lease.start()
        engine = Engine(
            projection,
            # A worker that is not live fills a generation nobody reads yet (a rebuild): bulk writes are safe.
            targets.sink(generation, bulk=not live),
            dlq,
            checkpoints=checkpoints,
            decoder=decoder,
            cache_size=settings.state_cache_size,
            retry_max_s=settings.flush_retry_max_s,
            ownership=Ownership(lease),
        )
        metrics.GENERATION.labels(name).set(generation)
        log.info("%s: writing %s, group %s", name, targets.describe(generation), settings.group_id(name, generation))
        return cls(settings, projection, targets, engine, checkpoints, redis, live=live)

    @property
    def name(self) -> str:
        return self.projection.name

    @property
    def generation(self) -> int:
        return self.engine.generation

    @property
    def group_id(self) -> str:
        return self.settings.group_id(self.name, self.generation)

    @property
    def topic(self) -> str:
        return self.settings.topic

    async def process(self, records: Sequence[Record]) -> BatchReport:
        report = await self.engine.process(records)
        self._applied_ms.update((partition, p.timestamp_ms) for partition, p in report.positions.items())
        if report.positions:
            newest = max(position.timestamp_ms for position in report.positions.values())
            metrics.BATCH_FRESHNESS.labels(self.name).observe(max(time.time() - newest / 1000, 0.0))
        return report

    async def tick(self) -> None:
        """Between batches: stop if the lease lapsed (raises `Fenced`: even an idle worker restarts clean); run
        replay requests for our orders; notice a switch of readers to another generation."""
        self.engine.ownership.check()
        for request in list(self.engine.dlq.ledger.requests.values()):
            await self.engine.replay(request)
        if self.live and time.monotonic() - self._checked_at >= self.settings.target_check_s:
            self._checked_at = time.monotonic()
            try:
                active = await self.targets.active()
            except Exception as error:
                log.warning("%s: cannot read the active generation (%r)", self.name, error)
                return
            if active is not None and active != self.generation:
                log.warning("%s: readers moved to generation %d; %d stops", self.name, active, self.generation)
                self.retired.set()
            elif active == self.generation:
                await self._restore_mirror()

    async def _restore_mirror(self) -> None:
        """Redis restarted (or evicted the pointer) while no event came: put it back so readers cache and are woken."""
        try:
            if await self.checkpoints.restore_active():
                log.warning("%s: Redis had lost the active generation; restored %d", self.name, self.generation)
        except Exception as error:  # Redis still away: the next tick tries again
            log.warning("%s: cannot restore the active generation in Redis (%r)", self.name, error)

    async def settle(self) -> None:
        await self.engine.settle()

    def assigned(self, partitions: set[int]) -> None:
        self.engine.ownership.assigned(partitions)
        OWNED_PARTITIONS.labels(self.name).set(len(self.engine.ownership.partitions or ()))
        log.info("%s: partitions assigned %s", self.name, sorted(partitions))

    def revoked(self, partitions: set[int]) -> None:
        self.engine.revoked(partitions)
        OWNED_PARTITIONS.labels(self.name).set(len(self.engine.ownership.partitions or ()))
        for partition in partitions:  # the new owner reports these now
            with contextlib.suppress(KeyError):
                metrics.LAG_EVENTS.remove(self.name, str(partition))
        log.info("%s: partitions revoked %s", self.name, sorted(partitions))

    def observe_highwaters(self, highwaters: Mapping[int, int], positions: Mapping[int, int]) -> None:
        for partition, highwater in highwaters.items():
            lag = max(highwater - positions.get(partition, highwater), 0)
            metrics.LAG_EVENTS.labels(self.name, str(partition)).set(lag)
        # The same rule as `cqrs projections status`: the age of the newest applied event where a backlog waits.
        now_ms = time.time() * 1000
        behind = [
            (now_ms - self._applied_ms[partition]) / 1000
            for partition, highwater in highwaters.items()
            if highwater > positions.get(partition, highwater) and partition in self._applied_ms
        ]
        metrics.LAG_SECONDS.labels(self.name).set(max(max(behind, default=0.0), 0.0))

    async def close(self) -> None:
        if self.engine.ownership.lease is not None:
            await self.engine.ownership.lease.stop()
        await self.engine.dlq.stop()
        await self.targets.close()
        await self._redis.aclose()
