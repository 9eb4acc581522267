"""Where each projection is: active generation, lag in events and seconds, rate, DLQ size (`cqrs projections status`),
and which worker owns which partitions, with each worker's lag.

Lag in events comes from Kafka (end offsets minus the group's committed offsets: the truth for resuming); lag in
seconds, rate and applied counts from the Redis mirror; DLQ size from the DLQ topic itself; the workers and their
partitions from the group's coordinator (each worker names itself `<projection>-w<k>-<pid>`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment
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
class WorkerStatus:
    """One member of a projection's consumer group: a worker process and the partitions it owns."""

    worker: str
    host: str
    partitions: list[int]
    lag: int


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
    workers: list[WorkerStatus] = field(default_factory=list)
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
    partitions, members = await _partitions(settings, group)
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
        workers=[
            WorkerStatus(worker, host, owned, sum(p.lag for p in partitions if p.partition in owned))
            for worker, host, owned in members
        ],
    )


Member = tuple[str, str, list[int]]


async def _partitions(settings: StreamsSettings, group: str) -> tuple[list[PartitionStatus], list[Member]]:
    ends = await end_offsets(settings.kafka_bootstrap, settings.topic)
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
        described = await admin.describe_consumer_groups([group])
    finally:
        await admin.close()
    by_partition = {tp.partition: meta.offset for tp, meta in committed.items() if tp.topic == settings.topic}
    partitions = [
        PartitionStatus(partition, offset if (offset := by_partition.get(partition, -1)) >= 0 else None, end, None)
        for partition, end in sorted(ends.items())
    ]
    return partitions, _members(described, settings.topic)


async def members(settings: StreamsSettings, group: str) -> list[Member]:
    """(worker, host, partitions) of each member of a consumer group now."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        return _members(await admin.describe_consumer_groups([group]), settings.topic)
    finally:
        await admin.close()


def _members(described: list[Any], topic: str) -> list[Member]:
    """(worker, host, partitions of `topic`) per member of the described group, by worker name."""
    members: list[Member] = []
    for response in described:
        for group in response.to_object()["groups"]:
            for member in group["members"]:
                raw = member["member_assignment"]
                owned = ConsumerProtocolMemberAssignment.decode(raw).partitions() if raw else []
                partitions = sorted(tp.partition for tp in owned if tp.topic == topic)
                members.append((member["client_id"], member["client_host"].lstrip("/"), partitions))
    return sorted(members)


async def all_statuses(settings: StreamsSettings) -> list[ProjectionStatus]:
    statuses = []
    for name in PROJECTIONS:
        try:
            statuses.append(await projection_status(settings, name))
        except Exception as error:  # one unreachable store must not hide the other projections
            statuses.append(ProjectionStatus(name, None, "?", "?", error=f"{type(error).__name__}: {error}"))
    return statuses
