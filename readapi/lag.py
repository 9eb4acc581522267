"""This region's replica lag: how far its projections trail the event log, for every answer's `meta` and `/metrics`.

A region (the primary included) is the projections whose checkpoint mirror this API reads. Once a second the lag is
measured as `cqrs projections status` measures it: per partition, the log's end offset (Kafka) less the offset the
projection has applied (the mirror); in seconds, how old the last applied event is on partitions with a backlog (0
when caught up, however long ago the last event came). The region's lag is its slowest projection's. Answers read the
last measurement (no I/O on the request path); until one succeeds, or while Kafka cannot be reached, it is unknown
(`lagSeconds: null`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client import Gauge

from readapi.freshness import CheckpointMirror

log = logging.getLogger(__name__)

LAG_EVENTS = Gauge(
    "readapi_replica_lag_events", "Events of the log this region's projection has not applied yet.",
    ["region", "projection"],
)  # fmt: skip
LAG_SECONDS = Gauge(
    "readapi_replica_lag_seconds", "Age of the last applied event on partitions with a backlog (0: caught up).",
    ["region", "projection"],
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Lag:
    events: int
    seconds: float


def lag_of(ends: dict[int, int], applied: dict[int, tuple[int, int]], now_ms: float) -> Lag:
    """One projection's lag from the log's end offsets and its applied (next offset, event ms) per partition; a
    partition with a backlog and nothing applied yet counts from the oldest applied event time of the others."""
    events, seconds = 0, 0.0
    oldest = min((event_ms for _, event_ms in applied.values()), default=None)
    for partition, end in ends.items():
        offset, event_ms = applied.get(partition, (0, oldest))
        if end > offset:
            events += end - offset
            if event_ms is not None:
                seconds = max(seconds, (now_ms - event_ms) / 1000)
    return Lag(events, round(seconds, 3))


class ReplicaLag:
    """Measures the region's lag in the background (`start`/`stop`); `seconds` is the last measurement."""

    def __init__(
        self,
        region: str,
        mirror: CheckpointMirror,
        *,
        bootstrap: str,
        topic: str,
        projections: Sequence[str],
        every_s: float = 1.0,
    ) -> None:
        self.region = region
        self._mirror = mirror
        self._bootstrap, self._topic = bootstrap, topic
        self._projections = tuple(projections)
        self._every_s = every_s
        self._consumer: AIOKafkaConsumer | None = None
        self._partitions: list[TopicPartition] = []
        self._task: asyncio.Task[None] | None = None
        self.per_projection: dict[str, Lag] = {}
        self.seconds: float | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._measure_forever(), name=f"replica-lag-{self.region}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None

    async def _measure_forever(self) -> None:
        while True:
            try:
                await self.measure()
            except asyncio.CancelledError:
                raise
            except Exception as error:  # Kafka or Redis away: the lag is unknown until they answer again
                self.seconds = None
                log.warning("readapi.lag_unknown region=%s error=%r", self.region, error)
                await self._reconnect()
            await asyncio.sleep(self._every_s)

    async def measure(self) -> None:
        ends = await self._end_offsets()
        now_ms = time.time() * 1000
        applied = await asyncio.gather(*(self._mirror.partitions(name) for name in self._projections))
        for name, positions in zip(self._projections, applied, strict=True):
            lag = self.per_projection[name] = lag_of(ends, positions, now_ms)
            LAG_EVENTS.labels(self.region, name).set(lag.events)
            LAG_SECONDS.labels(self.region, name).set(lag.seconds)
        self.seconds = max((lag.seconds for lag in self.per_projection.values()), default=0.0)

    async def _end_offsets(self) -> dict[int, int]:
        if self._consumer is None:
            # Kept before it starts: a stop during the start still closes it.
            self._consumer = AIOKafkaConsumer(bootstrap_servers=self._bootstrap, request_timeout_ms=5000)
            await self._consumer.start()
        if not self._partitions:
            self._partitions = await self._topic_partitions()
        ends = await self._consumer.end_offsets(self._partitions)
        return {tp.partition: offset for tp, offset in ends.items()}

    async def _topic_partitions(self) -> list[TopicPartition]:
        """The event topic's partitions, asked once (a topic's partitions are never added: keys would move)."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap, request_timeout_ms=5000)
        await admin.start()
        try:
            (described,) = await admin.describe_topics([self._topic])
        finally:
            await admin.close()
        return [TopicPartition(self._topic, p["partition"]) for p in described["partitions"]]

    async def _reconnect(self) -> None:
        if self._consumer is not None:
            with contextlib.suppress(Exception):
                await self._consumer.stop()
            self._consumer = None
