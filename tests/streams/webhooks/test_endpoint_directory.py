"""The agent's endpoint directory: an endpoint registered just before a command gets that command's events, however
long the directory's refresh interval (it used to miss them until the next refresh)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, cast
from uuid import uuid4

from streams.webhooks.cipher import SecretCipher
from streams.webhooks.endpoints import EndpointDirectory, Pool


class _Registry:
    """A stand-in for the pool: the rows of `webhook_endpoints`, and how often they were read."""

    def __init__(self) -> None:
        self.rows: list[tuple[Any, ...]] = []
        self.reads = 0

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[_Registry]:
        yield self

    async def execute(self, _query: str) -> _Registry:
        self.reads += 1
        return self

    async def fetchall(self) -> list[tuple[Any, ...]]:
        return list(self.rows)


class _PlainCipher:
    def open(self, stored: str) -> str:
        return stored


def _register(registry: _Registry) -> None:
    registry.rows.append((uuid4(), "https://example.test/hook", [], "secret", datetime.now(UTC)))


async def test_an_endpoint_registered_just_before_an_event_is_seen_by_that_event() -> None:
    registry = _Registry()
    directory = EndpointDirectory(cast(Pool, registry), refresh_s=3600, cipher=cast(SecretCipher, _PlainCipher()))
    assert await directory.current(time.time()) == []
    _register(registry)
    produced = time.time()  # the event's record is produced after the registration committed
    assert [endpoint.url for endpoint in await directory.current(produced)] == ["https://example.test/hook"]


async def test_events_older_than_the_copy_do_not_reread_the_registry() -> None:
    registry = _Registry()
    directory = EndpointDirectory(cast(Pool, registry), refresh_s=3600, cipher=cast(SecretCipher, _PlainCipher()))
    old_event = time.time() - 60
    await directory.current(old_event)
    await directory.current(old_event)
    assert registry.reads == 1
