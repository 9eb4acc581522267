"""`Allow` and `OPTIONS` tell what the OpenAPI document tells: every documented method of the path, even when two
routes serve one path (Starlette's own 405 names only the first route's methods)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter, FastAPI

from servicekit.problems import PROBLEM_MEDIA_TYPE, install_problem_handlers

reads, writes = APIRouter(), APIRouter()


@reads.get("/things")
async def list_things() -> list[str]:
    return []


@writes.post("/things")
async def add_thing() -> str:
    return "added"


@reads.get("/things/{thingId}")
async def get_thing(thingId: str) -> str:
    return thingId


@writes.delete("/things/{thingId}")
async def remove_thing(thingId: str) -> str:
    return thingId


@writes.put("/things/special")
async def replace_special() -> str:
    return "replaced"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    app.include_router(reads)
    app.include_router(writes)
    install_problem_handlers(app, lambda _: None)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://app") as http:
        yield http


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/things", "GET, POST, OPTIONS"),
        ("/things/7", "GET, DELETE, OPTIONS"),
        # A literal path wins over a template that also matches it, as OpenAPI says.
        ("/things/special", "PUT, OPTIONS"),
    ],
)
async def test_options_answers_every_documented_method_of_the_path(
    client: httpx.AsyncClient, path: str, allowed: str
) -> None:
    response = await client.options(path)
    assert (response.status_code, response.headers["allow"], response.content) == (204, allowed, b"")


async def test_a_405_names_every_method_of_the_path_not_only_the_first_routes(client: httpx.AsyncClient) -> None:
    response = await client.patch("/things")
    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert response.headers["allow"] == "GET, POST, OPTIONS"


async def test_options_on_an_unknown_path_is_a_404(client: httpx.AsyncClient) -> None:
    assert (await client.options("/nothing")).status_code == 404
