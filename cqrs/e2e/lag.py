"""Every projection's consumer lag, sampled every second during an attack: log end - committed offset per partition,
summed, as `cqrs projections status` counts it (`streams.status`: its groups and its `PartitionStatus.lag`).

`projections status` opens fresh clients and reads the DLQ on every call; a sample a second needs less, so the
sampler keeps one admin client and one consumer open and asks only for offsets.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from dataclasses import dataclass, field
from types import TracebackType

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from cqrs.e2e.errors import LagUnknown
from streams.projections import PROJECTIONS
from streams.settings import StreamsSettings
from streams.status import PartitionStatus, projection_status
from streams.topics import partitions


@dataclass(slots=True)
class LagSamples:
    """Per projection, (seconds since `started`, lag in events)."""

    started: float = field(default_factory=time.monotonic)
    series: dict[str, list[tuple[float, int]]] = field(default_factory=lambda: defaultdict(list))

    def add(self, lags: dict[str, int]) -> None:
        at = time.monotonic() - self.started
        for name, lag in lags.items():
            self.series[name].append((at, lag))

    def peak(self, name: str) -> int:
        return max((lag for _, lag in self.series[name]), default=0)


class LagSampler:
    def __init__(self, settings: StreamsSettings) -> None:
        self._settings = settings
        self._groups: dict[str, str] = {}
        self._partitions: list[TopicPartition] = []
        self._admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
        self._consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)

    async def __aenter__(self) -> LagSampler:
        for name in PROJECTIONS:
            status = await projection_status(self._settings, name)
            if status.generation is None:
                raise LagUnknown(f"projection {name} has no generation yet: is `cqrs stack up streams` running?")
            self._groups[name] = status.group
        self._partitions = await partitions(self._settings.kafka_bootstrap, self._settings.topic)
        await self._admin.start()
        await self._consumer.start()
        return self

    async def __aexit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        await self._consumer.stop()
        await self._admin.close()

    async def sample(self) -> dict[str, int]:
        ends = await self._consumer.end_offsets(self._partitions)
        lags = {}
        for name, group in self._groups.items():
            committed = await self._admin.list_consumer_group_offsets(group, partitions=self._partitions)
            lags[name] = sum(
                PartitionStatus(tp.partition, _offset(committed.get(tp)), end, None).lag for tp, end in ends.items()
            )
        return lags

    async def wait_drained(self, most: int, timeout_s: float, into: LagSamples | None = None) -> bool:
        """Sample twice a second until every projection's lag is at most `most` (True) or `timeout_s` passed."""
        deadline = time.monotonic() + timeout_s
        while True:
            lags = await self.sample()
            if into is not None:
                into.add(lags)
            if max(lags.values(), default=0) <= most:
                return True
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.5)


def _offset(meta: object) -> int | None:
    """The committed offset, or None when the group has none for the partition (Kafka says -1)."""
    offset = getattr(meta, "offset", -1)
    return offset if isinstance(offset, int) and offset >= 0 else None
