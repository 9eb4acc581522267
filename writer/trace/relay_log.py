"""A command's events in Kafka: where the relay put them (event topic) and whether a projection parked them (DLQ).

Design, chosen for cost: nothing is consumed until someone asks. A trace computes the order's partition the way the
relay's producer does (murmur2 of the key, Kafka's default partitioner: the outbox router keys records by orderId),
asks the broker for the first offset at or after the command's timestamp (minus a margin for clock skew), and reads
forward until it meets the records whose `causationId` header is the command. A writer that instead consumed the
whole event topic to index it would pay for every event of every order to answer a rare debugging question. Once
found, a position never changes and is remembered.

Dead letters are different: the DLQ topics are small (poison events only), and a letter says something only with
the messages after it (a replay or a drop releases it). So this process keeps a ledger per DLQ topic, brought up to
date incrementally from the offset it reached last time, and only when a trace finds a projection behind.

One consumer (no group: nothing is committed) serves every lookup of the process, one at a time under a lock: a
trace is an operator's question, not a hot path.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.partitioner import murmur2

from schemas.read_models import DROPPED, PARKED, REPLAY_FINISHED
from writer.trace.model import Parked, Relayed

log = structlog.get_logger("writer.trace.relay_log")

SKEW_MARGIN_MS = 10_000
"""Records are timestamped by the relay after the commit; the margin covers clocks of different hosts."""
SCAN_LIMIT = 200_000
"""Records read at most to find one command's events (under heavy load its partition moves fast)."""
REMEMBERED = 10_000


@dataclass(frozen=True, slots=True)
class _Letter:
    aggregate_id: str
    parked: Parked


class DeadLetterLedger:
    """What one DLQ topic says now: the parked events not yet replayed or dropped, per (generation, source)."""

    def __init__(self) -> None:
        self.next_offset = 0
        self.letters: dict[tuple[int, str], _Letter] = {}

    def apply(self, message: dict[str, object]) -> None:
        kind = message.get("kind")
        if kind == PARKED:
            self.letters[(_as_int(message["generation"]), str(message["source"]))] = _letter(message)
        elif kind == REPLAY_FINISHED:
            for source in _strings(message.get("sources")):
                self.letters.pop((_as_int(message["generation"]), source), None)
        elif kind == DROPPED:  # drops hold for every generation
            dropped = set(_strings(message.get("sources")))
            for key in [key for key in self.letters if key[1] in dropped]:
                del self.letters[key]

    def holding(self, generation: int | None, aggregate_id: str) -> list[Parked]:
        """The order's parked events in `generation` (any, if unknown), in event-topic order."""
        found = [
            letter.parked
            for (letter_generation, _), letter in self.letters.items()
            if letter.aggregate_id == aggregate_id and generation in (None, letter_generation)
        ]
        return sorted(found, key=lambda parked: (parked.partition, parked.offset))


class RelayLog:
    """Lookups in the event topic and the DLQ topics of one Kafka cluster."""

    def __init__(self, bootstrap: str, events_topic: str, dlq_prefix: str, *, timeout_s: float) -> None:
        self._bootstrap = bootstrap
        self._events_topic = events_topic
        self._dlq_prefix = dlq_prefix
        self._timeout_s = timeout_s
        self._consumer: AIOKafkaConsumer | None = None
        self._lock = asyncio.Lock()
        self._found: OrderedDict[str, Relayed] = OrderedDict()
        self._ledgers: dict[str, DeadLetterLedger] = {}

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None

    async def relayed(self, command_id: str, aggregate_id: str, since_ms: int, events: int) -> Relayed | None:
        """Where the command's `events` records are; None while the relay has not written them (all of them)."""
        if (known := self._found.get(command_id)) is not None:
            return known
        async with self._lock:
            try:
                found = await asyncio.wait_for(
                    self._search(command_id, aggregate_id, since_ms, events), self._timeout_s
                )
            finally:
                self._idle()
        if found is not None:
            self._found[command_id] = found
            while len(self._found) > REMEMBERED:
                self._found.popitem(last=False)
        return found

    async def parked(self, aggregate_id: str, generations: Mapping[str, int | None]) -> dict[str, list[Parked]]:
        """Per projection (→ its active generation), the order's events it holds in its DLQ, oldest first."""
        topics = {projection: f"{self._dlq_prefix}{projection}" for projection in generations}
        async with self._lock:
            try:
                await asyncio.wait_for(self._catch_up(list(topics.values())), self._timeout_s)
            finally:
                self._idle()
        return {
            projection: self._ledgers[topic].holding(generations[projection], aggregate_id)
            for projection, topic in topics.items()
        }

    def _idle(self) -> None:
        """Between lookups the consumer fetches nothing (an assigned partition would be polled all the time)."""
        if self._consumer is not None and (assigned := self._consumer.assignment()):
            self._consumer.pause(*assigned)

    async def _started(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self._bootstrap,
                enable_auto_commit=False,
                request_timeout_ms=int(self._timeout_s * 1000) + 1000,
                max_partition_fetch_bytes=4 * 2**20,
                # A lookup switches partitions: a long poll left on the previous one would delay the next by its wait.
                fetch_max_wait_ms=20,
            )
            await consumer.start()
            self._consumer = consumer
        return self._consumer

    async def _search(self, command_id: str, aggregate_id: str, since_ms: int, events: int) -> Relayed | None:
        consumer = await self._started()
        partitions = consumer.partitions_for_topic(self._events_topic)
        if not partitions:
            # The client learns a topic's partitions once it works with one of them (partition 0 always exists).
            first = TopicPartition(self._events_topic, 0)
            consumer.assign([first])
            await consumer.end_offsets([first])
            partitions = consumer.partitions_for_topic(self._events_topic) or {0}
        key = aggregate_id.encode()
        ordered = sorted(partitions)
        partition = TopicPartition(self._events_topic, ordered[(murmur2(key) & 0x7FFFFFFF) % len(ordered)])
        start = (await consumer.offsets_for_times({partition: max(0, since_ms - SKEW_MARGIN_MS)}))[partition]
        if start is None:
            return None  # nothing written at or after that time: not relayed yet
        end = (await consumer.end_offsets([partition]))[partition]
        wanted = command_id.encode()
        offsets: list[int] = []
        first_ms = 0
        consumer.assign([partition])
        consumer.seek(partition, start.offset)
        position = start.offset
        while position < end and position - start.offset < SCAN_LIMIT:
            batch = (await consumer.getmany(partition, timeout_ms=500, max_records=2000)).get(partition, [])
            if not batch:  # a fetch still under way (the caller's time-out bounds the wait), or nothing left
                position = await consumer.position(partition)
                continue
            for record in batch:
                position = record.offset + 1
                if record.key == key and ("causationId", wanted) in record.headers:
                    first_ms = first_ms or record.timestamp
                    offsets.append(record.offset)
            if len(offsets) >= events:
                return Relayed(self._events_topic, partition.partition, tuple(offsets), first_ms)
        return None

    async def _catch_up(self, topics: list[str]) -> None:
        """Bring the ledgers of `topics` up to the topics' ends as of now (one offsets request for all)."""
        consumer = await self._started()
        partitions = [TopicPartition(topic, 0) for topic in topics]
        ends = await consumer.end_offsets(partitions)
        for partition in partitions:
            ledger = self._ledgers.setdefault(partition.topic, DeadLetterLedger())
            if ledger.next_offset < ends[partition]:
                await self._read(consumer, partition, ledger, ends[partition])

    @staticmethod
    async def _read(consumer: AIOKafkaConsumer, partition: TopicPartition, ledger: DeadLetterLedger, end: int) -> None:
        consumer.assign([partition])
        consumer.seek(partition, ledger.next_offset)
        while ledger.next_offset < end:
            batch = (await consumer.getmany(partition, timeout_ms=500, max_records=2000)).get(partition, [])
            if not batch:  # a fetch still under way (the caller's time-out bounds the wait), or nothing left
                ledger.next_offset = max(ledger.next_offset, await consumer.position(partition))
                continue
            for record in batch:
                ledger.next_offset = record.offset + 1
                try:
                    ledger.apply(json.loads(record.value or b"{}"))
                except (ValueError, KeyError, TypeError) as error:  # not ours to judge: skip, but say so
                    log.warning("trace.bad_dead_letter", topic=partition.topic, offset=record.offset, error=repr(error))


def _letter(message: dict[str, object]) -> _Letter:
    version = message.get("version")
    return _Letter(
        aggregate_id=str(message["aggregateId"]),
        parked=Parked(
            reason=str(message["reason"]),
            error=str(message.get("error") or ""),
            version=_as_int(version) if version is not None else None,
            parked_at=str(message.get("parkedAt") or ""),
            partition=_as_int(message.get("partition", -1)),
            offset=_as_int(message.get("offset", -1)),
        ),
    )


def _as_int(value: object) -> int:
    if isinstance(value, int):
        return value
    return int(str(value))


def _strings(value: object) -> list[str]:
    return [str(item) for item in value] if isinstance(value, list) else []
