"""Where each projection is: active generation, lag in events and seconds, rate, DLQ size (`cqrs projections status`).

Lag in events comes from Kafka (end offsets minus the group's committed offsets: the truth for resuming); lag in
seconds, rate and applied counts from the Redis mirror; DLQ size from the DLQ topic itself.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from aiokafka.admin import AIOKafkaAdminClient
from redis.asyncio import Redis

from streams.checkpoints import Checkpoints
from streams.dlq import DeadLetterQueue, KafkaDeadLetterLog
from streams.projections import PROJECTIONS, projection_named
from streams.settings import StreamsSettings
from streams.sinks import targets_for
from streams.topics import end_offsets


@dataclass(frozen=True, slots=True)
class PartitionStatus:
    partition: int
    committed: int | None
    end: int
    last_event_ms: int | None

    @property
    def lag(self) -> int:
        return self.end - (self.committed or 0)


@dataclass(frozen=True, slots=True)
class ProjectionStatus:
    projection: str
    generation: int | None
    target: str
    group: str
    partitions: list[PartitionStatus] = field(default_factory=list)
    rate: float = 0.0
    applied: int = 0
    dlq_events: int = 0
    dlq_orders: int = 0
    error: str | None = None

    @property
    def lag_events(self) -> int:
        return sum(p.lag for p in self.partitions)

    @property
    def lag_seconds(self) -> float:
        """How far behind the newest applied event is, on partitions that have a backlog (0 when caught up)."""
        now_ms = time.time() * 1000
        behind = [(now_ms - p.last_event_ms) / 1000 for p in self.partitions if p.lag > 0 and p.last_event_ms]
        return max(behind, default=0.0)


async def projection_status(settings: StreamsSettings, name: str) -> ProjectionStatus:
    projection = projection_named(name)
    targets = targets_for(projection.store, settings)
    try:
        generation = await targets.active()
    finally:
        await targets.close()
    group = settings.group_id(name, generation or 1)
    target = targets.describe(generation or 1)
    if generation is None:
        return ProjectionStatus(name, None, "not created yet", group)
    partitions = await _partitions(settings, group)
    redis = Redis.from_url(settings.redis_url)
    try:
        checkpoints = Checkpoints(redis, settings.redis_prefix, name)
        mirrored = await checkpoints.positions(generation)
        stats = await checkpoints.stats(generation)
    finally:
        await redis.aclose()
    partitions = [
        PartitionStatus(p.partition, p.committed, p.end, m.timestamp_ms if (m := mirrored.get(p.partition)) else None)
        for p in partitions
    ]
    dlq = DeadLetterQueue(KafkaDeadLetterLog(settings.kafka_bootstrap, settings.dlq_topic(name)), generation)
    try:
        await dlq.start()
    finally:
        await dlq.stop()
    return ProjectionStatus(
        projection=name,
        generation=generation,
        target=target,
        group=group,
        partitions=partitions,
        rate=float(stats.get("rate", 0.0)),
        applied=int(stats.get("applied", 0)),
        dlq_events=len(dlq.ledger.entries),
        dlq_orders=dlq.ledger.parked_aggregates,
    )


async def _partitions(settings: StreamsSettings, group: str) -> list[PartitionStatus]:
    ends = await end_offsets(settings.kafka_bootstrap, settings.topic)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    by_partition = {tp.partition: meta.offset for tp, meta in committed.items() if tp.topic == settings.topic}
    return [
        PartitionStatus(partition, offset if (offset := by_partition.get(partition, -1)) >= 0 else None, end, None)
        for partition, end in sorted(ends.items())
    ]


async def all_statuses(settings: StreamsSettings) -> list[ProjectionStatus]:
    statuses = []
    for name in PROJECTIONS:
        try:
            statuses.append(await projection_status(settings, name))
        except Exception as error:  # one unreachable store must not hide the other projections
            statuses.append(ProjectionStatus(name, None, "?", "?", error=f"{type(error).__name__}: {error}"))
    return statuses
