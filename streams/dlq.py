"""Sequenced dead-letter queue: the `dlq.<projection>` topic is the durable log of parked events and decisions.

A poison event is parked with its reason, error and attempts; every later event of the same order parks behind it
(the read model must never apply version 5 over a missing 4), while other orders flow on. The topic holds four
kinds of JSON messages, and replaying it from the start rebuilds the same `Ledger` in any process:

- `parked`: the original record (key, value, headers, position in the event topic) and why it was parked;
- `replay-requested`: an operator asked to retry some orders' parked events (`cqrs projections dlq replay`);
- `replay-finished`: the worker that owns those orders retried them; `sources` were applied, the rest parked again;
- `dropped`: an operator discarded some parked events; every generation (and a rebuild) skips them from then on.

The worker executes replays itself, between two batches, so replayed and live events of one order never race.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from schemas.envelope import EventEnvelope
from schemas.read_models import DROPPED as DROPPED
from schemas.read_models import PARKED as PARKED
from schemas.read_models import REPLAY_FINISHED as REPLAY_FINISHED
from schemas.read_models import REPLAY_REQUESTED as REPLAY_REQUESTED
from streams.errors import MissingTopic, PoisonEvent
from streams.records import Record

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One parked event of one generation of a projection."""

    generation: int
    source: str
    aggregate_id: str
    reason: str
    error: str
    attempts: int
    parked_at: str
    record: Record
    event_id: str | None = None
    event_type: str | None = None
    version: int | None = None
    sequence: int | None = None

    def to_message(self, writer: str) -> dict[str, Any]:
        record = self.record
        return {
            "kind": PARKED,
            "writer": writer,
            "generation": self.generation,
            "source": self.source,
            "aggregateId": self.aggregate_id,
            "reason": self.reason,
            "error": self.error,
            "attempts": self.attempts,
            "parkedAt": self.parked_at,
            "eventId": self.event_id,
            "eventType": self.event_type,
            "version": self.version,
            "sequence": self.sequence,
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "timestampMs": record.timestamp_ms,
            "key": _b64(record.key),
            "value": _b64(record.value),
            "headers": [[name, _b64(value)] for name, value in record.headers],
        }

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> DeadLetter:
        record = Record(
            topic=message["topic"],
            partition=message["partition"],
            offset=message["offset"],
            key=_unb64(message["key"]),
            value=_unb64(message["value"]),
            timestamp_ms=message["timestampMs"],
            headers=tuple((name, _unb64(value) or b"") for name, value in message["headers"]),
        )
        return cls(
            generation=message["generation"],
            source=message["source"],
            aggregate_id=message["aggregateId"],
            reason=message["reason"],
            error=message["error"],
            attempts=message["attempts"],
            parked_at=message["parkedAt"],
            record=record,
            event_id=message.get("eventId"),
            event_type=message.get("eventType"),
            version=message.get("version"),
            sequence=message.get("sequence"),
        )


@dataclass(slots=True)
class ReplayRequest:
    """Retry the parked events of `aggregates` (the operator's snapshot); done when every one was handled."""

    request_id: str
    generation: int
    aggregates: tuple[str, ...]
    handled: set[str] = field(default_factory=set)

    @property
    def open(self) -> list[str]:
        return [aggregate for aggregate in self.aggregates if aggregate not in self.handled]


@dataclass(slots=True)
class Ledger:
    """What the DLQ topic says now, for one generation: parked events by order, drops, open replay requests."""

    generation: int
    entries: dict[str, DeadLetter] = field(default_factory=dict)
    by_aggregate: dict[str, set[str]] = field(default_factory=dict)
    dropped: set[str] = field(default_factory=set)
    requests: dict[str, ReplayRequest] = field(default_factory=dict)
    size: int = 0
    """Messages in the topic (all generations, all kinds)."""

    def apply(self, message: dict[str, Any]) -> None:
        self.size += 1
        kind = message.get("kind")
        if kind == DROPPED:
            # Drops hold for every generation: a rebuild must end where the live read model is.
            for source in message["sources"]:
                self.dropped.add(source)
                self._remove(source)
        if message.get("generation") != self.generation:
            return
        if kind == PARKED:
            self.add(DeadLetter.from_message(message))
        elif kind == REPLAY_REQUESTED:
            request = ReplayRequest(message["requestId"], self.generation, tuple(message["aggregates"]))
            self.requests[request.request_id] = request
        elif kind == REPLAY_FINISHED:
            for source in message["sources"]:
                self._remove(source)
            finished = self.requests.get(message["requestId"])
            if finished is not None:
                finished.handled.update(message["aggregates"])
                if not finished.open:
                    del self.requests[finished.request_id]

    def add(self, letter: DeadLetter) -> None:
        self.entries[letter.source] = letter
        self.by_aggregate.setdefault(letter.aggregate_id, set()).add(letter.source)

    def _remove(self, source: str) -> None:
        letter = self.entries.pop(source, None)
        if letter is not None:
            sources = self.by_aggregate.get(letter.aggregate_id, set())
            sources.discard(source)
            if not sources:
                self.by_aggregate.pop(letter.aggregate_id, None)

    def is_parked(self, aggregate_id: str, *, excluding: frozenset[str] = frozenset()) -> bool:
        sources = self.by_aggregate.get(aggregate_id)
        return sources is not None and not sources <= excluding

    def is_dropped(self, source: str) -> bool:
        return source in self.dropped

    def letters(self, aggregates: Iterable[str] | None = None) -> list[DeadLetter]:
        """Parked events (of some orders), in event-topic order."""
        if aggregates is None:
            chosen: Iterator[DeadLetter] = iter(self.entries.values())
        else:
            wanted = set(aggregates)
            chosen = (letter for letter in self.entries.values() if letter.aggregate_id in wanted)
        return sorted(chosen, key=lambda letter: (letter.record.partition, letter.record.offset))

    @property
    def parked_aggregates(self) -> int:
        return len(self.by_aggregate)


def new_letter(
    generation: int, record: Record, error: PoisonEvent, envelope: EventEnvelope | None, attempts: int = 1
) -> DeadLetter:
    return DeadLetter(
        generation=generation,
        source=record.source,
        aggregate_id=envelope.aggregate_id if envelope else record.aggregate_id,
        reason=error.reason,
        error=str(error),
        attempts=attempts,
        parked_at=datetime.now(UTC).isoformat(),
        record=record,
        event_id=str(envelope.event_id) if envelope else record.header("eventId"),
        event_type=envelope.event_type if envelope else record.header("eventType"),
        version=envelope.version if envelope else _int(record.header("version")),
        sequence=envelope.sequence if envelope else _int(record.header("sequence")),
    )


class DeadLetterLog(ABC):
    """Where DLQ messages are kept, in order: the `dlq.<projection>` topic (`KafkaDeadLetterLog`) or a list in tests."""

    @abstractmethod
    async def start(self) -> list[dict[str, Any]]:
        """Connect and return every message written so far, oldest first."""

    @abstractmethod
    async def poll(self) -> list[dict[str, Any]]:
        """Messages written since the last `start`/`poll` (waits up to about a second for some)."""

    @abstractmethod
    async def append(self, messages: list[dict[str, Any]]) -> None:
        """Write messages durably, in order, or raise."""

    @abstractmethod
    async def stop(self) -> None: ...


class KafkaDeadLetterLog(DeadLetterLog):
    """The DLQ topic: one partition (total order), written with acks=all and idempotence."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self._bootstrap = bootstrap
        self._partition = TopicPartition(topic, 0)
        self._producer: AIOKafkaProducer | None = None
        self._consumer: AIOKafkaConsumer | None = None

    async def start(self) -> list[dict[str, Any]]:
        self._producer = AIOKafkaProducer(bootstrap_servers=self._bootstrap, acks="all", enable_idempotence=True)
        await self._producer.start()
        self._consumer = AIOKafkaConsumer(bootstrap_servers=self._bootstrap, enable_auto_commit=False)
        await self._consumer.start()
        if self.topic not in await self._consumer.topics():
            await self.stop()
            raise MissingTopic(
                f"DLQ topic {self.topic} does not exist (auto-creation is off); "
                "`cqrs connectors register orders-outbox` creates it from connectors/topics.yaml"
            )
        self._consumer.assign([self._partition])
        await self._consumer.seek_to_beginning(self._partition)
        end = (await self._consumer.end_offsets([self._partition]))[self._partition]
        messages: list[dict[str, Any]] = []
        while await self._consumer.position(self._partition) < end:
            messages += await self.poll()
        return messages

    async def poll(self) -> list[dict[str, Any]]:
        assert self._consumer is not None, "start() first"
        batch = await self._consumer.getmany(self._partition, timeout_ms=1000)
        return [message for record in batch.get(self._partition, []) if (message := _parse(record.value))]

    async def append(self, messages: list[dict[str, Any]]) -> None:
        assert self._producer is not None, "start() first"
        futures = [
            await self._producer.send(self.topic, json.dumps(message).encode(), key=_key(message))
            for message in messages
        ]
        await asyncio.gather(*futures)

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
        if self._producer is not None:
            await self._producer.stop()


class DeadLetterQueue:
    """The ledger of one generation kept in step with its log.

    `start` reads the log to its end (a restarted worker remembers every parked order), `follow` keeps reading in
    the background (operators' drops and replay requests arrive while the worker runs). What this instance writes
    is applied to the ledger at once and only buffered for the log until `flush`, which the engine calls together
    with the sink's flush, before offsets are committed; the echo of its own messages is skipped.
    """

    def __init__(self, log: DeadLetterLog, generation: int) -> None:
        self.ledger = Ledger(generation)
        self._log = log
        self._writer = uuid.uuid4().hex
        self._pending: list[dict[str, Any]] = []
        self._follower: asyncio.Task[None] | None = None
        self.changed = asyncio.Event()
        """Set whenever a message from someone else arrived (a replay request, a drop)."""

    @property
    def generation(self) -> int:
        return self.ledger.generation

    async def start(self) -> None:
        for message in await self._log.start():
            self._receive(message)

    def follow(self) -> None:
        """Keep applying messages from other writers in the background (the worker)."""
        self._follower = asyncio.create_task(self._follow(), name="dlq-follow")

    async def refresh(self) -> None:
        """Apply what arrived since the last read (the CLI, which does not follow)."""
        while messages := await self._log.poll():
            for message in messages:
                self._receive(message)

    async def _follow(self) -> None:
        while True:
            try:
                messages = await self._log.poll()
            except asyncio.CancelledError:
                raise
            except Exception:  # a broker hiccup must not end following; the next poll retries
                log.exception("reading the DLQ failed; retrying")
                await asyncio.sleep(1)
                continue
            for message in messages:
                self._receive(message)

    def _receive(self, message: dict[str, Any]) -> None:
        if message.get("writer") == self._writer:
            return
        self.ledger.apply(message)
        self.changed.set()

    def park(self, record: Record, error: PoisonEvent, envelope: EventEnvelope | None) -> DeadLetter | None:
        """Park an event (buffered until `flush`); None if it is parked already (a redelivery)."""
        if record.source in self.ledger.entries:
            return None
        letter = new_letter(self.generation, record, error, envelope)
        self._write(letter.to_message(self._writer))
        return letter

    def repark(self, letter: DeadLetter, error: PoisonEvent, envelope: EventEnvelope | None) -> DeadLetter:
        """A replayed event failed again: same source, one more attempt."""
        again = new_letter(self.generation, letter.record, error, envelope, attempts=letter.attempts + 1)
        self._write(again.to_message(self._writer))
        return again

    def finish_replay(self, request_id: str, aggregates: list[str], applied: list[str]) -> None:
        self._write(
            {"kind": REPLAY_FINISHED, "generation": self.generation, "requestId": request_id,
             "aggregates": aggregates, "sources": applied, "at": _now()}
        )  # fmt: skip

    def request_replay(self, aggregates: list[str]) -> str:
        request_id = uuid.uuid4().hex
        self._write(
            {"kind": REPLAY_REQUESTED, "generation": self.generation, "requestId": request_id,
             "aggregates": aggregates, "at": _now()}
        )  # fmt: skip
        return request_id

    def drop(self, sources: list[str]) -> None:
        self._write({"kind": DROPPED, "generation": self.generation, "sources": sources, "at": _now()})

    def _write(self, message: dict[str, Any]) -> None:
        message.setdefault("writer", self._writer)
        self.ledger.apply(message)
        self._pending.append(message)

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def flush(self) -> None:
        """Make every buffered message durable before the caller commits offsets."""
        taken, self._pending = self._pending, []  # messages written meanwhile wait for the next flush
        if not taken:
            return
        try:
            await self._log.append(taken)
        except BaseException:
            self._pending = taken + self._pending
            raise

    async def stop(self) -> None:
        if self._follower is not None:
            self._follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._follower
        await self._log.stop()


def _parse(value: bytes | None) -> dict[str, Any] | None:
    if value is None:
        return None
    try:
        message = json.loads(value)
    except ValueError:
        log.warning("skipping a DLQ message that is not JSON")
        return None
    return message if isinstance(message, dict) else None


def _key(message: dict[str, Any]) -> bytes | None:
    aggregate = message.get("aggregateId")
    return aggregate.encode() if isinstance(aggregate, str) else None


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def _unb64(text: str | None) -> bytes | None:
    return None if text is None else base64.b64decode(text)


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _now() -> str:
    return datetime.now(UTC).isoformat()
