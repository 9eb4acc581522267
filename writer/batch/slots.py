"""How many batches one caller runs at once: each holds a body of up to `batch_max_body_bytes` in memory and a
transaction of up to `batch_lines_per_transaction` commands, so a single subject must not fill the writer with them.

Counted per writer process (each uvicorn worker has its own count): with N workers a subject may run up to N times
the limit, which still bounds what one caller can take of each process.
"""

from __future__ import annotations

from collections import Counter

from servicekit.errors import TooManyRequests

RETRY_AFTER_S = 5
"""A batch takes seconds; asking again sooner would only be refused again."""


class BatchSlots:
    def __init__(self) -> None:
        self._running: Counter[str] = Counter()

    def acquire(self, subject: str, limit: int) -> None:
        """Take one of `subject`'s `limit` slots, or `TooManyRequests` (429, Retry-After) if all are taken."""
        if self._running[subject] >= limit:
            raise TooManyRequests(
                f"{limit} batch(es) of this caller are already running: wait for one to finish",
                retry_after_s=RETRY_AFTER_S,
            )
        self._running[subject] += 1

    def release(self, subject: str) -> None:
        self._running[subject] -= 1
        if self._running[subject] <= 0:
            del self._running[subject]

    def running(self, subject: str) -> int:
        return self._running[subject]
