"""The projections' `{orderId: version}` announcements, heard by one Redis subscription per writer process.

Two uses: `?wait=applied` requests sleep until an announcement names their order (then re-read the mirror, so a
missed or partial announcement never fools them), and the time a projection announced an order's version is kept
for orders traced recently, which is how a trace knows *when* a projection applied a command. Announcements of other
orders are not even decoded, so an idle trace feature costs the writer nothing but the subscription itself.

The subscription starts with the first trace, not at start-up (a writer without Redis serves commands as before).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import OrderedDict, defaultdict
from collections.abc import Mapping

import structlog
from redis.asyncio import Redis

from servicekit.announcements import listen_forever
from servicekit.errors import Unavailable

log = structlog.get_logger("writer.trace.announcements")

WATCH_S = 600.0
"""How long after a trace the announcements of its order are timed."""
MAX_WATCHED = 10_000


class TooManyTraceWaiters(Unavailable):
    """As many `?wait=applied` requests as allowed already wait; this one is refused at once (503, Retry-After)."""

    def __init__(self, capacity: int) -> None:
        super().__init__(f"{capacity} traces already wait for their commands: retry shortly", retry_after_s=1)


class Announcements:
    """Listens to the `channels` (channel name → projection); `watch` an order to time its announcements."""

    def __init__(self, redis: Redis, channels: Mapping[str, str], *, capacity: int) -> None:
        self._redis = redis
        self._projection_of = dict(channels)
        self._capacity = capacity
        self._waiters: dict[str, set[asyncio.Event]] = defaultdict(set)
        self._waiting = 0
        self._watched: OrderedDict[str, float] = OrderedDict()
        self._seen: OrderedDict[tuple[str, str], list[tuple[int, int]]] = OrderedDict()
        self._subscribed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self, ready_within_s: float) -> None:
        """Subscribe (once per process); returns when subscribed or after `ready_within_s`."""
        if self._task is None:
            self._task = asyncio.create_task(self._listen(), name="writer-trace-announcements")
        if self._subscribed.is_set():
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), ready_within_s)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def watch(self, order_id: str) -> None:
        self._watched[order_id] = time.monotonic() + WATCH_S
        self._watched.move_to_end(order_id)
        while len(self._watched) > MAX_WATCHED:
            self._watched.popitem(last=False)

    def applied_at_ms(self, projection: str, order_id: str, version: int) -> int | None:
        """When this process first heard `projection` announce `version` (or a later one) of the order."""
        times = [at for announced, at in self._seen.get((projection, order_id), ()) if announced >= version]
        return min(times) if times else None

    def waiter(self, order_id: str) -> asyncio.Event:
        """An event set at each announcement naming the order (and after a reconnection); `release` it after."""
        if self._waiting >= self._capacity:
            raise TooManyTraceWaiters(self._capacity)
        self._waiting += 1
        event = asyncio.Event()
        self._waiters[order_id].add(event)
        return event

    def release(self, order_id: str, event: asyncio.Event) -> None:
        self._waiting -= 1
        waiters = self._waiters.get(order_id)
        if waiters is not None:
            waiters.discard(event)
            if not waiters:
                del self._waiters[order_id]

    async def _listen(self) -> None:
        # Waiters meanwhile answer what they have.
        await listen_forever(
            self._redis, list(self._projection_of), on_message=self._announced, on_subscribed=self._resubscribed,
            on_lost=self._subscribed.clear, name="writer-trace",
        )  # fmt: skip

    async def _resubscribed(self) -> None:
        self._subscribed.set()
        self._wake_everyone()  # announcements made while we were away are gone: waiters re-read the mirror

    def _announced(self, channel: bytes | str, data: bytes | str) -> None:
        if not self._waiters and not self._interesting():
            return  # the common case: nobody traces, skip decoding
        projection = self._projection_of.get(channel.decode() if isinstance(channel, bytes) else channel)
        if projection is None:
            return
        try:
            versions: dict[str, int] = json.loads(data)
        except ValueError:
            return
        now_ms = int(time.time() * 1000)
        for order_id in self._watched.keys() & versions.keys():
            self._remember(projection, order_id, int(versions[order_id]), now_ms)
        for order_id in self._waiters.keys() & versions.keys():
            for event in self._waiters[order_id]:
                event.set()

    def _interesting(self) -> bool:
        now = time.monotonic()
        while self._watched and next(iter(self._watched.values())) < now:
            self._watched.popitem(last=False)
        return bool(self._watched)

    def _remember(self, projection: str, order_id: str, version: int, at_ms: int) -> None:
        key = (projection, order_id)
        seen = self._seen.setdefault(key, [])
        if not seen or seen[-1][0] < version:
            seen.append((version, at_ms))
            del seen[:-16]
        self._seen.move_to_end(key)
        while len(self._seen) > MAX_WATCHED * 4:
            self._seen.popitem(last=False)

    def _wake_everyone(self) -> None:
        for waiters in self._waiters.values():
            for event in waiters:
                event.set()
