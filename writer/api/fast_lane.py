"""`POST /commands/<name>` on its plainest path without the framework: a pure ASGI layer in front of FastAPI's routing,
dependency injection and body handling.

Why: under load a command spent about a fifth of the writer's CPU in routing and dependency resolution before the
handler ran (`docs/performance.md`, "the two APIs' hot paths"). The lane takes a request only when all of it is
plain: a command path without a query string, a JSON content type, no `If-Match`, a valid bearer token, a
well-formed `Idempotency-Key` if any, and a body its route's model accepts. It then runs the route's own code:
the same body model and translation (`writer.batch.commands.KINDS`), the same `CommandCall.submit` (handler,
transaction, idempotency fingerprint, metrics, logs, 202 or replay), and answers a refusal of the handler (not
found, conflict, forbidden…) with the same problem document the app's error handlers write.

Everything else goes on to the routes with its body replayed, and they answer it exactly as before: a missing or
bad token (401), a malformed key or body (400/422), an `If-Match`. Nothing is decided twice: the lane falls back
only before the handler runs.
"""

from __future__ import annotations

import json
from typing import Any

import structlog
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicekit.errors import InvalidRequest, Unauthenticated
from servicekit.metrics import RouteLabel
from servicekit.problems import problem_response
from writer.api import idempotency
from writer.api.problems import problem_for
from writer.api.submit import CommandCall
from writer.batch.commands import KINDS, CommandKind
from writer.domain import OrderCommand

log = structlog.get_logger("writer.commands")

_PATHS = {f"/commands/{name}": (kind, RouteLabel(f"/commands/{name}")) for name, kind in KINDS.items()}
_IDEMPOTENCY_KEY = idempotency.HEADER.lower().encode()


class CommandFastLane:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        taken = _PATHS.get(scope["path"]) if scope["type"] == "http" and scope["method"] == "POST" else None
        headers = _plain_headers(scope) if taken is not None and not scope["query_string"] else None
        if taken is None or headers is None:
            await self.app(scope, receive, send)
            return
        kind, label = taken
        body, more = await _whole_body(receive)
        response = await self._answer(scope, kind, headers, body) if not more else None
        if response is None:
            await self.app(scope, _replaying(body, more, receive), send)
            return
        scope["route"] = label  # the request metrics label it as the route would
        await response(scope, receive, send)

    async def _answer(self, scope: Scope, kind: CommandKind, headers: dict[bytes, str], body: bytes) -> Response | None:
        """The lane's answer, or None for the routes to answer."""
        services = getattr(scope["app"].state, "services", None)
        token = _bearer(headers.get(b"authorization"))
        if services is None or token is None:
            return None
        try:
            principal = services.tokens.verify(token)
            key = idempotency.parse_key(headers.get(_IDEMPOTENCY_KEY))
            model, command = _command(kind, body)
        except (Unauthenticated, InvalidRequest, ValueError, ValidationError):
            return None  # the routes answer with the problem
        request = Request(scope)
        call = CommandCall(
            request=request,
            principal=principal,
            services=services,
            if_match=None,
            if_match_version=None,
            idempotency_key=key,
        )
        try:
            return await call.submit(command, model)
        except Exception as error:  # the handler's refusal, answered as the app's error handlers would
            problem = problem_for(error)
            if problem.status >= 500:
                log.error("request.failed", path=scope["path"], problem=problem.slug, exc_info=error)
            return problem_response(problem, instance=scope["path"], correlation_id=request.state.correlation_id)


def _command(kind: CommandKind, body: bytes) -> tuple[BaseModel, OrderCommand]:
    """The body validated as FastAPI validates it (parsed, then the model in Python mode), and its command."""
    payload: Any = json.loads(body)
    if not isinstance(payload, dict):
        raise ValueError("not a JSON object")
    model = kind.body.model_validate(payload)
    return model, kind.build(model)


def _plain_headers(scope: Scope) -> dict[bytes, str] | None:
    """The request's headers (first of each name, as Starlette reads them), or None if it is no plain command."""
    headers: dict[bytes, str] = {}
    for name, value in scope["headers"]:
        headers.setdefault(name, value.decode("latin-1"))
    content_type = headers.get(b"content-type", "").partition(";")[0].strip().lower()
    if content_type != "application/json" or b"if-match" in headers:
        return None
    return headers


def _bearer(authorization: str | None) -> str | None:
    if authorization is None:
        return None
    scheme, _, token = authorization.partition(" ")
    return token if scheme.lower() == "bearer" and token else None


_MAX_LANE_BODY = 64 * 1024
"""Bodies beyond this (a command's is a few hundred bytes) are left to the routes, unread past it."""


async def _whole_body(receive: Receive) -> tuple[bytes, Message | None]:
    """The body, or what was read of it and the message it stopped at (more to come beyond the lane's bound)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), message
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), None
        if size > _MAX_LANE_BODY:
            return b"".join(chunks), {"type": "http.request", "body": b"", "more_body": True}


def _replaying(body: bytes, stopped_at: Message | None, receive: Receive) -> Receive:
    """`receive` for the routes: the body read so far, then whatever the client still sends."""
    replay: list[Message] = [{"type": "http.request", "body": body, "more_body": stopped_at is not None}]
    if stopped_at is not None and stopped_at["type"] != "http.request":
        replay = [{"type": "http.request", "body": body, "more_body": False}, stopped_at]

    async def replaying_receive() -> Message:
        return replay.pop(0) if replay else await receive()

    return replaying_receive
