"""Which endpoints are down: after `suspend_after` parked deliveries in a row an endpoint is suspended for
`suspend_s`, and its deliveries are parked without attempts meanwhile.

Why: offsets are committed only once every delivery of a batch is delivered or parked, so a dead endpoint's
retries would delay every batch, hence every other endpoint. Suspension bounds that to the first few deliveries.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from uuid import UUID

from streams.webhooks import metrics


class EndpointHealth:
    def __init__(self, suspend_after: int, suspend_s: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._suspend_after = suspend_after
        self._suspend_s = suspend_s
        self._clock = clock
        self._parked_in_a_row: dict[UUID, int] = {}
        self._suspended_until: dict[UUID, float] = {}

    def suspended(self, endpoint_id: UUID) -> bool:
        """True while the pause runs; once it is over the next delivery is tried normally (a probe)."""
        until = self._suspended_until.get(endpoint_id)
        return until is not None and self._clock() < until

    def delivered(self, endpoint_id: UUID) -> None:
        self._parked_in_a_row.pop(endpoint_id, None)
        if self._suspended_until.pop(endpoint_id, None) is not None:
            metrics.SUSPENDED.set(len(self._suspended_until))

    def parked(self, endpoint_id: UUID) -> None:
        count = self._parked_in_a_row.get(endpoint_id, 0) + 1
        self._parked_in_a_row[endpoint_id] = count
        if count >= self._suspend_after:
            self._suspended_until[endpoint_id] = self._clock() + self._suspend_s
            metrics.SUSPENDED.set(len(self._suspended_until))
