"""`cqrs webhooks dlq replay`: send parked deliveries again, in order per (endpoint, order).

A sequence stops at its first delivery that fails again (the rest stay parked behind it), and an endpoint stops at
its first failing sequence: an endpoint that is still down is not tried once per parked order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import groupby
from uuid import UUID

from streams.webhooks import ledger
from streams.webhooks.cipher import secret_cipher
from streams.webhooks.delivery import Sender
from streams.webhooks.endpoints import Endpoint, Pool, find_endpoint
from streams.webhooks.settings import WebhookSettings

Progress = Callable[[int], None]


@dataclass(slots=True)
class ReplayReport:
    delivered: int = 0
    still_parked: int = 0
    failures: list[str] = field(default_factory=list)
    """One line per endpoint or sequence that failed again, saying why."""


async def replay(
    settings: WebhookSettings,
    pool: Pool,
    *,
    endpoint_id: UUID | None = None,
    order_id: str | None = None,
    attempts: int | None = None,
    progress: Progress = lambda _: None,
) -> ReplayReport:
    """Replay what is parked (optionally for one endpoint and/or order); `progress` gets each settled count."""
    report = ReplayReport()
    async with pool.connection() as conn:
        parked = await ledger.list_parked(conn, endpoint_id=endpoint_id, order_id=order_id)
    cipher = secret_cipher(settings)
    sender = Sender(settings)
    try:
        for endpoint_key, of_endpoint in groupby(parked, key=lambda item: item.delivery.endpoint_id):
            sequences = [list(items) for _, items in groupby(of_endpoint, key=lambda item: item.delivery.order_id)]
            endpoint = await find_endpoint(pool, endpoint_key, cipher)
            if endpoint is None:
                kept = sum(map(len, sequences))
                report.still_parked += kept
                report.failures.append(f"endpoint {endpoint_key} was deleted: {kept} delivery(ies) kept")
                progress(kept)
                continue
            for index, sequence in enumerate(sequences):
                if not await _replay_sequence(sender, pool, endpoint, sequence, attempts or settings.max_attempts,
                                              report, progress):  # fmt: skip
                    left = sum(map(len, sequences[index + 1 :]))
                    report.still_parked += left
                    progress(left)
                    break
    finally:
        await sender.close()
    return report


async def _replay_sequence(
    sender: Sender,
    pool: Pool,
    endpoint: Endpoint,
    sequence: list[ledger.Parked],
    attempts: int,
    report: ReplayReport,
    progress: Progress,
) -> bool:
    """Deliver one order's parked events in order; False (and the rest kept) at the first one that fails again."""
    for position, item in enumerate(sequence):
        sent = await sender.deliver(endpoint, item.delivery, attempts=attempts)
        async with pool.connection() as conn:
            if not sent[-1].delivered:
                await ledger.still_failing(conn, item, sent)
                report.failures.append(f"endpoint {endpoint.id}, order {item.delivery.order_id}: {sent[-1].error}")
                report.still_parked += len(sequence) - position
                progress(len(sequence) - position)
                return False
            await ledger.unpark(conn, item, sent)
        report.delivered += 1
        progress(1)
    return True
