"""The projection port: a plain class that turns one event into store records, given the order before it.

No I/O and no Faust: the engine hands it the state it loaded (or cached) and the decoded event, and writes the
records it returns through a `Sink`. `state` is the way back, from a stored record to the state, so a restarted
worker continues from what the store holds.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from schemas.envelope import EventEnvelope
from streams.order_view import OrderView, evolve
from streams.sink import Put, Stored


class Projection(ABC):
    """One read model. Subclasses name it and say how an order becomes a record of their store."""

    name: str
    """Also the DLQ topic suffix and the consumer group stem (`orders-mongo`, …)."""
    store: str
    """Which adapter of `streams.sinks` holds its records."""

    def handle(self, before: OrderView | None, envelope: EventEnvelope) -> tuple[OrderView, list[Put]]:
        """The state after `envelope` and the records that store it; `InvariantViolation` if it cannot apply."""
        after = evolve(before, envelope)
        return after, self.records(before, after, envelope)

    @abstractmethod
    def records(self, before: OrderView | None, after: OrderView, envelope: EventEnvelope) -> list[Put]:
        """What to write for `envelope`, which took the order from `before` to `after`."""

    @abstractmethod
    def state(self, stored: Stored) -> OrderView:
        """The order as a stored record of this projection holds it."""
