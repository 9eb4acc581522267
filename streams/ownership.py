"""Which partitions this worker may write for, and whether it may still believe so.

Several workers share a projection's consumer group; Kafka gives each partition (and so each order) to one of them.
A worker writes an order only while it owns the order's partition:

- a rebalance that takes partitions away first lets every batch in flight finish (the runner's listener waits for
  them before Kafka releases the partitions), then the worker forgets what it knew of those orders and decides no
  further event of them (`Engine.process` leaves such records alone; the new owner reads them from the last commit);
- a worker that could not speak to the group for longer than its session (paused, SIGSTOP, a frozen host) may
  have lost its partitions without hearing of it. Its `Lease` has lapsed: every store write checks the lease first
  (`Ownership.check`), so a batch decided before the pause is never written after it, and the worker stops with
  `EXIT_FENCED` and restarts clean (what it remembers may be stale now).

The lease is measured on the worker's own event loop, which stands still when the process does: a watchdog notes
the time every `tick_s`; a gap since its last note longer than the lease means the loop (and with it the heartbeats)
stood still. The lease is shorter than the group's session by a heartbeat interval and a margin, so it lapses before
the coordinator can have given the partitions away. Stores fence on their own as well (positions): the lease keeps
a stale worker from even trying.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from prometheus_client import Gauge

from streams.errors import Fenced

log = logging.getLogger(__name__)
OWNED_PARTITIONS = Gauge(
    "streams_owned_partitions", "Partitions of the event topic this worker process owns now", ["projection"]
)


class Lease:
    """How long since this worker's event loop last ran; lapsed (for good) once a gap exceeded `length_s`."""

    def __init__(self, length_s: float, *, tick_s: float = 0.5) -> None:
        self.length_s = length_s
        self._tick_s = tick_s
        self._seen = time.monotonic()
        self.lapsed = False
        self._watchdog: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._seen = time.monotonic()
        if self._watchdog is None:
            self._watchdog = asyncio.create_task(self._watch(), name="lease-watchdog")

    async def stop(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
            self._watchdog = None

    def valid(self) -> bool:
        if not self.lapsed and time.monotonic() - self._seen > self.length_s:
            self.lapsed = True
        return not self.lapsed

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self._tick_s)
            lapsed = self.lapsed
            if not self.valid() and not lapsed:  # checked before the note: the note would hide the gap
                log.warning("event loop stood still for more than %.1f s: partitions may have moved", self.length_s)
            self._seen = time.monotonic()


class Ownership:
    """The partitions a worker owns now (None: all of them, when it reads without a group) and its lease."""

    def __init__(self, lease: Lease | None = None) -> None:
        self.partitions: set[int] | None = None
        self.lease = lease

    def owns(self, partition: int) -> bool:
        return self.partitions is None or partition in self.partitions

    def assigned(self, partitions: set[int]) -> None:
        self.partitions = (self.partitions or set()) | partitions

    def revoked(self, partitions: set[int]) -> None:
        self.partitions = (self.partitions or set()) - partitions

    def check(self) -> None:
        """Raise `Fenced` unless this worker may still write (called before every store write)."""
        if self.lease is not None and not self.lease.valid():
            raise Fenced(f"lease of {self.lease.length_s:.1f} s lapsed: another worker may own these partitions")
