"""The cached order detail without the framework: `GET /orders/{orderId}` answered from the response cache by a pure
ASGI layer in front of FastAPI's routing, dependency injection and validation.

Why: a cache hit is one Redis round trip, yet under FastAPI it cost about 1.3 ms of CPU per request, most of it in
routing, dependency resolution and parameter validation (`docs/performance.md`, issue "the two APIs' hot paths").
Here only the plainest requests are taken: no query string, or a single well-formed `minVersion` the applied version
already meets; no `Cache-Control: no-cache`; a valid bearer token whose caller may read the order; an entry in the
cache. Everything else (a bad or missing token, a miss, a wait, any other parameter) goes on to the routes
unchanged, which answer it, and every error, exactly as before. The answer is built by the same functions as the
route's (`reads.cached_detail`, `envelope.answer`), so both ways give the same bytes.

A hit is also remembered in the worker's memory for `CQRS_READAPI_DETAIL_RECENT_S` (0.25 s): a hot order read again
within it costs no round trip at all, and is at most that much behind the mirror (`_RecentHits`).
"""

from __future__ import annotations

import re
import time

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from readapi import reads
from readapi.api.auth import order_scope
from readapi.api.envelope import answer
from readapi.api.params import MAX_VERSION
from readapi.errors import OrderNotVisible
from readapi.freshness import DetailLookup
from readapi.queries import MAX_ID_LENGTH
from servicekit.errors import PermissionDenied, Unauthenticated
from servicekit.metrics import RouteLabel
from streams.contract import DETAIL

DETAIL_ROUTE = "/orders/{orderId}"
_PREFIX = "/orders/"
_MIN_VERSION = re.compile(rb"minVersion=([1-9][0-9]{0,18})")


class CachedDetailShortcut:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._reserved: frozenset[str] | None = None
        """Literal paths beside the detail route (`/orders/search`): never order ids here."""
        self._recent = _RecentHits()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"].startswith(_PREFIX):
            hit = await self._cached_answer(scope)
            if hit is not None:
                scope["route"] = _ROUTE_LABEL  # the request metrics label it as the route would
                await answer(hit.data, hit.meta)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _cached_answer(self, scope: Scope) -> reads.Answer | None:
        order_id = scope["path"][len(_PREFIX) :]
        minimum = _plain_min_version(scope["query_string"])
        services = getattr(scope["app"].state, "services", None)
        if minimum is None or services is None or not self._is_order_id(scope["app"], order_id):
            return None
        token = _bearer_token_of_cacheable(scope)
        if token is None:
            return None
        try:
            customer_scope = order_scope(services.tokens.verify(token))
        except (Unauthenticated, PermissionDenied):
            return None  # the route answers with the problem
        lookup = self._recent.get(order_id, services.settings.detail_recent_s)
        if lookup is None or (lookup.applied_version or 0) < minimum:
            lookup = await services.mirror.detail(DETAIL, order_id, cache_prefix=services.cache.detail_prefix())
            if lookup.cached is not None:
                self._recent.put(order_id, lookup, services.settings.detail_recent_max)
        if (lookup.applied_version or 0) < minimum:
            return None  # a wait: the route's
        try:
            return reads.cached_detail(lookup, order_id, customer_scope, minimum)
        except OrderNotVisible:
            return None

    def _is_order_id(self, app: FastAPI, order_id: str) -> bool:
        if self._reserved is None:  # from the app's own document: every path it serves
            paths = app.openapi()["paths"]
            self._reserved = frozenset(p[len(_PREFIX) :] for p in paths if p.startswith(_PREFIX) and "{" not in p)
        return 0 < len(order_id) <= MAX_ID_LENGTH and "/" not in order_id and order_id not in self._reserved


_ROUTE_LABEL = RouteLabel(DETAIL_ROUTE)


class _RecentHits:
    """The cache hits of the last moments, in this worker's memory: a hot order read again within `detail_recent_s`
    costs no Redis round trip (on a busy machine that round trip was most of a hit's latency). What it serves is at
    most that much older than what the mirror says; a `minVersion` beyond it goes to the mirror as before."""

    def __init__(self) -> None:
        self._hits: dict[str, tuple[float, DetailLookup]] = {}

    def get(self, order_id: str, within_s: float) -> DetailLookup | None:
        hit = self._hits.get(order_id)
        if hit is None or time.monotonic() - hit[0] > within_s:
            return None
        return hit[1]

    def put(self, order_id: str, lookup: DetailLookup, capacity: int) -> None:
        if len(self._hits) >= capacity:
            self._hits.clear()  # simpler than an LRU, and entries live a fraction of a second anyway
        self._hits[order_id] = (time.monotonic(), lookup)


def _plain_min_version(query: bytes) -> int | None:
    """0 for no query, the `minVersion` of a query that is only that, else None (for the route to judge)."""
    if not query:
        return 0
    matched = _MIN_VERSION.fullmatch(query)
    if matched is None:
        return None
    version = int(matched.group(1))
    return version if version <= MAX_VERSION else None


def _bearer_token_of_cacheable(scope: Scope) -> str | None:
    """The bearer token of a request that may be answered from the cache (no `Cache-Control: no-cache`)."""
    token = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, given = value.decode("latin-1").partition(" ")
            token = given if scheme.lower() == "bearer" and given else None
        elif name == b"cache-control" and b"no-cache" in value:
            return None
    return token
