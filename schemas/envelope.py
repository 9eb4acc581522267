"""The envelope every Order event travels in (outbox row payload, Kafka record value)."""

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from schemas.events import OrderEvent
from schemas.timestamps import to_wire_precision

ENVELOPE_RECORD = "com.example.orders.OrderEventEnvelope"
# The catalog version producers write with; a test keeps it equal to the newest envelope file.
ENVELOPE_SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class EventEnvelope:
    """An event plus the metadata consumers route, order and deduplicate by.

    `version` is the aggregate version after the emitting command; events of one command share it and are
    ordered by `sequence`. `causation_id` is the commandId. `timestamp` is normalised to UTC milliseconds (the
    wire precision), so `decode_envelope(encode_envelope(e)) == e`.
    """

    event_id: UUID
    aggregate_type: str
    aggregate_id: str
    version: int
    timestamp: datetime
    correlation_id: str
    causation_id: str
    data: OrderEvent
    sequence: int = 0
    schema_version: int = ENVELOPE_SCHEMA_VERSION

    def __post_init__(self) -> None:
        # Frozen dataclass: normalising a field needs object.__setattr__.
        object.__setattr__(self, "timestamp", to_wire_precision(self.timestamp))

    @property
    def event_type(self) -> str:
        """The event's name (`OrderCreated`, …), derived from `data` so the two can never disagree."""
        return type(self.data).__name__
