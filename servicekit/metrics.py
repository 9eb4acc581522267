"""Prometheus `/metrics` for every API, and the middleware timing each request under its route template.

With several uvicorn workers, `servicekit.serving` sets PROMETHEUS_MULTIPROC_DIR so that every worker writes its
samples there and `/metrics` (answered by any one worker) aggregates all of them.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Histogram, generate_latest, multiprocess
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

router = APIRouter(tags=["operations"])


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics() -> Response:
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = REGISTRY
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


@dataclass(frozen=True, slots=True)
class RouteLabel:
    """What `RequestMetricsMiddleware` reads of `scope["route"]`: set it where a request is answered before routing
    (a shortcut in front of the framework), so the request is labelled by its route's template all the same."""

    path: str


class RequestMetricsMiddleware:
    """Pure ASGI (no per-request task): observes each request's duration in `histogram`, labelled by route
    template (not the raw path, which would make a series per order) and status."""

    def __init__(self, app: ASGIApp, *, histogram: Histogram) -> None:
        self.app = app
        self.histogram = histogram

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.histogram.labels(route, str(status)).observe(time.perf_counter() - started)
