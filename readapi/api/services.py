"""What the routes need from the running app, built once in the lifespan and kept on `app.state`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from fastapi import Request

from readapi.cache import ResponseCache
from readapi.freshness import CheckpointMirror
from readapi.lag import ReplicaLag
from readapi.ports import Analytics, OrderLists, OrderSearch, OrderSummaries, OrderViews, Readiness
from readapi.settings import ReadApiSettings
from readapi.waiter import VersionWaiter
from servicekit.tokens import TokenVerifier


@dataclass(frozen=True, slots=True)
class Services:
    settings: ReadApiSettings
    views: OrderViews
    lists: OrderLists
    search: OrderSearch
    analytics: Analytics
    summaries: OrderSummaries
    mirror: CheckpointMirror
    waiter: VersionWaiter
    cache: ResponseCache
    tokens: TokenVerifier
    stores: dict[str, Readiness]
    lag: ReplicaLag | None = None
    """This region's replica lag (`meta.region`, `meta.lagSeconds`)."""


async def get_services(request: Request) -> Services:
    """FastAPI dependency (async: a plain function would cost a thread-pool hop per request)."""
    return cast(Services, request.app.state.services)
