"""The heart of a projection worker: one batch of records in, one committed checkpoint out.

For each batch: decode every record, load the last applied state of orders not in memory (one store read), decide
per event whether it applies (next position), is a duplicate (already applied: skipped, which makes redelivery
harmless), is early (a version gap) or must wait behind a parked event; project the applicable ones into `Put`s;
flush the sink and the DLQ together (retried until both succeed); only then remember the new states, mirror the
checkpoint, announce the versions, and return, after which the runner may commit the offsets.

Batches may overlap: a runner can hand over the next batch while the previous one is still being written (the
store's work then runs beside this process's Python work, on the other core). Deciding stays one batch at a time,
in order, and builds on the states of the batches before it whether or not they are durable yet (`_unflushed`);
flushes complete in batch order, each after the one before it, and a failed one fails every later batch, so a
batch is never reported durable before the ones ahead of it.

Several workers may share a projection (`streams.ownership`): the engine decides only events of partitions it owns
(records of others are left alone: their new owner reads them from the last commit), every store write checks
the worker's lease first (`Ownership.check`, a `Fenced` write is never retried), and when partitions move it waits
for the batches in flight (`settle`) and forgets what it knew (`revoked`).

The engine knows nothing of Faust or of a store client: it works with a `Projection`, a `Sink`, a
`DeadLetterQueue` and, optionally, `Checkpoints`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TypeVar

from schemas.envelope import EventEnvelope
from streams import metrics
from streams.checkpoints import Checkpoints, Flushed, PartitionPosition
from streams.dlq import DeadLetter, DeadLetterQueue, ReplayRequest
from streams.errors import Fenced, InvariantViolation, ParkedBehind, PoisonEvent, VersionGap
from streams.lru import Lru
from streams.order_view import OrderView, position_of
from streams.ownership import Ownership
from streams.positions import Verdict, verdict
from streams.projection import Projection
from streams.records import Record, decode
from streams.sink import Put, Sink, Stored

log = logging.getLogger(__name__)
T = TypeVar("T")
Decoder = Callable[[Record], EventEnvelope]


@dataclass(slots=True)
class BatchReport:
    """What a batch did; `positions` and `versions` are what the checkpoint records."""

    applied: int = 0
    duplicates: int = 0
    parked: int = 0
    skipped: int = 0
    """Events an operator dropped from the DLQ earlier (seen again on redelivery or rebuild)."""
    not_owned: int = 0
    """Events of partitions this worker no longer owns (handed over by a fetch from before a rebalance)."""
    versions: dict[str, int] = field(default_factory=dict)
    positions: dict[int, PartitionPosition] = field(default_factory=dict)
    applied_sources: list[str] = field(default_factory=list)

    @property
    def events(self) -> int:
        return self.applied + self.duplicates + self.parked + self.skipped


@dataclass(frozen=True, slots=True)
class _Item:
    record: Record
    envelope: EventEnvelope | None
    error: PoisonEvent | None
    letter: DeadLetter | None = None
    """Set when the item is a parked event being replayed."""


class Engine:
    """Sequences and applies batches of one projection into one target generation."""

    def __init__(
        self,
        projection: Projection,
        sink: Sink,
        dlq: DeadLetterQueue,
        *,
        checkpoints: Checkpoints | None = None,
        decoder: Decoder = decode,
        cache_size: int = 200_000,
        retry_max_s: float = 30.0,
        ownership: Ownership | None = None,
    ) -> None:
        self.projection = projection
        self.sink = sink
        self.dlq = dlq
        self.checkpoints = checkpoints
        self.decoder = decoder
        self.cache: Lru[OrderView] = Lru(cache_size)
        """Last applied state of recently seen orders: most events need no store read."""
        self._retry_max_s = retry_max_s
        self._lock = asyncio.Lock()
        """Held while a batch is decided: one at a time, in the order the runner handed them over."""
        self._unflushed: dict[str, OrderView] = {}
        """States decided by batches whose flush has not completed yet: the next batch builds on them."""
        self._flushing: asyncio.Future[BatchReport] | None = None
        """The flush of the last batch decided: the next one is durable only after it."""
        self._recent: deque[tuple[float, int]] = deque()
        self.ownership = ownership or Ownership()
        """Partitions of the event topic this worker owns now, and whether it may still write (its lease)."""
        sink.guard = self.ownership.check

    @property
    def generation(self) -> int:
        return self.dlq.generation

    async def process(self, records: Sequence[Record]) -> BatchReport:
        """Apply a batch; returns once everything it changed is durable (store and DLQ)."""
        async with self._lock:
            started = time.monotonic()
            items = []
            report = BatchReport()
            for record in records:
                timestamp_ms = record.timestamp_ms
                if not self._owns(record.partition):
                    report.not_owned += 1  # not ours (any more): no effect, no position, no commit
                    continue
                if self.dlq.ledger.is_dropped(record.source):
                    report.skipped += 1
                else:
                    item = self._decoded(record)
                    items.append(item)
                    if item.envelope is not None:
                        timestamp_ms = int(item.envelope.timestamp.timestamp() * 1000)
                report.positions[record.partition] = PartitionPosition(record.offset + 1, timestamp_ms)
            remember = await self._apply(items, report, replaying=frozenset())
            flushing = self._flush_in_turn(remember, report, started, len(records))
        report = await flushing
        log.debug(
            "%s batch: %d events, %d applied, %d duplicates, %d parked in %.3f s",
            self.projection.name, len(records), report.applied, report.duplicates, report.parked,
            time.monotonic() - started,
        )  # fmt: skip
        return report

    def _flush_in_turn(
        self, remember: dict[str, OrderView], report: BatchReport, started: float, size: int
    ) -> asyncio.Future[BatchReport]:
        """Start making a decided batch durable after the batch before it (called under the lock, in batch order)."""
        self._unflushed.update(remember)
        previous = self._flushing

        async def in_turn() -> BatchReport:
            if previous is not None:
                await previous  # raises if it failed: nothing after a failed batch may be reported durable
            await self._durable(remember)
            for key, state in remember.items():
                if self._unflushed.get(key) is state:  # a later batch may have moved the order on already
                    del self._unflushed[key]
            await self._commit(report, started, size)
            return report

        self._flushing = asyncio.ensure_future(in_turn())
        return self._flushing

    async def replay(self, request: ReplayRequest) -> BatchReport:
        """Retry the parked events of the request's orders this worker owns, in version order."""
        async with self._lock:
            started = time.monotonic()
            report = BatchReport()
            handled: list[str] = []
            items: list[_Item] = []
            for aggregate in request.open:
                letters = self.dlq.ledger.letters([aggregate])
                if letters and not self._owns(letters[0].record.partition):
                    continue  # another worker of the group owns this order's partition
                handled.append(aggregate)
                items += _replay_order([replace(self._decoded(letter.record), letter=letter) for letter in letters])
            if not handled:
                return report
            replaying = frozenset(item.record.source for item in items)
            remember = await self._apply(items, report, replaying=replaying)
            self.dlq.finish_replay(request.request_id, handled, report.applied_sources)
            flushing = self._flush_in_turn(remember, report, started, len(items))
        await flushing
        log.info("replay %s: %d applied, %d parked again", request.request_id, report.applied, report.parked)
        return report

    def _owns(self, partition: int) -> bool:
        return self.ownership.owns(partition)

    async def settle(self) -> None:
        """Wait until every batch decided so far is durable (or failed): partitions may be released after this."""
        flushing = self._flushing
        if flushing is not None:
            await asyncio.gather(flushing, return_exceptions=True)

    def _decoded(self, record: Record) -> _Item:
        try:
            return _Item(record, self.decoder(record), None)
        except PoisonEvent as error:
            return _Item(record, None, error)

    async def _apply(
        self, items: list[_Item], report: BatchReport, *, replaying: frozenset[str]
    ) -> dict[str, OrderView]:
        """Decide and project every item; returns the states to remember once the batch is durable."""
        loaded = await self._load_missing(items)
        working: dict[str, OrderView] = {}
        blocked: set[str] = set()
        for item in items:
            key = item.envelope.aggregate_id if item.envelope else item.record.aggregate_id
            before = working.get(key) or self._unflushed.get(key) or self.cache.get(key) or loaded.get(key)
            parked = key in blocked or self.dlq.ledger.is_parked(key, excluding=replaying)
            try:
                step = self._step(item, before, parked=parked)
            except PoisonEvent as error:
                self._park(item, error, report)
                blocked.add(key)
                continue
            if item.letter is not None:  # a replayed event that is now in the store, one way or the other
                report.applied_sources.append(item.record.source)
            if step is None:
                report.duplicates += 1
                continue
            after, puts = step
            self.sink.add(*puts)
            working[key] = after
            report.versions[key] = after.version
            report.applied += 1
        return {**loaded, **working}

    async def _durable(self, remember: dict[str, OrderView]) -> None:
        """Flush sink and DLQ until both took the batch; then the new states are facts worth caching."""
        await self._retrying("flush", self._flush)
        for key, state in remember.items():
            self.cache.put(key, state)

    def _step(self, item: _Item, before: OrderView | None, *, parked: bool) -> tuple[OrderView, list[Put]] | None:
        """The new state and records, None for an event already applied, or the `PoisonEvent` that parks it."""
        envelope = item.envelope
        if envelope is None:
            raise item.error or ParkedBehind("no event")
        position = position_of(envelope)
        decision = verdict(before.position if before else None, position)
        if decision is Verdict.DUPLICATE:
            return None  # checked first: an event already applied never waits, even behind a parked one
        if parked:
            raise ParkedBehind(f"order {envelope.aggregate_id} has an earlier parked event")
        if decision is Verdict.GAP:
            applied = before.position if before else "nothing"
            raise VersionGap(f"order {envelope.aggregate_id}: {position} cannot follow {applied}")
        try:
            return self.projection.handle(before, envelope)
        except PoisonEvent:
            raise
        except Exception as error:  # a projection bug on this event: park it rather than stop every order
            log.exception("projection %s failed on %s", self.projection.name, item.record.source)
            raise InvariantViolation(f"projection failed: {error!r}") from error

    async def _load_missing(self, items: list[_Item]) -> dict[str, OrderView]:
        keys = {item.envelope.aggregate_id for item in items if item.envelope}
        keys = {key for key in keys if key not in self.cache and key not in self._unflushed}
        if not keys:
            return {}
        stored: dict[str, Stored] = await self._retrying("load", lambda: self.sink.load(keys))
        return {key: self.projection.state(value) for key, value in stored.items()}

    def _park(self, item: _Item, error: PoisonEvent, report: BatchReport) -> None:
        if item.letter is not None:
            self.dlq.repark(item.letter, error, item.envelope)
        else:
            self.dlq.park(item.record, error, item.envelope)
        report.parked += 1

    async def _flush(self) -> None:
        started = time.monotonic()
        await self.sink.flush()
        self.ownership.check()  # the DLQ follows ownership like the store: no parking for a fenced worker
        await self.dlq.flush()
        metrics.FLUSH_SECONDS.labels(self.projection.name).observe(time.monotonic() - started)

    async def _retrying(self, what: str, action: Callable[[], Awaitable[T]]) -> T:
        """Retry a store operation until it succeeds: a projection stalls (and lags) rather than lose events."""
        delay = 0.1
        while True:
            try:
                return await action()
            except (asyncio.CancelledError, Fenced):
                raise
            except Exception as error:
                metrics.FLUSH_FAILURES.labels(self.projection.name).inc()
                log.warning("%s %s failed (%r); retrying in %.1f s", self.projection.name, what, error, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._retry_max_s)

    async def _commit(self, report: BatchReport, started: float, size: int) -> None:
        name = self.projection.name
        now = time.monotonic()
        self._recent.append((now, report.events))
        while self._recent and self._recent[0][0] < now - 10:
            self._recent.popleft()
        window = max(now - self._recent[0][0], 1.0) if self._recent else 1.0
        rate = sum(count for _, count in self._recent) / window
        for outcome, count in (
            ("applied", report.applied), ("duplicate", report.duplicates),
            ("parked", report.parked), ("skipped", report.skipped), ("not-owned", report.not_owned),
        ):  # fmt: skip
            if count:
                metrics.EVENTS.labels(name, outcome).inc(count)
        metrics.BATCH_SIZE.labels(name).observe(size)
        metrics.APPLY_SECONDS.labels(name).observe(now - started)
        metrics.PARKED.labels(name).set(self.dlq.ledger.parked_aggregates)
        metrics.DLQ_EVENTS.labels(name).set(len(self.dlq.ledger.entries))
        if report.positions:
            newest = max(position.timestamp_ms for position in report.positions.values())
            metrics.FRESHNESS_SECONDS.labels(name).set(max(time.time() - newest / 1000, 0.0))
        if self.checkpoints is None:
            return
        flushed = Flushed(
            positions=report.positions,
            versions=report.versions,
            applied=report.applied,
            duplicates=report.duplicates,
            parked_now=self.dlq.ledger.parked_aggregates,
            rate=rate,
        )
        try:
            await self.checkpoints.record(self.generation, flushed)
        except Exception as error:  # the mirror is for readers; the data is safe, so degrade, don't stall
            log.warning("%s: checkpoint mirror not written (%r)", name, error)

    def revoked(self, partitions: set[int]) -> None:
        """Partitions moved to another worker (after `settle`): it may change those orders now, so forget what we
        knew of any order, the sink's remembered positions included."""
        self.ownership.revoked(partitions)
        self.cache.clear()
        self._unflushed.clear()
        self.sink.forget()


def _replay_order(items: list[_Item]) -> list[_Item]:
    """Still-undecodable events first (they keep blocking), then the rest by position, whatever their offsets:
    an event re-published to fill a gap comes later in the topic but applies before the ones it unblocks."""
    broken = [item for item in items if item.envelope is None]
    decoded = sorted((item for item in items if item.envelope), key=lambda item: position_of(item.envelope))  # type: ignore[arg-type]
    return broken + decoded
