"""The read API's FastAPI application: `create_app()` (also the uvicorn factory, reading settings from the env)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from redis.asyncio import Redis

from readapi.api import health, routes_analytics, routes_customers, routes_orders, routes_search
from readapi.api.metrics import REQUEST_LATENCY
from readapi.api.openapi import document_problems
from readapi.api.problems import install_problem_handlers
from readapi.api.region import RegionContext
from readapi.api.services import Services
from readapi.api.shortcut import CachedDetailShortcut
from readapi.cache import ResponseCache
from readapi.freshness import CheckpointMirror
from readapi.lag import ReplicaLag
from readapi.settings import ReadApiSettings, readapi_settings
from readapi.stores.analytics import ClickHouseAnalytics
from readapi.stores.lists import PostgresOrderLists
from readapi.stores.mongo import MongoOrderViews
from readapi.stores.search import ElasticsearchOrderSearch
from readapi.stores.summaries import PostgresOrderSummaries
from readapi.waiter import VersionWaiter
from servicekit.exposure import docs_options, include_metrics
from servicekit.logs import configure_logging
from servicekit.metrics import RequestMetricsMiddleware
from servicekit.middleware import CorrelationIdMiddleware
from servicekit.tokens import TokenVerifier
from streams.contract import DETAIL, LIST, PROJECTIONS

log = logging.getLogger(__name__)
SHUTDOWN_STEP_S = 5.0
"""Longest wait for one client to close at shutdown."""


def create_app(settings: ReadApiSettings | None = None) -> FastAPI:
    settings = settings or readapi_settings()
    configure_logging(settings.log_level)
    app = FastAPI(
        title="CQRS order read API",
        version="1.0.0",
        description="Orders, search and analytics from the projections, with freshness metadata and "
        "read-your-writes (`minVersion`). Every error is an RFC 9457 problem (application/problem+json).",
        lifespan=_lifespan(settings),
        **docs_options(settings),
    )
    app.include_router(routes_search.router)  # before /orders/{orderId}
    app.include_router(routes_orders.router)
    app.include_router(routes_analytics.router)
    app.include_router(routes_customers.router)
    app.include_router(health.router)
    include_metrics(app, settings)
    install_problem_handlers(app)
    app.add_middleware(CachedDetailShortcut)  # innermost: timed and correlated like every request
    app.add_middleware(RequestMetricsMiddleware, histogram=REQUEST_LATENCY)
    app.add_middleware(CorrelationIdMiddleware)
    app.add_middleware(RegionContext)  # outermost: every answer's meta names the region
    document_problems(app)
    return app


async def _bounded(close: Callable[[], Awaitable[object]]) -> None:
    """Shut one client down, but never hang the process on a store that went away (its socket may never answer)."""
    try:
        await asyncio.wait_for(close(), SHUTDOWN_STEP_S)
    except Exception as error:  # TimeoutError included: the process is going away anyway
        log.warning("readapi.shutdown_step_failed step=%s error=%r", getattr(close, "__qualname__", close), error)


def _lifespan(settings: ReadApiSettings) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        streams, timeout_s = settings.streams, settings.store_timeout_s
        async with contextlib.AsyncExitStack() as stack:
            redis = Redis.from_url(streams.redis_url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
            stack.push_async_callback(_bounded, redis.aclose)
            mirror = CheckpointMirror(redis, streams.redis_prefix)
            views = MongoOrderViews.connect(streams, pointer_ttl_s=settings.pointer_ttl_s, timeout_s=timeout_s)
            stack.push_async_callback(_bounded, views.close)
            lists = PostgresOrderLists.create(
                streams.as_list_reader(),  # read-only in readdb: an injection cannot change the lists
                timeout_s=timeout_s,
                pool_size=settings.list_pool_size,
                exact_total_max=settings.list_exact_total_max,
            )
            await lists.open()
            stack.push_async_callback(_bounded, lists.close)
            search = ElasticsearchOrderSearch.connect(streams, timeout_s=timeout_s)
            stack.push_async_callback(_bounded, search.close)
            analytics = ClickHouseAnalytics(
                streams,
                user=settings.clickhouse_user,
                password=settings.clickhouse_password.get_secret_value(),
                timeout_s=timeout_s,
            )
            stack.push_async_callback(_bounded, analytics.close)
            summaries = PostgresOrderSummaries.create(settings.database_url, timeout_s=timeout_s)
            await summaries.open()
            stack.push_async_callback(_bounded, summaries.close)
            waiter = VersionWaiter(
                Redis.from_url(streams.redis_url), mirror, [DETAIL, LIST], capacity=settings.max_waiters
            )
            await waiter.start()
            stack.push_async_callback(_bounded, waiter.stop)
            lag = ReplicaLag(
                settings.region,
                mirror,
                bootstrap=streams.kafka_bootstrap,
                topic=streams.topic,
                projections=PROJECTIONS,
                every_s=settings.lag_every_s,
            )
            await lag.start()
            stack.push_async_callback(_bounded, lag.stop)
            app.state.services = Services(
                settings=settings,
                views=views,
                lists=lists,
                search=search,
                analytics=analytics,
                summaries=summaries,
                mirror=mirror,
                waiter=waiter,
                cache=ResponseCache(redis, settings.cache_prefix, streams.redis_prefix),
                tokens=TokenVerifier(settings),
                stores={
                    "readdb": lists,
                    "mongo": views,
                    "elasticsearch": search,
                    "clickhouse": analytics,
                    "postgres": summaries,
                },
                lag=lag,
            )
            yield

    return lifespan
