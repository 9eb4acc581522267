"""Which region answers, and how far it trails the log: the `region` and `lagSeconds` of every answer's `meta`.

A pure ASGI layer (outermost, so every answer path sees it, shortcuts included) puts the app's `ReplicaLag` in a
context variable for the request; `readapi.api.envelope` reads it when it writes `meta`.
"""

from __future__ import annotations

from contextvars import ContextVar

from starlette.types import ASGIApp, Receive, Scope, Send

from readapi.lag import ReplicaLag

CURRENT: ContextVar[ReplicaLag | None] = ContextVar("readapi_region", default=None)


def region_meta() -> dict[str, object]:
    """`{"region", "lagSeconds"}` of the answering region (lag null while unknown)."""
    lag = CURRENT.get()
    if lag is None:
        return {"region": None, "lagSeconds": None}
    return {"region": lag.region, "lagSeconds": lag.seconds}


class RegionContext:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        services = getattr(scope["app"].state, "services", None)
        token = CURRENT.set(getattr(services, "lag", None))
        try:
            await self.app(scope, receive, send)
        finally:
            CURRENT.reset(token)
