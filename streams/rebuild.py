"""Zero-downtime rebuild: fill a new generation from offset 0 while readers stay on the current one, then switch.

1. Create generation N+1 (an index/collection/table set nobody reads yet) and a fresh consumer group for it.
2. Replay the whole topic into it with the same engine the live worker uses (so the same DLQ rules apply, and
   events an operator dropped stay dropped), until every partition's position reached its end offset.
3. Switch readers in one atomic step (alias swap, pointer document, views) and make N+1 the announcing generation.
4. The live worker notices within `target_check_s`, stops, and its supervisor restarts it on N+1, where it continues
   from the offsets the rebuild committed. The old generation stays until `cqrs projections prune`.

The rebuild runs on the aiokafka runner: it is a bounded job with a progress bar inside the CLI, which Faust's
worker (its own loop, signals and logging, running forever) does not fit.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from streams.engine import BatchReport
from streams.projections import projection_named
from streams.records import Record
from streams.runners.kafka import KafkaRunner
from streams.settings import StreamsSettings
from streams.sinks import targets_for
from streams.topics import end_offsets
from streams.worker import ProjectionWorker


@dataclass(frozen=True, slots=True)
class RebuildProgress:
    events: int
    total: int
    """End offsets summed when the rebuild started (grows if events keep arriving)."""
    elapsed_s: float

    @property
    def rate(self) -> float:
        return self.events / self.elapsed_s if self.elapsed_s else 0.0


@dataclass(frozen=True, slots=True)
class RebuildResult:
    projection: str
    previous: int
    generation: int
    target: str
    events: int
    applied: int
    parked: int
    elapsed_s: float

    @property
    def rate(self) -> float:
        return self.events / self.elapsed_s if self.elapsed_s else 0.0


class CountingHandler:
    """The worker, plus a count of events for the progress bar."""

    def __init__(self, worker: ProjectionWorker, on_batch: Callable[[int], None]) -> None:
        self._worker = worker
        self._on_batch = on_batch
        self.retired = worker.retired
        self.applied = 0
        self.parked = 0

    @property
    def group_id(self) -> str:
        return self._worker.group_id

    @property
    def topic(self) -> str:
        return self._worker.topic

    async def process(self, records: Sequence[Record]) -> BatchReport:
        report = await self._worker.process(records)
        self.applied += report.applied
        self.parked += report.parked
        self._on_batch(len(records))
        return report

    async def tick(self) -> None:
        await self._worker.tick()

    async def settle(self) -> None:
        await self._worker.settle()

    def assigned(self, partitions: set[int]) -> None:
        self._worker.assigned(partitions)

    def revoked(self, partitions: set[int]) -> None:
        self._worker.revoked(partitions)

    def observe_highwaters(self, highwaters: Mapping[int, int], positions: Mapping[int, int]) -> None:
        self._worker.observe_highwaters(highwaters, positions)

    async def close(self) -> None:
        await self._worker.close()


async def rebuild(
    settings: StreamsSettings,
    name: str,
    *,
    progress: Callable[[RebuildProgress], None] | None = None,
) -> RebuildResult:
    """Build the next generation of projection `name` from offset 0 and switch readers to it."""
    targets = targets_for(projection_named(name).store, settings)
    try:
        previous = await targets.ensure_active()
        generation = max([previous, *await targets.generations()]) + 1
    finally:
        await targets.close()
    total = sum((await end_offsets(settings.kafka_bootstrap, settings.topic)).values())
    worker = await ProjectionWorker.open(settings, name, generation=generation, live=False)
    await worker.checkpoints.forget(generation)
    started = time.monotonic()
    events = 0

    def on_batch(size: int) -> None:
        nonlocal events
        events += size
        if progress is not None:
            progress(RebuildProgress(events, max(total, events), time.monotonic() - started))

    counting = CountingHandler(worker, on_batch)
    runner = KafkaRunner(
        settings.kafka_bootstrap, batch_size=settings.rebuild_batch_size, batch_timeout_s=0.5, in_flight=2
    )
    try:
        await runner.consume(counting, stop=asyncio.Event(), until_caught_up=True)
        await worker.targets.switch(generation)
        await worker.checkpoints.activate(generation)
    finally:
        await worker.close()
    elapsed = time.monotonic() - started
    if progress is not None:
        progress(RebuildProgress(events, max(total, events), elapsed))
    return RebuildResult(
        projection=name,
        previous=previous,
        generation=generation,
        target=worker.targets.describe(generation),
        events=events,
        applied=counting.applied,
        parked=counting.parked,
        elapsed_s=elapsed,
    )
