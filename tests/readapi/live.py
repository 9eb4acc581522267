"""The whole pipeline for read-your-writes tests: commands over HTTP to the writer (stack app), Debezium relaying
them to `events.Order`, live projections (detail by default) in this process on a sandbox that follows that topic
from its end, and the read API on that sandbox."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI

from infra.stack import Stack
from servicekit.principals import Role
from streams.contract import DETAIL
from streams.projections import projection_named
from streams.sandbox import create_topics, remove
from streams.settings import StreamsSettings
from tests.readapi.conftest import client_of, readapi_settings, running_app, token
from tests.readapi.seed import start_at_end
from tests.streams.conftest import unique_settings
from tests.streams.pipeline import Background

EVENTS_TOPIC = "events.Order"


@dataclass
class Live:
    streams: StreamsSettings
    app: FastAPI
    writer: httpx.AsyncClient
    reader: httpx.AsyncClient
    customer: str = field(default_factory=lambda: f"rw-{uuid.uuid4().hex[:8]}")
    projections: Sequence[str] = (DETAIL,)
    background: list[Background] = field(default_factory=list)

    async def pause(self) -> None:
        """Stop the projections (their offsets are committed: `resume` continues where they stopped)."""
        for running in self.background:
            await running.stop()
        self.background = []

    async def resume(self) -> None:
        if not self.background:
            self.background = [Background(self.streams, name) for name in self.projections]
            for running in self.background:
                await running.start()

    async def create(self, **overrides: Any) -> httpx.Response:
        body = {
            "customerId": self.customer,
            "currency": "EUR",
            "items": [{"sku": "RW-1", "name": "Read-your-writes mug", "quantity": 1, "unitPrice": "5.00"}],
        }
        response = await self.writer.post("/orders", json=body | overrides)
        assert response.status_code == 202, response.text
        return response

    async def add_item(self, order_id: str, n: int) -> httpx.Response:
        item = {"sku": f"RW-{n}", "name": f"Item {n}", "quantity": 1, "unitPrice": "1.00"}
        response = await self.writer.post(f"/orders/{order_id}/items", json=item)
        assert response.status_code == 202, response.text
        return response


@asynccontextmanager
async def live_pipeline(
    stack: Stack, projections: Sequence[str] = (DETAIL,), writer_url: str | None = None
) -> AsyncIterator[Live]:
    """`writer_url`: a writer other than the stack's app (e.g. one a test serves itself)."""
    streams = unique_settings(stack, topic=EVENTS_TOPIC)
    await create_topics(streams, events=False)
    # Fresh store targets, and groups that start at the topic's end: only events from now on are projected.
    for name in projections:
        await start_at_end(streams, streams.group_id(name, 1))
    writer_url = writer_url or f"http://127.0.0.1:{stack.settings.ports.writer}"
    staff = {"Authorization": f"Bearer {token(Role.STAFF)}"}
    try:
        async for application in running_app(readapi_settings(streams)):
            async with (
                httpx.AsyncClient(base_url=writer_url, headers=staff, timeout=30) as writer,
                client_of(application) as reader,
            ):
                live = Live(streams, application, writer, reader, projections=projections)
                reader.headers.update(staff)
                await live.resume()
                try:
                    yield live
                finally:
                    await live.pause()
    finally:
        # Never the shared event topic; only the stores these projections wrote.
        await remove(streams, events=False, stores={projection_named(name).store for name in projections})
