"""Events of a decision as outbox rows: the Avro envelope plus the columns Debezium routes by."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID, uuid4

from schemas.envelope import EventEnvelope
from schemas.envelope_codec import encode_envelope
from writer.domain import Decision

AGGREGATE_TYPE = "Order"
"""Debezium routes rows to topic `events.<aggregatetype>`."""


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One row of the `outbox` table: the envelope's metadata fill its columns (see the migration for what each
    becomes in Kafka), and `payload` is the envelope itself, encoded."""

    envelope: EventEnvelope
    payload: bytes


def outbox_rows(
    decision: Decision,
    *,
    command_id: UUID,
    correlation_id: str,
    new_event_id: Callable[[], UUID] = uuid4,
) -> list[OutboxRow]:
    """One row per event, in the decision's order; every event carries the command as its causation."""
    rows = []
    for sequence, event in enumerate(decision.events):
        envelope = EventEnvelope(
            event_id=new_event_id(),
            aggregate_type=AGGREGATE_TYPE,
            aggregate_id=decision.order_id,
            version=decision.version,
            sequence=sequence,
            timestamp=decision.occurred_at,
            correlation_id=correlation_id,
            causation_id=str(command_id),
            data=event,
        )
        rows.append(OutboxRow(envelope, encode_envelope(envelope)))
    return rows
