"""What every `CommandStore` adapter writes for a decided command: its events as outbox rows, and the `Accepted`
that reports them (the same ids, so the response names the very events the relay publishes)."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from writer.domain import Decision
from writer.outbox import OutboxRow, outbox_rows
from writer.ports import Accepted, CommandRequest, RecordedEvent


def accept(
    request: CommandRequest, decision: Decision, *, new_event_id: Callable[[], UUID]
) -> tuple[Accepted, list[OutboxRow]]:
    """The command's `Accepted` and its outbox rows, one per event in the decision's order."""
    rows = outbox_rows(
        decision,
        command_id=request.command_id,
        correlation_id=request.correlation_id,
        new_event_id=new_event_id,
    )
    accepted = Accepted(
        command_id=request.command_id,
        command_name=request.command_name,
        aggregate_id=decision.order_id,
        version=decision.version,
        timestamp=decision.occurred_at,
        correlation_id=request.correlation_id,
        events=tuple(
            RecordedEvent(row.envelope.event_id, row.envelope.event_type, row.envelope.sequence) for row in rows
        ),
    )
    return accepted, rows
