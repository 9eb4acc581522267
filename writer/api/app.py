"""The writer's FastAPI application: `create_app()` (also the uvicorn factory, reading settings from the env)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import structlog
from fastapi import FastAPI

from writer.api import health, metrics, routes_batch, routes_commands, routes_rest, routes_webhooks
from writer.api.middleware import BodySizeLimitMiddleware, CorrelationIdMiddleware
from writer.api.openapi import problem_responses, problem_schema
from writer.api.problems import install_problem_handlers
from writer.api.services import Services
from writer.handlers import CommandHandler, utc_now
from writer.logs import configure_logging
from writer.ports import CommandStore
from writer.postgres import PostgresCommandStore, create_pool
from writer.postgres.webhooks import PostgresWebhookRegistry
from writer.settings import WriterSettings, writer_settings
from writer.tokens import TokenVerifier

log = structlog.get_logger("writer.app")


def create_app(
    settings: WriterSettings | None = None,
    *,
    store: CommandStore | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> FastAPI:
    """The app; with no `store`, the lifespan opens a Postgres pool from `settings.database_url`."""
    settings = settings or writer_settings()
    configure_logging(settings.log_level)
    app = FastAPI(
        title="CQRS order writer",
        version="1.0.0",
        description="Commands on orders. Every error is an RFC 9457 problem (application/problem+json).",
        lifespan=_lifespan(settings, store, clock),
    )
    app.include_router(routes_batch.router)
    app.include_router(routes_commands.router)
    app.include_router(routes_rest.router)
    app.include_router(routes_webhooks.router)
    app.include_router(health.router)
    app.include_router(metrics.router)
    install_problem_handlers(app)
    # Added last = runs first: the correlation id is set before a 413 is answered.
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        limits={routes_batch.BATCH_PATH: settings.batch_max_body_bytes},
    )
    app.add_middleware(CorrelationIdMiddleware)
    _document_problems(app)
    return app


def _lifespan(
    settings: WriterSettings, given_store: CommandStore | None, clock: Callable[[], datetime]
) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            store = given_store
            webhooks = None
            if store is None:
                pool = create_pool(settings)
                await pool.open()
                stack.push_async_callback(pool.close)
                store = PostgresCommandStore(pool)
                webhooks = PostgresWebhookRegistry(pool)
            app.state.services = Services(
                settings=settings,
                store=store,
                handler=CommandHandler(store, clock=clock),
                tokens=TokenVerifier(settings),
                webhooks=webhooks,
            )
            purge = asyncio.create_task(_purge_expired_keys(store, settings.idempotency_purge_interval_s))
            stack.push_async_callback(_stop, purge)
            yield

    return lifespan


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


def _document_problems(app: FastAPI) -> None:
    """Add the ProblemDetails schema, and replace FastAPI's own 422 body (never sent) by the problem."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            for operations in document["paths"].values():
                for operation in operations.values():
                    operation["responses"].update(
                        {str(k): v for k, v in problem_responses(422).items() if str(k) in operation["responses"]}
                    )
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            for unused in ("HTTPValidationError", "ValidationError"):
                schemas.pop(unused, None)
            problem = problem_schema()
            schemas.update(problem.pop("$defs", {}))
            schemas["ProblemDetails"] = problem
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
