"""The cached detail's shortcut (`readapi.api.shortcut`): a cache hit it takes gives the route's answer, byte for
byte, and whatever it must not take reaches the routes (which answer as they always did).

The shortcut is driven here in front of a recorder instead of the routes, so a test sees which way each request went;
the services (Redis mirror and cache, token verifier) are the real app's."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis
from starlette.types import Receive, Scope, Send

from readapi.api.shortcut import CachedDetailShortcut
from servicekit.principals import Role
from streams.contract import DETAIL
from tests.readapi.conftest import Auth
from tests.readapi.helpers import assert_problem, ok
from tests.readapi.seed import Seeded

pytestmark = pytest.mark.stack


_THROUGH_THE_ROUTES = {"consistency": "eventual"}
"""The default, spelled out: a parameter the shortcut leaves to the routes, which answer from the cache too."""


class _Routes:
    """Stands for the routes behind the shortcut: answers 599 and notes the path of what reached it."""

    def __init__(self) -> None:
        self.reached: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.reached.append(scope["path"])
        await send({"type": "http.response.start", "status": 599, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def _shortcut_only(app: FastAPI, routes: _Routes) -> httpx.AsyncClient:
    """A client of the shortcut with `routes` behind it."""
    shortcut = CachedDetailShortcut(routes)

    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = app  # as Starlette sets it before its middleware
        await shortcut(scope, receive, send)

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://readapi")


def _but_region(body: dict[str, Any]) -> dict[str, Any]:
    """The answer without what the app's outer layers add to `meta` (the region and its lag, which moves)."""
    meta = {k: v for k, v in body["meta"].items() if k not in ("region", "lagSeconds")}
    return body | {"meta": meta}


async def _warm(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> dict[str, Any]:
    """Read until the answer comes from the cache (the first read of a version fills it)."""
    for _ in range(5):
        body = ok(await client.get(url, headers=headers, params=_THROUGH_THE_ROUTES))
        if body["meta"]["cached"]:
            return body
    raise AssertionError(f"{url} never came from the cache")


async def test_a_hit_is_answered_without_the_routes_with_the_routes_bytes(
    seeded: Seeded, app: FastAPI, client: httpx.AsyncClient, auth: Auth
) -> None:
    history = seeded.histories[5]
    url = f"/orders/{history.order_id}"
    await _warm(client, url, auth())
    through_routes = await client.get(url, headers=auth(), params=_THROUGH_THE_ROUTES)
    routes = _Routes()
    async with _shortcut_only(app, routes) as shortcut:
        plain = await shortcut.get(url, headers=auth())
        met = await shortcut.get(url, headers=auth(), params={"minVersion": history.version})
        owner = await shortcut.get(url, headers=auth(Role.CUSTOMER, history.customer_id))
    assert routes.reached == []
    assert plain.status_code == met.status_code == owner.status_code == 200
    assert plain.content == met.content == owner.content
    assert _but_region(plain.json()) == _but_region(through_routes.json())
    assert plain.headers["content-type"] == through_routes.headers["content-type"]


async def test_what_only_the_routes_may_answer_reaches_them(
    seeded: Seeded, app: FastAPI, client: httpx.AsyncClient, auth: Auth
) -> None:
    history = seeded.histories[6]
    url = f"/orders/{history.order_id}"
    await _warm(client, url, auth())
    stranger = auth(Role.CUSTOMER, f"not-{history.customer_id}")
    to_the_routes = [
        (url, {}),  # no token: the route's 401
        (url, {"Authorization": "Bearer not-a-token"}),  # a bad token: 401
        (url, {"Authorization": "Basic eDp5"}),  # another scheme
        (url, stranger),  # someone else's order: the route's 404
        (url, auth(Role.ANALYST)),  # a role that may not read orders: 403
        (f"{url}?minVersion={history.version + 1}", auth()),  # a wait
        (f"{url}?minVersion=0", auth()),  # out of range: the route's 422
        (f"{url}?consistency=eventual", auth()),  # any other parameter
        (url, auth() | {"Cache-Control": "no-cache"}),  # an answer from the store is asked for
        (f"{url}?minVersion=1&minVersion=2", auth()),  # repeated
        (f"{url}/items", auth()),
        ("/orders/search", auth()),  # a literal route beside the detail
        ("/orders/no-such-order", auth()),  # a miss
    ]
    routes = _Routes()
    async with _shortcut_only(app, routes) as shortcut:
        for path, headers in to_the_routes:
            assert (await shortcut.get(path, headers=headers)).status_code == 599, path
    assert len(routes.reached) == len(to_the_routes)
    # …and the real app answers them as it always did.
    assert_problem(await client.get(url, headers=stranger), 404)
    assert_problem(await client.get(url), 401)


async def test_a_worker_answers_a_hot_order_from_memory_only_for_a_moment(
    seeded: Seeded, app: FastAPI, client: httpx.AsyncClient, auth: Auth
) -> None:
    """Within `detail_recent_s` of a hit, the shortcut answers again without Redis: even with the cache entry gone;
    after it, it asks Redis again (the entry is gone, so the routes answer)."""
    history = seeded.histories[7]
    url = f"/orders/{history.order_id}"
    await _warm(client, url, auth())
    services = app.state.services
    window_s = services.settings.detail_recent_s
    assert window_s > 0
    routes = _Routes()
    async with _shortcut_only(app, routes) as shortcut:
        first = await shortcut.get(url, headers=auth())  # a hit: remembered
        lookup = await services.mirror.detail(DETAIL, history.order_id, cache_prefix="")
        key = services.cache.detail_key(lookup.generation, history.order_id, history.version)
        redis = Redis.from_url(seeded.streams.redis_url)
        try:
            assert await redis.delete(key) == 1
            again = await shortcut.get(url, headers=auth())  # within the moment: from memory
            assert routes.reached == []
            await asyncio.sleep(window_s + 0.05)
            later = await shortcut.get(url, headers=auth())  # the moment has passed: Redis has no entry now
        finally:
            await redis.aclose()
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert later.status_code == 599
    assert routes.reached == [url]
