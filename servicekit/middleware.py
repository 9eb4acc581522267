"""Pure ASGI middleware (no per-request task or copy, unlike BaseHTTPMiddleware): correlation ids and the
request body size limit."""

from __future__ import annotations

import re
from collections.abc import Mapping
from uuid import uuid4

import structlog
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from servicekit.errors import RequestTooLarge
from servicekit.problems import common_problem, problem_response

CORRELATION_HEADER = "X-Correlation-ID"
# Anything printable and short is accepted as given: callers use their own formats (UUIDs, trace ids, …).
_VALID_CORRELATION_ID = re.compile(r"[\x21-\x7e]{1,128}")


class CorrelationIdMiddleware:
    """Takes `X-Correlation-ID` from the request (or makes one), exposes it as `request.state.correlation_id`,
    binds it to every log line of the request and echoes it in the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = Headers(scope=scope).get(CORRELATION_HEADER)
        correlation_id = given if given and _VALID_CORRELATION_ID.fullmatch(given) else str(uuid4())
        scope.setdefault("state", {})["correlation_id"] = correlation_id
        echoed = (CORRELATION_HEADER.lower().encode(), correlation_id.encode())

        async def send_with_correlation_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), echoed]
            await send(message)

        with structlog.contextvars.bound_contextvars(correlationId=correlation_id):
            await self.app(scope, receive, send_with_correlation_id)


class BodySizeLimitMiddleware:
    """Answers 413 as soon as a body is known to exceed `max_bytes`, without reading the rest of it.

    A declared Content-Length is checked before the app runs (the server enforces that the body matches
    it). A chunked body is read here up to the limit and then handed on; the app reads the whole body anyway.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int, limits: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.limits = dict(limits or {})
        """Paths with their own limit (the NDJSON batch endpoint takes many commands in one body)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.get(scope.get("path", ""), self.max_bytes)
        declared = Headers(scope=scope).get("content-length")
        if declared is not None:
            if declared.isdigit() and int(declared) > limit:
                await self._reject(scope, receive, send, limit)
            else:
                await self.app(scope, receive, send)
            return
        buffered = await self._read_within_limit(receive, limit)
        if buffered is None:
            await self._reject(scope, receive, send, limit)
            return
        await self.app(scope, _replay(buffered, receive), send)

    async def _read_within_limit(self, receive: Receive, limit: int) -> list[Message] | None:
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return messages  # disconnected: let the app see it
            size += len(message.get("body", b""))
            if size > limit:
                return None
            if not message.get("more_body", False):
                return messages

    async def _reject(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        correlation_id = scope.get("state", {}).get("correlation_id")
        response = problem_response(
            common_problem(RequestTooLarge(limit)),
            instance=scope.get("path", ""),
            correlation_id=correlation_id,
        )
        # Closing the connection: the server would otherwise try to drain the unread rest of the body.
        response.headers["Connection"] = "close"
        await response(scope, receive, send)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replaying_receive() -> Message:
        return pending.pop(0) if pending else await receive()

    return replaying_receive
