"""Fixtures of the read API tests: read models seeded by the real projections on a sandbox, the real app (lifespan,
clients, pub/sub waiter) behind httpx's ASGI transport, and tokens for every role."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from fastapi import FastAPI

from infra.stack import Stack
from readapi.api.app import create_app
from readapi.settings import ReadApiSettings
from servicekit.principals import Role
from servicekit.tokens import mint_token
from streams.projections import PROJECTIONS
from streams.sandbox import remove
from streams.settings import StreamsSettings
from streams.sinks.elasticsearch import ElasticsearchTargets
from tests.readapi.seed import Seeded, search_histories, varied_histories
from tests.streams.conftest import create_topics, unique_settings
from tests.streams.pipeline import produce, run_until_caught_up

Auth = Callable[..., dict[str, str]]
ALL_ROLES = [Role.STAFF, Role.ANALYST]


def readapi_settings(streams: StreamsSettings, **overrides: object) -> ReadApiSettings:
    values: dict[str, object] = {"streams": streams, "log_level": "warning"}
    return ReadApiSettings.model_validate(values | overrides)


# Package scope: the sandbox and the app are torn down when the read API's tests are done, long before the
# disruptive tests restart the services their clients are connected to.
@pytest.fixture(scope="package")
async def seeded(stack: Stack) -> AsyncIterator[Seeded]:
    """Every read model of one sandbox, filled by the three real projections from the events of ~70 orders."""
    streams = unique_settings(stack)
    histories, search = varied_histories(64), search_histories()
    await create_topics(streams)
    try:
        await produce(streams, [event for h in [*histories, *search.values()] for event in h.events])
        await asyncio.gather(*(run_until_caught_up(streams, name) for name in PROJECTIONS))
        await searchable(streams)
        yield Seeded(streams, histories, search)
    finally:
        await remove(streams)


async def searchable(streams: StreamsSettings) -> None:
    """Search is near real time (documents join at the next refresh, within 1 s); the tests start from a refreshed
    index so that what they assert about search is about the read API, not about that second."""
    targets = ElasticsearchTargets.connect(streams)
    try:
        await targets.client.indices.refresh(index=streams.search_alias)
    finally:
        await targets.close()


async def running_app(settings: ReadApiSettings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="package")
async def app(seeded: Seeded) -> AsyncIterator[FastAPI]:
    async for application in running_app(readapi_settings(seeded.streams)):
        yield application


def client_of(application: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://readapi")


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(app) as http:
        yield http


def token(role: Role | list[Role] = Role.STAFF, subject: str = "staff-1") -> str:
    roles = role if isinstance(role, list) else [role]
    return mint_token(ReadApiSettings(), subject=subject, roles=roles)


@pytest.fixture
def auth() -> Auth:
    """`auth(Role.STAFF)` / `auth(Role.CUSTOMER, "customer-1")` → an Authorization header."""

    def headers(role: Role | list[Role] = Role.STAFF, subject: str = "staff-1") -> dict[str, str]:
        return {"Authorization": f"Bearer {token(role, subject)}"}

    return headers
