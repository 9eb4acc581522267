"""The commands' fast lane (`writer.api.fast_lane`): what it takes it answers as the routes do, and what it must not
take reaches the routes with its body intact.

The lane is driven in front of a recorder instead of the routes, so a test sees which way each request went; the
services (token verifier, handler, PostgreSQL store) are the real app's. The rest of the writer's tests run through
the whole app, lane included."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import uuid4

import httpx
import psycopg
from fastapi import FastAPI
from starlette.types import Message, Receive, Scope, Send

from servicekit.principals import Role
from tests.writer.helpers import PROBLEM_JSON, line, new_order
from writer.api.fast_lane import CommandFastLane

Auth = Callable[..., dict[str, str]]


class _Routes:
    """Stands for the routes behind the lane: answers 599 and keeps the path and body of what reached it."""

    def __init__(self) -> None:
        self.reached: list[tuple[str, bytes]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body, more = b"", True
        while more:
            message: Message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        self.reached.append((scope["path"], body))
        await send({"type": "http.response.start", "status": 599, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def _lane_only(app: FastAPI, routes: _Routes) -> httpx.AsyncClient:
    lane = CommandFastLane(routes)

    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = app  # as Starlette sets it before its middleware
        scope.setdefault("state", {})["correlation_id"] = "lane-test"  # as the correlation middleware does
        await lane(scope, receive, send)

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://writer")


def _shape(response: httpx.Response) -> tuple[int, set[str], set[str]]:
    body: dict[str, Any] = response.json()
    headers = {name for name in response.headers if name not in ("content-length", "x-correlation-id", "date")}
    return response.status_code, headers, set(body)


async def test_plain_commands_are_answered_by_the_lane_as_the_routes_answer_them(
    app: FastAPI, client: httpx.AsyncClient, db: psycopg.AsyncConnection, auth: Auth
) -> None:
    routes = _Routes()
    key = {"Idempotency-Key": "lane-1"}
    async with _lane_only(app, routes) as lane:
        created = await lane.post("/commands/create-order", json=new_order(), headers=auth() | key)
        replayed = await lane.post("/commands/create-order", json=new_order(), headers=auth() | key)
        order_id = created.json()["aggregateId"]
        added = await lane.post("/commands/add-item-to-order", json={"orderId": order_id, "item": line("SKU-2")},
                                headers=auth())  # fmt: skip
        stale = await lane.post(
            "/commands/confirm-order", json={"orderId": order_id, "expectedVersion": 1}, headers=auth()
        )
        missing = await lane.post("/commands/confirm-order", json={"orderId": str(uuid4())}, headers=auth())
    assert routes.reached == []
    by_routes = await client.post("/commands/create-order", json=new_order(), headers=auth())
    assert _shape(created) == _shape(by_routes)
    assert (created.status_code, added.status_code, added.json()["version"]) == (202, 202, 2)
    assert replayed.content == created.content
    assert replayed.headers["idempotent-replayed"] == "true"
    # The handler's refusals: the app's own problem documents.
    routes_stale = await client.post(
        "/commands/confirm-order", json={"orderId": order_id, "expectedVersion": 1}, headers=auth()
    )
    assert stale.status_code == routes_stale.status_code == 409
    assert stale.headers["content-type"] == PROBLEM_JSON
    assert _but_instance(stale.json()) == _but_instance(routes_stale.json())
    assert missing.status_code == 404


async def test_what_only_the_routes_may_answer_reaches_them_with_its_body(
    app: FastAPI, db: psycopg.AsyncConnection, auth: Auth
) -> None:
    body = new_order()
    to_the_routes: list[tuple[str, dict[str, str], Any]] = [
        ("/commands/create-order", {}, body),  # no token: the route's 401
        ("/commands/create-order", {"Authorization": "Bearer nope"}, body),  # a bad token
        ("/commands/create-order", auth() | {"Idempotency-Key": "a b"}, body),  # a malformed key: 422
        ("/commands/create-order", auth() | {"If-Match": '"1"'}, body),  # If-Match: the route reads it
        ("/commands/create-order", auth(), {"customerId": "c-1"}),  # invalid body: the route's 422
        ("/commands/create-order", auth(), [body]),  # not an object
        ("/commands/create-order?x=1", auth(), body),  # a query string
        ("/commands/batch", auth(), body),  # not one of the six commands
    ]
    routes = _Routes()
    async with _lane_only(app, routes) as lane:
        for path, headers, payload in to_the_routes:
            assert (await lane.post(path, json=payload, headers=headers)).status_code == 599, (path, headers)
        text = await lane.post(
            "/commands/create-order", content=b"{}", headers=auth(Role.STAFF) | {"Content-Type": "text/plain"}
        )
        assert text.status_code == 599
    assert len(routes.reached) == len(to_the_routes) + 1
    assert all(reached_body for _, reached_body in routes.reached)  # each body replayed whole


def _but_instance(problem: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in problem.items() if k not in ("instance", "correlationId")}
