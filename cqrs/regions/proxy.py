"""A read region's command endpoint: every command route of the primary writer, forwarded as it came.

Only the primary takes commands, so a region's command endpoint adds nothing but the distance: the request goes to
the primary writer unchanged (method, path, query, body, and the headers that carry meaning — Authorization, so the
writer decides who may do what exactly as for a direct call; Idempotency-Key, so a client retrying through the region
gets the first answer again; If-Match; X-Correlation-ID), after an optional added delay that stands for the WAN. The
answer comes back unchanged except its `Location`, which names the *region's* read API, so the client's read-your-
writes (`?minVersion=`) waits for the region's projections, not the primary's.

`GET /health/ready` is ready when the writer is; `/metrics` counts forwarded requests and their latency.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import lru_cache

import httpx
import structlog
from fastapi import FastAPI, Request
from prometheus_client import Counter, Histogram
from pydantic import Field
from pydantic_settings import SettingsConfigDict
from starlette.responses import Response

from servicekit.exposure import include_metrics
from servicekit.logs import configure_logging
from servicekit.metrics import RequestMetricsMiddleware
from servicekit.middleware import CorrelationIdMiddleware
from servicekit.problems import Problem, problem_response
from servicekit.settings import Port, ServiceSettings

log = structlog.get_logger("cqrs.regions.proxy")
FORWARDED_REQUEST = ("authorization", "idempotency-key", "if-match", "content-type", "accept", "x-correlation-id")
FORWARDED_ANSWER = ("content-type", "retry-after", "etag", "www-authenticate", "allow", "x-correlation-id")

FORWARDS = Counter("region_proxy_forwards", "Commands forwarded to the primary, per region and status.",
                   ["region", "status"])  # fmt: skip
FORWARD_SECONDS = Histogram(
    "region_proxy_forward_seconds", "Time from receiving a command to having the primary's answer (delay included).",
    ["region"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)  # fmt: skip
REQUEST_LATENCY = Histogram("region_proxy_request_duration_seconds", "Time to answer, per route and status.",
                            ["route", "status"])  # fmt: skip


class ProxySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CQRS_PROXY_", extra="ignore")

    region: str = "eu"
    writer_url: str = Field("http://127.0.0.1:58001", description="the primary writer")
    readapi_url: str = Field("http://127.0.0.1:61100", description="this region's read API: where `Location` points")
    wan_delay_ms: float = Field(0.0, ge=0, description="added before each forwarded request")
    timeout_s: float = Field(30.0, gt=0)
    port: Port = 61101


@lru_cache(maxsize=1)
def proxy_settings() -> ProxySettings:
    return ProxySettings()


def create_app(settings: ProxySettings | None = None) -> FastAPI:
    settings = settings or proxy_settings()
    configure_logging(settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with httpx.AsyncClient(base_url=settings.writer_url, timeout=settings.timeout_s) as writer:
            app.state.writer = writer
            yield

    app = FastAPI(title=f"Command proxy of region {settings.region}", lifespan=lifespan, openapi_url=None)

    @app.get("/health", include_in_schema=False)
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/health/ready", include_in_schema=False)
    async def ready(request: Request) -> Response:
        try:
            answer = await request.app.state.writer.get("/health/ready", timeout=3)
        except httpx.HTTPError as error:
            return _unreachable(request, error)
        return Response(answer.content, answer.status_code, media_type=answer.headers.get("content-type"))

    include_metrics(app, settings)

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
    async def forward(request: Request) -> Response:
        return await _forward(request, settings)

    app.add_middleware(RequestMetricsMiddleware, histogram=REQUEST_LATENCY)
    app.add_middleware(CorrelationIdMiddleware)
    return app


async def _forward(request: Request, settings: ProxySettings) -> Response:
    started = time.perf_counter()
    if settings.wan_delay_ms:
        await asyncio.sleep(settings.wan_delay_ms / 1000)
    headers = {name: value for name in FORWARDED_REQUEST if (value := request.headers.get(name)) is not None}
    headers["x-correlation-id"] = request.state.correlation_id
    writer: httpx.AsyncClient = request.app.state.writer
    try:
        answer = await writer.request(
            request.method, request.url.path, params=request.url.query or None, content=await request.body(),
            headers=headers,
        )  # fmt: skip
    except httpx.HTTPError as error:
        FORWARDS.labels(settings.region, "unreachable").inc()
        return _unreachable(request, error)
    FORWARD_SECONDS.labels(settings.region).observe(time.perf_counter() - started)
    FORWARDS.labels(settings.region, str(answer.status_code)).inc()
    shown = {name: value for name in FORWARDED_ANSWER if (value := answer.headers.get(name)) is not None}
    if (location := answer.headers.get("location")) is not None:
        # The writer names a path on the read API; here it is this region's read API.
        shown["location"] = settings.readapi_url + location if location.startswith("/") else location
    log.debug("region.forwarded", region=settings.region, path=request.url.path, status=answer.status_code)
    return Response(answer.content, answer.status_code, headers=shown)


def _unreachable(request: Request, error: httpx.HTTPError) -> Response:
    log.warning("region.writer_unreachable", error=repr(error))
    problem = Problem(
        status=503, slug="unavailable", title="The service is unavailable", headers={"Retry-After": "1"},
        detail=f"the primary writer cannot be reached from this region right now ({type(error).__name__}); retry",
    )  # fmt: skip
    return problem_response(problem, instance=request.url.path, correlation_id=request.state.correlation_id)
