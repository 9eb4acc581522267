"""Prometheus metrics of the read API, the middleware timing every request, and `/metrics`.

With several uvicorn workers, `cqrs readapi serve` sets PROMETHEUS_MULTIPROC_DIR (as the writer does) so that any
worker's `/metrics` reports all of them.
"""

from __future__ import annotations

import os
import time

from fastapi import APIRouter
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Fine-grained at the low end: the cached detail's target is p99 ≤ 5 ms, search's p99 ≤ 50 ms.
_LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUEST_LATENCY = Histogram(
    "readapi_request_duration_seconds", "Time to answer, per route and status.", ["route", "status"],
    buckets=_LATENCY_BUCKETS,
)  # fmt: skip
CACHE = Counter("readapi_cache_lookups", "Cache lookups per view and outcome (hit, miss, bypass).", ["view", "outcome"])
WAITS = Counter(
    "readapi_min_version_waits", "minVersion requests per outcome (immediate, woken, timeout).", ["view", "outcome"]
)
WAIT_SECONDS = Histogram(
    "readapi_min_version_wait_seconds", "How long minVersion requests waited for the projection.", ["view"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0),
)  # fmt: skip
router = APIRouter(tags=["operations"])


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics() -> Response:
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = REGISTRY
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


class RequestMetricsMiddleware:
    """Pure ASGI (no per-request task): times each request under its route template, not its raw path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

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
            REQUEST_LATENCY.labels(route, str(status)).observe(time.perf_counter() - started)
