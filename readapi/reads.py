"""The read flows: consult the checkpoint mirror, wait for a `minVersion` if asked, answer from the cache or the
store, and say how fresh the answer is. No HTTP here; the routes parse and authorize, these functions read.

Which projection backs which view (and so whose announcements a wait listens to, whose position keys the cache):
detail and items → `DETAIL`; list → `LIST`; search → `SEARCH`; analytics → `ANALYTICS` (`streams.contract`).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, replace
from typing import Protocol

from prometheus_client import Counter, Histogram

from readapi.answers import MetaInfo, PageInfo, dumps
from readapi.cache import ResponseCache
from readapi.freshness import CheckpointMirror, DetailLookup
from readapi.ports import OrderLists, OrderSearch, OrderSummaries, OrderViews, ViewPosition
from readapi.queries import ListQuery, SearchQuery
from readapi.settings import ReadApiSettings
from readapi.visibility import ALL_ORDERS, require_visible, visible
from readapi.waiter import VersionWaiter
from streams.contract import ANALYTICS, DETAIL, LIST, SEARCH

CACHE = Counter("readapi_cache_lookups", "Cache lookups per view and outcome (hit, miss, bypass).", ["view", "outcome"])
WAITS = Counter(
    "readapi_min_version_waits", "minVersion requests per outcome (immediate, woken, timeout).", ["view", "outcome"]
)
WAIT_SECONDS = Histogram(
    "readapi_min_version_wait_seconds", "How long minVersion requests waited for the projection.", ["view"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0),
)  # fmt: skip


class ReadServices(Protocol):
    """What the read flows use of the running app (`readapi.api.services.Services` has it all)."""

    @property
    def settings(self) -> ReadApiSettings: ...
    @property
    def views(self) -> OrderViews: ...
    @property
    def lists(self) -> OrderLists: ...
    @property
    def search(self) -> OrderSearch: ...
    @property
    def summaries(self) -> OrderSummaries: ...
    @property
    def mirror(self) -> CheckpointMirror: ...
    @property
    def waiter(self) -> VersionWaiter: ...
    @property
    def cache(self) -> ResponseCache: ...


@dataclass(frozen=True, slots=True)
class ReadYourWrite:
    """`minVersion` of one order, how long to wait for it, and the caller's scope: a customer may wait only for their
    own order, checked before waiting."""

    order_id: str
    min_version: int
    timeout_s: float
    scope: str | None = ALL_ORDERS


@dataclass(frozen=True, slots=True)
class Answer:
    data: bytes
    meta: MetaInfo
    page: PageInfo | None = None


async def order_detail(
    services: ReadServices, order_id: str, scope: str | None, wait: ReadYourWrite | None, *, use_cache: bool = True
) -> Answer:
    cache_prefix = services.cache.detail_prefix() if use_cache else ""  # "" = look nothing up
    lookup = await services.mirror.detail(DETAIL, order_id, cache_prefix=cache_prefix)
    document, fetched = None, False
    if lookup.applied_version is None:
        # Not projected yet, or Redis lost the mirror (restart, eviction): the store's document has its own version.
        document, fetched = await services.views.get(order_id), True
        if document is not None:
            lookup = await services.mirror.fill(DETAIL, order_id, int(document["version"]))
    if wait is not None and (lookup.applied_version or 0) < wait.min_version:
        fetched = False
        if await _wait(services, DETAIL, wait) is not None:
            lookup = await services.mirror.detail(DETAIL, order_id, cache_prefix=cache_prefix)
        else:  # timed out: the store may have it all the same, its announcement lost with a Redis connection
            lookup = replace(lookup, cached=None)
    elif wait is not None:
        WAITS.labels(DETAIL, "immediate").inc()
    minimum = wait.min_version if wait is not None else 0
    if (hit := cached_detail(lookup, order_id, scope, minimum)) is not None:
        return hit
    CACHE.labels("detail", "miss").inc()
    document = visible(scope, order_id, document if fetched else await services.views.get(order_id))
    data = dumps(document)
    version = int(document["version"])
    if lookup.generation is not None:
        header = dumps([document["customerId"], version, document["updatedAt"]])
        key = services.cache.detail_key(lookup.generation, order_id, version)
        await services.cache.put(key, header + b"\n" + data, services.settings.detail_cache_ttl_s)
    return Answer(data, MetaInfo(document["updatedAt"], version, stale=version < minimum))


def cached_detail(lookup: DetailLookup, order_id: str, scope: str | None, minimum: int) -> Answer | None:
    """The answer a cache entry makes, its owner checked (`OrderNotVisible` otherwise); None without an entry."""
    if lookup.cached is None:
        return None
    # The entry's key is the applied version, its header the version it holds: both are the same by construction.
    header, _, data = lookup.cached.partition(b"\n")
    customer_id, version, updated_at = json.loads(header)
    require_visible(scope, order_id, customer_id)
    CACHE.labels("detail", "hit").inc()
    return Answer(data, MetaInfo(updated_at, version, cached=True, stale=version < minimum))


async def strong_order_detail(
    services: ReadServices, order_id: str, scope: str | None, min_version: int | None
) -> Answer:
    """The write model's summary row: as fresh as the last committed command, so there is nothing to wait for."""
    document = visible(scope, order_id, await services.summaries.get(order_id))
    version = int(document["version"])
    stale = min_version is not None and version < min_version
    return Answer(dumps(document), MetaInfo(document["updatedAt"], version, stale=stale))


async def order_list(
    services: ReadServices, query: ListQuery, wait: ReadYourWrite | None, *, use_cache: bool = True
) -> Answer:
    stale = wait is not None and await _wait(services, LIST, wait) is None
    position = await services.mirror.position(LIST)
    page_info = (query.page.page, query.page.limit)
    key = _page_key(services, "list", position, query.key())
    if use_cache and key is not None and (cached := await services.cache.get(key)) is not None:
        CACHE.labels("list", "hit").inc()
        header, _, data = cached.partition(b"\n")
        total, cursor, estimated = json.loads(header)
        page = PageInfo(*page_info, total, cursor=cursor, estimated=estimated)
        return Answer(data, MetaInfo.of_view(position, cached=True, stale=stale), page)
    CACHE.labels("list", "miss" if key else "bypass").inc()
    found = await services.lists.list(query)
    data = dumps(found.items)
    if key is not None:
        header = dumps([found.total, found.cursor, found.estimated])
        await services.cache.put(key, header + b"\n" + data, services.settings.list_cache_ttl_s)
    page = PageInfo(*page_info, found.total, cursor=found.cursor, estimated=found.estimated)
    return Answer(data, MetaInfo.of_view(position, stale=stale), page)


async def order_search(services: ReadServices, query: SearchQuery, *, use_cache: bool = True) -> Answer:
    position = await services.mirror.position(SEARCH)
    page_info = (query.page.page, query.page.limit)
    # A flushed document is searchable only after the index's next refresh: an answer is cached only when the last
    # flush is older than a refresh, so the cached page holds everything up to the position in its key.
    refreshed = position.flushed_ms is not None and (
        time.time() * 1000 - position.flushed_ms >= services.settings.search_refresh_s * 1000
    )
    key = _page_key(services, "search", position, query.key()) if refreshed else None
    if use_cache and key is not None and (cached := await services.cache.get(key)) is not None:
        CACHE.labels("search", "hit").inc()
        total, _, data = cached.partition(b"\n")
        return Answer(data, MetaInfo.of_view(position, cached=True), PageInfo(*page_info, int(total)))
    CACHE.labels("search", "miss" if key else "bypass").inc()
    page = await services.search.search(query)
    data = dumps(page.items)
    if key is not None:
        await services.cache.put(key, b"%d\n" % page.total + data, services.settings.list_cache_ttl_s)
    return Answer(data, MetaInfo.of_view(position), PageInfo(*page_info, page.total))


async def analytics_position(services: ReadServices) -> ViewPosition:
    return await services.mirror.position(ANALYTICS)


def items_of(answer: Answer, page: int, limit: int) -> Answer:
    lines = json.loads(answer.data)["items"]
    start = (page - 1) * limit
    return Answer(dumps(lines[start : start + limit]), answer.meta, PageInfo(page, limit, len(lines)))


def _page_key(services: ReadServices, view: str, position: ViewPosition, query: str) -> str | None:
    if position.generation is None:
        return None  # nothing was ever flushed: no position to key on
    return services.cache.page_key(view, position.generation, position.position, query)


async def _wait(services: ReadServices, projection: str, wait: ReadYourWrite) -> int | None:
    if wait.scope is not ALL_ORDERS:
        # Before waiting, not after: someone else's (or no) order is a 404 at once, and holds no waiter. The write
        # model's summary knows the owner of every accepted order, even one no projection has applied yet.
        visible(wait.scope, wait.order_id, await services.summaries.get(wait.order_id))
    started = time.perf_counter()
    reached = await services.waiter.wait(projection, wait.order_id, wait.min_version, wait.timeout_s)
    waited = time.perf_counter() - started
    WAIT_SECONDS.labels(projection).observe(waited)
    WAITS.labels(projection, "timeout" if reached is None else "woken").inc()
    return reached
