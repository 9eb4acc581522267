"""Names the read side publishes and the writer's command trace reads: projections, the checkpoint mirror in Redis
and the dead-letter topics. Moved down here from `streams.contract` (which re-exports them) so that the writer can
read where a command's events are without importing the read side. Standard library only.

- Projections: `LIST`, `DETAIL`, `SEARCH`, `ANALYTICS` (`PROJECTIONS`, in their workers' metrics-port order).
- The checkpoint mirror (`MirrorKeys`): per projection the active generation, its partitions' positions, the orders'
  applied versions, stats, and the channel announcing `{orderId: version}` after each flush.
- Topics: the event log `EVENTS_TOPIC` and each projection's dead-letter topic `DLQ_PREFIX + projection`, whose JSON
  messages are of the kinds `PARKED`, `REPLAY_REQUESTED`, `REPLAY_FINISHED`, `DROPPED` (`streams.dlq`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

EVENTS_TOPIC = "events.Order"
"""The replayable log of Order events (Debezium's outbox router writes it; key = orderId)."""
DLQ_PREFIX = "dlq."
"""A projection's dead-letter topic is `<DLQ_PREFIX><projection>`."""
MIRROR_PREFIX = "streams"
"""The default first part of every checkpoint-mirror key (`MirrorKeys.prefix`)."""
PARKED, REPLAY_REQUESTED, REPLAY_FINISHED, DROPPED = "parked", "replay-requested", "replay-finished", "dropped"
"""The `kind` of a dead-letter topic's messages."""

DETAIL = "orders-mongo"
"""Detail and items of orders, read by orderId (MongoDB wire; FerretDB here)."""
SEARCH = "orders-search"
"""Full-text search over orders (Elasticsearch)."""
ANALYTICS = "orders-analytics"
"""Facts and aggregates (ClickHouse)."""
LIST = "orders-list"
"""Lists of orders, filtered and sorted by indexes (PostgreSQL, the `readdb` cluster)."""
PROJECTIONS = (DETAIL, SEARCH, ANALYTICS, LIST)
"""In the order of their workers' metrics ports (`metrics_port` + index)."""

UPDATED_AT = "updatedAt"
"""Field of a generation's `stats` hash: wall-clock time (ms) of its last flush."""

GenerationKey = Literal["partitions", "versions", "stats"]


@dataclass(frozen=True, slots=True)
class MirrorKeys:
    """The Redis keys of one projection's checkpoint mirror; with `P` = `<prefix>:<projection>`, `G` = `P:g<N>`:

    | key | type | holds |
    |---|---|---|
    | `P:active` | string | the generation readers see |
    | `G:partitions` | hash | partition → `{"offset": next offset, "timestamp": ms of the last applied event}` |
    | `G:versions` | hash | orderId → applied version |
    | `G:stats` | hash | `applied`, `duplicates`, `parked` totals, `rate` (events/s), `updatedAt` (ms) |
    | channel `P:applied` | pub/sub | `{orderId: version, …}` (JSON) after each flush of the active generation |
    """

    prefix: str
    projection: str

    @property
    def base(self) -> str:
        return f"{self.prefix}:{self.projection}"

    @property
    def active(self) -> str:
        return f"{self.base}:active"

    @property
    def applied(self) -> str:
        """The announcement channel."""
        return f"{self.base}:applied"

    def partitions(self, generation: int) -> str:
        return self._of(generation, "partitions")

    def versions(self, generation: int) -> str:
        return self._of(generation, "versions")

    def stats(self, generation: int) -> str:
        return self._of(generation, "stats")

    def of_generation(self, generation: int) -> list[str]:
        """Every key of one generation."""
        return [self.partitions(generation), self.versions(generation), self.stats(generation)]

    def around_generation(self, name: GenerationKey) -> tuple[str, str]:
        """`(head, tail)` such that `head + N + tail` is key `name` (`partitions`, …) of generation N: for scripts
        that read the active generation and build its keys inside Redis."""
        return f"{self.base}:g", f":{name}"

    def _of(self, generation: int, name: GenerationKey) -> str:
        head, tail = self.around_generation(name)
        return f"{head}{generation}{tail}"


def encode_partition(offset: int, timestamp_ms: int) -> str:
    """A `partitions` hash value."""
    return json.dumps({"offset": offset, "timestamp": timestamp_ms})


def decode_partition(value: bytes | str) -> tuple[int, int]:
    """`(next offset, event time in ms of the last applied event)` from a `partitions` hash value."""
    data = json.loads(value)
    return int(data["offset"]), int(data["timestamp"])
