"""The writer's FastAPI application: `create_app()` (also the uvicorn factory, reading settings from the env).

`extensions` mount routes the writer serves without owning them (the composition root passes them in): each
brings its router, the lifespan that sets up what its routes need, and how its errors answer."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

import structlog
from fastapi import APIRouter, FastAPI

from servicekit.exposure import docs_options, include_metrics
from servicekit.logs import configure_logging
from servicekit.metrics import RequestMetricsMiddleware
from servicekit.middleware import BodySizeLimitMiddleware, CorrelationIdMiddleware
from servicekit.problems import ProblemMapper
from servicekit.tokens import TokenVerifier
from writer.api import health, routes_batch, routes_commands, routes_rest
from writer.api.fast_lane import CommandFastLane
from writer.api.metrics import REQUEST_LATENCY
from writer.api.openapi import document_problems
from writer.api.problems import install_problem_handlers
from writer.api.services import Services
from writer.connect_watch import ConnectWatch
from writer.grpc.server import serving as grpc_serving
from writer.handlers import CommandHandler, utc_now
from writer.ports import CommandStore
from writer.postgres import PostgresCommandStore, SlotGuard, create_pool
from writer.postgres.store import Pool
from writer.settings import WriterSettings, writer_settings
from writer.trace.tracer import tracing

log = structlog.get_logger("writer.app")

Lifespan = Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]


@dataclass(frozen=True, slots=True, kw_only=True)
class Extension:
    """Routes mounted on the writer's app that another package owns."""

    router: APIRouter
    lifespan: Lifespan | None = None
    """Entered after the writer's own services are up (and left before they close)."""
    problems: ProblemMapper | None = None
    """The problems its errors answer with; asked after the writer's own mapping, before the common one."""
    errors: tuple[type[Exception], ...] = ()
    """Base classes of the errors its routes raise (their problem handlers are registered by type)."""


def create_app(
    settings: WriterSettings | None = None,
    *,
    store: CommandStore | None = None,
    clock: Callable[[], datetime] = utc_now,
    extensions: Sequence[Extension] = (),
) -> FastAPI:
    """The app; with no `store`, the lifespan opens a Postgres pool from `settings.database_url`."""
    settings = settings or writer_settings()
    configure_logging(settings.log_level)
    app = FastAPI(
        title="CQRS order writer",
        version="1.0.0",
        description="Commands on orders. Every error is an RFC 9457 problem (application/problem+json).",
        lifespan=_lifespan(settings, store, clock, [e.lifespan for e in extensions if e.lifespan is not None]),
        **docs_options(settings),
    )
    app.include_router(routes_batch.router)
    app.include_router(routes_commands.router)
    app.include_router(routes_rest.router)
    for extension in extensions:
        app.include_router(extension.router)
    app.include_router(health.router)
    include_metrics(app, settings)
    install_problem_handlers(
        app,
        mappers=[e.problems for e in extensions if e.problems is not None],
        errors=[error for e in extensions for error in e.errors],
    )
    app.add_middleware(CommandFastLane)  # innermost: behind the body limit, timed and correlated like every request
    # Added last = runs first: the correlation id is set before a 413 is answered.
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        limits={routes_batch.BATCH_PATH: settings.batch_max_body_bytes},
    )
    app.add_middleware(CorrelationIdMiddleware)
    app.add_middleware(RequestMetricsMiddleware, histogram=REQUEST_LATENCY)  # outermost: times 413s and 503s too
    document_problems(app)
    return app


def _lifespan(
    settings: WriterSettings, given_store: CommandStore | None, clock: Callable[[], datetime], hooks: list[Lifespan]
) -> Lifespan:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            store = given_store
            if store is None:
                pool = create_pool(settings)
                await pool.open()
                stack.push_async_callback(pool.close)
                store = PostgresCommandStore(pool, slot_guard=await _start_slot_guard(settings, pool, stack))
                app.state.tracer, app.state.relay = await stack.enter_async_context(tracing(settings, pool))
            app.state.services = Services(
                settings=settings,
                store=store,
                handler=CommandHandler(store, clock=clock),
                tokens=TokenVerifier(settings),
            )
            purge = asyncio.create_task(_purge_expired_keys(store, settings.idempotency_purge_interval_s))
            stack.push_async_callback(_stop, purge)
            if settings.relay_connect_url:
                watch = ConnectWatch(
                    settings.relay_connect_url,
                    settings.relay_connector,
                    interval_s=settings.relay_connect_poll_interval_s,
                )
                stack.push_async_callback(_stop, asyncio.create_task(watch.run()))
            if settings.grpc_enabled:  # the same commands over gRPC, on the same services (writer/grpc)
                tracer = getattr(app.state, "tracer", None)
                grpc = grpc_serving(app.state.services, host=settings.host, port=settings.grpc_port, tracer=tracer)
                app.state.grpc_port = await stack.enter_async_context(grpc)
            for hook in hooks:
                await stack.enter_async_context(hook(app))
            yield

    return lifespan


async def _start_slot_guard(settings: WriterSettings, pool: Pool, stack: contextlib.AsyncExitStack) -> SlotGuard | None:
    """Judge the relay's slot once before serving, then poll it in the background."""
    if not settings.relay_slot:
        return None
    guard = SlotGuard(
        pool,
        settings.relay_slot,
        min_safe_fraction=settings.relay_slot_min_safe_fraction,
        interval_s=settings.relay_slot_poll_interval_s,
    )
    await guard.poll()
    stack.push_async_callback(_stop, asyncio.create_task(guard.run()))
    return guard


async def _purge_expired_keys(store: CommandStore, interval_s: float) -> None:
    """Expired responses are never replayed anyway; purging only keeps the table small."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            removed = await store.purge_expired_idempotency_keys()
            log.info("idempotency.purged", removed=removed)
        except Exception as error:  # a failed purge must not stop the next one
            log.warning("idempotency.purge_failed", error=repr(error))


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
