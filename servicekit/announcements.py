"""The projections' announcements as both APIs hear them: a Redis pub/sub subscription kept alive for the life of the
process (the read API's `minVersion` waiter, the writer's command trace).

What a subscriber must know: pub/sub delivers nothing sent while it was away, so after every (re)subscription it is
told (`on_subscribed`) and should re-read what it waits on from the mirror.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Collection

import structlog
from redis.asyncio import Redis

log = structlog.get_logger("servicekit.announcements")

RECONNECT_DELAY_S = 0.5


async def listen_forever(
    redis: Redis,
    channels: Collection[str],
    *,
    on_message: Callable[[bytes | str, bytes | str], None],
    on_subscribed: Callable[[], Awaitable[None]],
    on_lost: Callable[[], None],
    name: str,
) -> None:
    """Subscribe to `channels` and hand each message to `on_message` until cancelled; when Redis goes away,
    `on_lost`, then subscribe again (every `RECONNECT_DELAY_S`), and `on_subscribed` each time it worked."""
    while True:
        pubsub = redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(*channels)
            await on_subscribed()
            async for message in pubsub.listen():
                if message["type"] == "message":
                    on_message(message["channel"], message["data"])
        except asyncio.CancelledError:
            raise
        except Exception as error:  # Redis went away: keep trying; the subscriber answers what it has meanwhile
            on_lost()
            log.warning("announcements.subscription_lost", subscriber=name, error=repr(error))
            await asyncio.sleep(RECONNECT_DELAY_S)
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]
