"""Read-your-writes: wait until a projection has applied at least version N of an order, woken by its announcements.

One Redis pub/sub subscription per process listens to the projections' `applied` channels (each flush announces
`{orderId: version}`) and resolves the asyncio futures of the requests waiting for those orders. Nothing polls: a
waiting request costs a future and a dictionary entry until its announcement or its timeout.

The race between "not applied yet" and "subscribed" is closed by registering the future first and reading the mirror
after: an announcement made before the registration is seen by that read, one made after resolves the future. After
a lost connection, the listener re-subscribes and re-reads the mirror for every waiter, since announcements made
while it was away are gone (pub/sub keeps nothing).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from redis.asyncio import Redis

from readapi.freshness import CheckpointMirror
from servicekit.announcements import listen_forever
from servicekit.errors import Unavailable

log = logging.getLogger(__name__)


class TooManyWaiters(Unavailable):
    """As many requests as allowed already wait for a version; this one is refused at once (503, Retry-After)."""

    def __init__(self, capacity: int) -> None:
        super().__init__(f"{capacity} requests already wait for a minVersion: retry shortly", retry_after_s=1)


@dataclass(eq=False, slots=True)
class _Waiter:
    min_version: int
    future: asyncio.Future[int] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class VersionWaiter:
    def __init__(
        self, redis: Redis, mirror: CheckpointMirror, projections: Iterable[str], *, capacity: int | None = None
    ) -> None:
        """`capacity` bounds the requests waiting at once (each holds a connection and memory until its timeout)."""
        self._redis = redis
        self._mirror = mirror
        self._projection_of = {mirror.channel(name): name for name in projections}
        self._waiting: dict[tuple[str, str], list[_Waiter]] = defaultdict(list)
        self._capacity = capacity
        self._count = 0
        self._subscribed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self, ready_within_s: float = 5.0) -> None:
        """Start listening; returns once subscribed (or after `ready_within_s`: waits then time out, stale)."""
        self._task = asyncio.create_task(self._listen(), name="readapi-version-waiter")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), ready_within_s)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @property
    def waiting(self) -> int:
        return self._count

    async def wait(self, projection: str, order_id: str, min_version: int, timeout_s: float) -> int | None:
        """The applied version once it is ≥ `min_version`; None if that did not happen within `timeout_s`;
        `TooManyWaiters` at once if `capacity` requests already wait."""
        if self._capacity is not None and self._count >= self._capacity:
            raise TooManyWaiters(self._capacity)
        key = (projection, order_id)
        waiter = _Waiter(min_version)
        self._waiting[key].append(waiter)
        self._count += 1
        try:
            current = await self._mirror.applied_version(projection, order_id)
            if current is not None and current >= min_version:
                return current
            return await asyncio.wait_for(waiter.future, timeout_s)
        except TimeoutError:
            return None
        finally:
            self._count -= 1
            waiters = self._waiting.get(key)
            if waiters is not None:
                waiters.remove(waiter)
                if not waiters:
                    del self._waiting[key]

    async def _listen(self) -> None:
        # Waiters meanwhile time out as stale.
        await listen_forever(
            self._redis, list(self._projection_of), on_message=self._announced, on_subscribed=self._resubscribed,
            on_lost=self._subscribed.clear, name="readapi-version-waiter",
        )  # fmt: skip

    async def _resubscribed(self) -> None:
        self._subscribed.set()
        await self._recheck_everyone()

    def _announced(self, channel: bytes | str, data: bytes | str) -> None:
        if not self._waiting:
            return  # the common case under load: nobody waits, skip decoding
        name = channel.decode() if isinstance(channel, bytes) else channel
        projection = self._projection_of.get(name)
        if projection is None:
            return
        try:
            versions: dict[str, int] = json.loads(data)
        except ValueError:
            log.warning("waiter.bad_announcement channel=%s", name)
            return
        # A flush announces up to a batch of orders and a few requests wait: walk the smaller side.
        if len(versions) <= len(self._waiting):
            for order_id, announced in versions.items():
                if (waiters := self._waiting.get((projection, order_id))) is not None:
                    self._resolve(waiters, int(announced))
        else:
            for (waited_projection, order_id), waiters in list(self._waiting.items()):
                if waited_projection == projection and (version := versions.get(order_id)) is not None:
                    self._resolve(waiters, int(version))

    async def _recheck_everyone(self) -> None:
        for (projection, order_id), waiters in list(self._waiting.items()):
            version = await self._mirror.applied_version(projection, order_id)
            if version is not None:
                self._resolve(waiters, version)

    @staticmethod
    def _resolve(waiters: list[_Waiter], version: int) -> None:
        for waiter in waiters:
            if version >= waiter.min_version and not waiter.future.done():
                waiter.future.set_result(version)
