"""An external subscriber of `events.Order`: consume, decode with the `schemas` codec, deduplicate, print JSON lines.

    uv run python examples/subscriber.py --group my-service            # follow the topic as a consumer group
    uv run python examples/subscriber.py --since-ms 1717000000000 --key <orderId> --max-events 3

Everything it relies on is the public contract in docs/subscribers.md: key = orderId, headers eventId/eventType/
version/correlationId/causationId, value = Avro single-object encoding of the envelope (schemas/avro/*.avsc), order
per key, at least once. With `--group` it commits offsets only after printing (at least once); without, it reads
from a point in time (or the start/end) and commits nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import OrderedDict
from datetime import datetime

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from schemas.envelope import EventEnvelope
from schemas.envelope_codec import decode_envelope
from schemas.errors import UnknownSchema
from schemas.mapping import envelope_to_avro


class SeenEvents:
    """The last `size` eventIds: a redelivered event (same eventId) is recognised and skipped."""

    def __init__(self, size: int = 100_000) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._size = size

    def first_time(self, event_id: str) -> bool:
        if event_id in self._ids:
            return False
        self._ids[event_id] = None
        if len(self._ids) > self._size:
            self._ids.popitem(last=False)
        return True


def as_json(record: ConsumerRecord, envelope: EventEnvelope) -> str:
    document = envelope_to_avro(envelope)
    document["data"] = document["data"][1]  # (record name, fields): the name is eventType already
    document["kafka"] = {
        "partition": record.partition,
        "offset": record.offset,
        "key": record.key.decode() if record.key else None,
        "headers": {name: value.decode() for name, value in record.headers},
    }
    return json.dumps(document, default=_json_value)


def _json_value(value: object) -> str:
    """Decimals (money) and UUIDs as strings, never floats; times as ISO 8601."""
    return value.isoformat() if isinstance(value, datetime) else str(value)


async def consume(args: argparse.Namespace) -> int:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=args.bootstrap,
        group_id=args.group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    seen, printed = SeenEvents(), 0
    try:
        await _position(consumer, args)
        idle_since = time.monotonic()
        while args.max_events is None or printed < args.max_events:
            batch = await consumer.getmany(timeout_ms=500)
            if not batch and args.idle_exit and time.monotonic() - idle_since > args.idle_exit:
                break
            for records in batch.values():
                idle_since = time.monotonic()
                for record in records:
                    if args.max_events is not None and printed >= args.max_events:
                        break
                    printed += _handle(record, args, seen)
            if args.group and batch:
                await consumer.commit()  # after printing: a crash before this means redelivery, never a loss
    finally:
        await consumer.stop()
    return 0


def _handle(record: ConsumerRecord, args: argparse.Namespace, seen: SeenEvents) -> int:
    if args.key and (record.key or b"").decode() != args.key:
        return 0
    try:
        envelope = decode_envelope(record.value)
    except UnknownSchema as error:  # written with a schema newer than this copy of schemas/: update, then replay
        print(f"skipping {record.partition}:{record.offset}: {error}", file=sys.stderr)
        return 0
    if not seen.first_time(str(envelope.event_id)):
        return 0
    print(as_json(record, envelope), flush=True)
    return 1


async def _position(consumer: AIOKafkaConsumer, args: argparse.Namespace) -> None:
    if args.group:
        consumer.subscribe([args.topic])
        return
    partitions = [TopicPartition(args.topic, number) for number in await _partition_numbers(args)]
    if not partitions:
        raise SystemExit(f"no topic {args.topic} at {args.bootstrap}")
    consumer.assign(partitions)
    if args.since_ms is not None:
        found = await consumer.offsets_for_times(dict.fromkeys(partitions, args.since_ms))
        ends = await consumer.end_offsets(partitions)
        for partition in partitions:
            at = found.get(partition)
            consumer.seek(partition, at.offset if at is not None else ends[partition])
    elif args.start == "end":
        await consumer.seek_to_end(*partitions)
    else:
        await consumer.seek_to_beginning(*partitions)


async def _partition_numbers(args: argparse.Namespace) -> list[int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=args.bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_topics([args.topic])
        return sorted(partition["partition"] for partition in described.get("partitions") or [])
    finally:
        await admin.close()


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", default="127.0.0.1:59092", help="Kafka bootstrap servers")
    parser.add_argument("--topic", default="events.Order")
    parser.add_argument("--group", help="consumer group (commits after printing); omit to read without a group")
    parser.add_argument("--since-ms", type=int, help="without --group: start at this record time (epoch ms)")
    parser.add_argument("--start", choices=("beginning", "end"), default="end", help="without --group/--since-ms")
    parser.add_argument("--key", help="only events of this order id (the record key)")
    parser.add_argument("--max-events", type=int, help="stop after printing this many events")
    parser.add_argument("--idle-exit", type=float, default=0, help="stop after this many seconds without records")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(consume(arguments(argv)))


if __name__ == "__main__":
    sys.exit(main())
