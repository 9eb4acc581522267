"""Small Kafka look-ups the CLI and rebuild need: a topic's partitions and end offsets."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from streams.errors import MissingTopic


async def partitions(bootstrap: str, topic: str) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if described["error_code"] != 0:
        raise MissingTopic(f"topic {topic} does not exist (error {described['error_code']})")
    return sorted(TopicPartition(topic, p["partition"]) for p in described["partitions"])


async def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    """Next offset to be written, per partition (= events in it: the topic is never compacted or trimmed)."""
    tps = await partitions(bootstrap, topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(tps)
    finally:
        await consumer.stop()
    return {tp.partition: offset for tp, offset in ends.items()}
