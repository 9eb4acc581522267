"""Create the pipeline's topics from topics.yaml (auto-creation is off on the broker) and check existing ones."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError

from connectors.errors import ConnectorError, TopicMismatch
from connectors.settings import TOPICS_FILE


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict)


def load_specs(path: Path = TOPICS_FILE) -> list[TopicSpec]:
    document = yaml.safe_load(path.read_text())
    return [
        TopicSpec(item["name"], int(item["partitions"]), {k: str(v) for k, v in item.get("config", {}).items()})
        for item in document["topics"]
    ]


async def ensure_topics(bootstrap: str, specs: list[TopicSpec]) -> list[str]:
    """Create the missing topics; return their names. An existing topic with fewer partitions is an error, because
    adding partitions later would move keys and break per-order ordering."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    try:
        await admin.start()
    except KafkaConnectionError as error:
        raise ConnectorError(f"Kafka at {bootstrap} is unreachable; is it up? `cqrs stack up kafka`") from error
    try:
        existing = set(await admin.list_topics())
        missing = [spec for spec in specs if spec.name not in existing]
        if missing:
            await admin.create_topics(
                [NewTopic(spec.name, spec.partitions, 1, topic_configs=spec.config) for spec in missing]
            )
        present = [spec for spec in specs if spec.name in existing]
        if present:
            described = await admin.describe_topics([spec.name for spec in present])
            partitions = {topic["topic"]: len(topic["partitions"]) for topic in described}
            for spec in present:
                if partitions[spec.name] < spec.partitions:
                    raise TopicMismatch(
                        f"topic {spec.name} has {partitions[spec.name]} partitions, topics.yaml wants {spec.partitions}"
                    )
        return [spec.name for spec in missing]
    finally:
        await admin.close()


async def topic_partitions(bootstrap: str, topic: str) -> list[int]:
    """The partition numbers of an existing topic (empty if it does not exist)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
        return sorted(partition["partition"] for partition in described.get("partitions", []))
    finally:
        await admin.close()
