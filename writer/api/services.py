"""What the routes need from the running app, built once in the lifespan and kept on `app.state`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

from fastapi import Request

from servicekit.tokens import TokenVerifier
from writer.batch.slots import BatchSlots
from writer.handlers import CommandHandler
from writer.ports import CommandStore
from writer.settings import WriterSettings


@dataclass(frozen=True, slots=True)
class Services:
    settings: WriterSettings
    store: CommandStore
    handler: CommandHandler
    tokens: TokenVerifier
    batches: BatchSlots = field(default_factory=BatchSlots)
    """The batches each subject is running in this process."""


async def get_services(request: Request) -> Services:
    """FastAPI dependency: the services of the app serving this request (async: a plain function would be
    run in the thread pool, a costly hop for a dictionary lookup)."""
    return cast(Services, request.app.state.services)
