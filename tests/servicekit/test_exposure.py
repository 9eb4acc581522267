"""`/docs` and `/metrics` need not be public: both APIs can switch them off, and `/metrics` can want a scrape token
(an unauthenticated caller otherwise reads the route map and the traffic figures)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI

from readapi.api.app import create_app as create_readapi
from readapi.settings import ReadApiSettings
from writer.api.app import create_app as create_writer
from writer.memory import InMemoryCommandStore
from writer.settings import WriterSettings

SCRAPE_TOKEN = "scrape-token-for-the-exposure-test"


def writer(**settings: object) -> FastAPI:
    return create_writer(WriterSettings.model_validate(settings), store=InMemoryCommandStore())


def readapi(**settings: object) -> FastAPI:
    return create_readapi(ReadApiSettings.model_validate(settings))


APPS = pytest.mark.parametrize("build", [writer, readapi], ids=["writer", "readapi"])


async def get(app: FastAPI, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    """No lifespan: the pages under test need none of the app's stores."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
        return await client.get(path, headers=headers)


@APPS
async def test_docs_switched_off_are_not_served(build: Callable[..., FastAPI]) -> None:
    app = build(docs_enabled=False)
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert (await get(app, path)).status_code == 404, path
    assert (await get(build(), "/openapi.json")).status_code == 200  # the default: a developer machine


@APPS
async def test_metrics_with_a_scrape_token_refuse_anyone_without_it(build: Callable[..., FastAPI]) -> None:
    app = build(metrics_token=SCRAPE_TOKEN)
    anonymous = await get(app, "/metrics")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith("application/problem+json")
    assert (await get(app, "/metrics", {"Authorization": "Bearer wrong"})).status_code == 401
    scraper = await get(app, "/metrics", {"Authorization": f"Bearer {SCRAPE_TOKEN}"})
    assert scraper.status_code == 200
    assert "# HELP" in scraper.text


@APPS
async def test_metrics_switched_off_are_not_served(build: Callable[..., FastAPI]) -> None:
    assert (await get(build(metrics_enabled=False), "/metrics")).status_code == 404
