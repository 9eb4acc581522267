"""The projection bench's synthetic topic must be a valid event history, or the bench measures parked events."""

from __future__ import annotations

from collections import defaultdict

from cqrs.bench.projections import synthetic_events
from schemas.events import OrderCancelled, OrderCreated, OrderShipped


def test_every_order_is_numbered_one_to_n_in_topic_order_and_runs_its_whole_life() -> None:
    events, orders = synthetic_events(30_000, window=500)

    lives: dict[str, list[int]] = defaultdict(list)
    for envelope in events:
        lives[envelope.aggregate_id].append(envelope.version)
    assert len(lives) == orders
    assert all(versions == list(range(1, len(versions) + 1)) for versions in lives.values())
    firsts = {envelope.aggregate_id: envelope for envelope in reversed(events)}
    assert all(isinstance(envelope.data, OrderCreated) for envelope in firsts.values())
    finished = [e for e in events if isinstance(e.data, (OrderShipped, OrderCancelled))]
    assert len(finished) > orders - 1000  # all but the (at most 500) orders still open at the end
