"""Batch import limits: a body of too many command lines is refused whole, and one caller cannot run more batches
at once than allowed (429 with Retry-After), while other callers go on; a finished or refused batch frees its slot.
The in-memory command store stands in for Postgres: these are rules of the route, not of the store."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from servicekit.principals import Role
from tests.writer.helpers import bearer, new_order
from writer.api.app import create_app
from writer.memory import InMemoryCommandStore
from writer.settings import WriterSettings

SETTINGS = WriterSettings(dev_mode=True, batch_max_lines=3, batch_max_per_subject=1, log_level="warning")


def lines(count: int, run: str) -> bytes:
    return "\n".join(
        json.dumps({"command": "create-order", "idempotencyKey": f"{run}-{n}", "body": new_order(f"c-{n}")})
        for n in range(count)
    ).encode()


class GatedStore(InMemoryCommandStore):
    """Commands wait at the gate while it is closed: a batch stays in flight as long as a test needs."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.gate.set()

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        await self.gate.wait()
        return await super().execute(*args, **kwargs)


@pytest.fixture
def store() -> GatedStore:
    return GatedStore()


@pytest.fixture
async def client(store: GatedStore) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(SETTINGS, store=store)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://writer", timeout=10) as http:
            yield http


def staff(subject: str = "importer-1") -> dict[str, str]:
    return {"Authorization": bearer(SETTINGS, Role.STAFF, subject), "content-type": "application/x-ndjson"}


async def test_a_batch_of_more_command_lines_than_the_limit_is_refused_whole(client: httpx.AsyncClient) -> None:
    refused = await client.post("/commands/batch", content=lines(4, "big"), headers=staff())
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    (error,) = refused.json()["errors"]
    assert (error["field"], "at most 3" in error["message"]) == ("body", True)
    # Blank lines are not commands: three commands among blank lines are fine.
    padded = b"\n\n" + lines(3, "ok").replace(b"\n", b"\n\n") + b"\n\n"
    accepted = await client.post("/commands/batch", content=padded, headers=staff())
    assert accepted.status_code == 200
    assert [json.loads(line)["outcome"] for line in accepted.text.splitlines()] == ["accepted"] * 3


async def test_a_callers_second_concurrent_batch_gets_429_with_retry_after(
    client: httpx.AsyncClient, store: GatedStore
) -> None:
    store.gate.clear()  # the first batch stays in flight, holding its slot
    first = asyncio.create_task(client.post("/commands/batch", content=lines(1, "first"), headers=staff()))
    await asyncio.sleep(0.1)
    # Bounded: without the limit, the second batch would wait at the gate too.
    second = await asyncio.wait_for(client.post("/commands/batch", content=lines(1, "second"), headers=staff()), 5)
    assert second.status_code == 429
    assert second.headers["content-type"] == "application/problem+json"
    assert int(second.headers["retry-after"]) >= 1
    # Another caller is not held back by this one's batches.
    other = asyncio.create_task(client.post("/commands/batch", content=lines(1, "other"), headers=staff("im-2")))
    await asyncio.sleep(0.1)
    store.gate.set()
    assert (await other).status_code == 200
    assert (await first).status_code == 200
    # The slot is free again once the first batch's results have been sent.
    assert (await client.post("/commands/batch", content=lines(1, "after"), headers=staff())).status_code == 200


async def test_a_refused_batch_gives_its_slot_back(client: httpx.AsyncClient) -> None:
    for _ in range(3):
        assert (await client.post("/commands/batch", content=lines(4, "big"), headers=staff())).status_code == 422
        assert (await client.post("/commands/batch", content=b"\n", headers=staff())).status_code == 422
    assert (await client.post("/commands/batch", content=lines(1, "fine"), headers=staff())).status_code == 200
