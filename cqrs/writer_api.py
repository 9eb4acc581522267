"""The command API as it is served: the writer's app with the webhook registration routes (`/webhooks`) mounted,
and the migrations of both (the webhook tables live in the write model's database).

Neither package knows the other: the writer takes routes it does not own as an `Extension`; `streams.webhooks`
brings its router, its registry on a pool of its own, the problems its errors answer with, and its migrations.
`cqrs writer serve|migrate` and the stack's `writer` app run this composition.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import TYPE_CHECKING

from fastapi import FastAPI

from servicekit.tokens import TokenVerifier
from streams.webhooks import routes as webhook_routes
from streams.webhooks.cipher import secret_cipher
from streams.webhooks.destinations import Resolver, destination_policy, system_resolver
from streams.webhooks.postgres import MIGRATIONS_DIR as WEBHOOK_MIGRATIONS
from streams.webhooks.postgres import open_registry
from streams.webhooks.problems import WEBHOOK_ERRORS, webhook_problem
from streams.webhooks.registry import WebhookRegistry
from streams.webhooks.routes import WebhookServices, provide_services
from streams.webhooks.settings import WebhookSettings
from writer.api.app import Extension
from writer.api.app import create_app as create_writer_app
from writer.handlers import utc_now
from writer.ports import CommandStore
from writer.settings import WriterSettings, writer_settings

if TYPE_CHECKING:
    from writer.migrate import MigrationReport


def create_app(
    settings: WriterSettings | None = None,
    *,
    store: CommandStore | None = None,
    clock: Callable[[], datetime] = utc_now,
    webhooks: WebhookRegistry | None = None,
    webhook_settings: WebhookSettings | None = None,
    resolver: Resolver = system_resolver,
) -> FastAPI:
    """The app (also the uvicorn factory, reading settings from the env).

    With no `store`, the writer and the webhook registry both use the Postgres at `settings.database_url`, each
    on its own pool. With a `store` (no database), `webhooks` is the registry; None: `/webhooks` answers 503.
    `webhook_settings` (default: `CQRS_WEBHOOKS_*`) give dev mode and the secrets' key; `resolver` resolves the
    hosts of registered URLs."""
    settings = settings or writer_settings()
    extension = webhooks_extension(
        settings, webhook_settings or WebhookSettings(), registry=webhooks, on_database=store is None, resolver=resolver
    )
    return create_writer_app(settings, store=store, clock=clock, extensions=[extension])


def webhooks_extension(
    settings: WriterSettings,
    webhook_settings: WebhookSettings,
    *,
    registry: WebhookRegistry | None,
    on_database: bool,
    resolver: Resolver = system_resolver,
) -> Extension:
    """`/webhooks` on the writer's app: the writer's tokens, and the registry in the write model's database (or
    `registry` when `on_database` is False). On the database the app refuses to start without the secrets' key
    (`MissingSecretKey`), outside dev mode."""
    tokens = TokenVerifier(settings)
    destinations = destination_policy(dev_mode=webhook_settings.dev_mode, resolver=resolver)
    cipher = secret_cipher(webhook_settings) if on_database else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if cipher is None:
            provide_services(app, WebhookServices(tokens=tokens, registry=registry, destinations=destinations))
            yield
            return
        async with open_registry(settings.database_url, cipher, timeout_s=settings.pool_timeout_s) as postgres:
            provide_services(app, WebhookServices(tokens=tokens, registry=postgres, destinations=destinations))
            yield

    return Extension(router=webhook_routes.router, lifespan=lifespan, problems=webhook_problem, errors=WEBHOOK_ERRORS)


def migrate(database_url: str) -> MigrationReport:
    """The writer's migrations, then the webhook tables' (one yoyo run, under its lock); safe to repeat."""
    from writer.migrate import migrate as migrate_writer  # not at import: the app's workers need no yoyo

    return migrate_writer(database_url, WEBHOOK_MIGRATIONS)
