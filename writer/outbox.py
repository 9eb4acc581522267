"""Events of a decision as outbox rows: the Avro envelope plus the columns Debezium routes by."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid4

from schemas.envelope import EventEnvelope
from schemas.envelope_codec import encode_envelope
from writer.domain import Decision

AGGREGATE_TYPE = "Order"
"""Debezium routes rows to topic `events.<aggregatetype>`."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxRow:
    """One row of the `outbox` table (see the migration for what each column becomes in Kafka)."""

    event_id: UUID
    aggregate_type: str
    aggregate_id: str
    event_type: str
    payload: bytes
    version: int
    sequence: int
    correlation_id: str
    causation_id: str
    occurred_at: datetime


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
        rows.append(
            OutboxRow(
                event_id=envelope.event_id,
                aggregate_type=envelope.aggregate_type,
                aggregate_id=envelope.aggregate_id,
                event_type=envelope.event_type,
                payload=encode_envelope(envelope),
                version=envelope.version,
                sequence=sequence,
                correlation_id=correlation_id,
                causation_id=envelope.causation_id,
                occurred_at=envelope.timestamp,
            )
        )
    return rows
