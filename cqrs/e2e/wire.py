"""What reached `events.Order` during a run: every (order, version) relayed, and how often each event came."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, TopicPartition

from connectors.topics import topic_partitions
from schemas.envelope_codec import decode_envelope

TOPIC = "events.Order"


@dataclass(slots=True)
class WireReport:
    versions: set[tuple[str, int]] = field(default_factory=set)
    event_ids: Counter[str] = field(default_factory=Counter)

    @property
    def duplicates(self) -> int:
        """Events delivered more than once (Debezium restarts from its last committed offset: at-least-once)."""
        return sum(count - 1 for count in self.event_ids.values())


async def end_offsets(bootstrap: str) -> dict[int, int]:
    partitions = [TopicPartition(TOPIC, p) for p in await topic_partitions(bootstrap, TOPIC)]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(partitions)
        return {tp.partition: offset for tp, offset in ends.items()}
    finally:
        await consumer.stop()


async def read_since(bootstrap: str, since: dict[int, int], orders: set[str]) -> WireReport:
    """Every event of `orders` from the offsets `since` to the current end of each partition."""
    report = WireReport()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(TOPIC, p) for p in since]
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        for tp in partitions:
            consumer.seek(tp, since[tp.partition])
        remaining = {tp for tp in partitions if ends[tp] > since[tp.partition]}
        while remaining:
            batch = await consumer.getmany(timeout_ms=1000, max_records=5000)
            for tp, records in batch.items():
                for record in records:
                    if record.offset >= ends[tp]:
                        continue
                    key = record.key.decode() if record.key else ""
                    if key in orders and record.value is not None:
                        envelope = decode_envelope(record.value)
                        report.versions.add((key, envelope.version))
                        report.event_ids[str(envelope.event_id)] += 1
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()
    return report
