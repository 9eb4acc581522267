"""The customer overview: one answer composed from several read models (API composition, no store joins them).

Each part reads its own store and the freshness of its own projection, all parts at once, each under its own deadline
(`overview_part_timeout_s`). A part that fails or runs out of time leaves its slot empty and says why in its `meta`;
the others are answered all the same, so one store down costs that part, never the whole answer. The route decides
whether an incomplete overview is acceptable (`?require=all` turns it into a 503).

| part | store (projection) | what |
|---|---|---|
| `recentOrders` | readdb (`LIST`) | the newest orders, as the list shows them |
| `openOrders` | readdb (`LIST`) | how many orders are pending or confirmed |
| `lifetimeTotals` | clickhouse (`ANALYTICS`) | orders and revenue per currency, cancelled ones apart |
| `topSkus` | clickhouse (`ANALYTICS`) | the customer's SKUs by net units |
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from prometheus_client import Counter, Histogram

from readapi.answers import MetaInfo
from readapi.errors import StoreUnavailable
from readapi.freshness import CheckpointMirror
from readapi.ports import Analytics, OrderLists
from readapi.queries import DEFAULT_SORT, ListQuery, OrderStatus, PageRequest
from streams.contract import ANALYTICS, LIST

log = logging.getLogger(__name__)

PARTS = ("recentOrders", "openOrders", "lifetimeTotals", "topSkus")
SOURCES = {LIST: "readdb", ANALYTICS: "clickhouse"}
"""The store behind each projection a part reads: what `meta.parts[…].source` and a failed part's error name."""
OPEN_STATUSES = (OrderStatus.PENDING, OrderStatus.CONFIRMED)

PART_OUTCOMES = Counter(
    "readapi_overview_parts", "Customer overview parts per part and outcome (ok, timeout, unavailable).",
    ["part", "outcome"],
)  # fmt: skip
PART_SECONDS = Histogram(
    "readapi_overview_part_seconds", "How long each part of a customer overview took (failed ones included).",
    ["part"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0),
)  # fmt: skip


class OverviewServices(Protocol):
    """What the overview reads (`readapi.api.services.Services` has it)."""

    @property
    def lists(self) -> OrderLists: ...
    @property
    def analytics(self) -> Analytics: ...
    @property
    def mirror(self) -> CheckpointMirror: ...


@dataclass(frozen=True, slots=True)
class PartFailure:
    reason: Literal["timeout", "unavailable"]
    detail: str


@dataclass(frozen=True, slots=True)
class PartAnswer:
    name: str
    source: str
    value: Any
    """None when the part failed."""
    meta: MetaInfo | None
    failure: PartFailure | None = None


@dataclass(frozen=True, slots=True)
class Overview:
    customer_id: str
    parts: tuple[PartAnswer, ...]

    @property
    def missing(self) -> list[str]:
        return [part.name for part in self.parts if part.failure is not None]


@dataclass(frozen=True, slots=True)
class _Part:
    name: str
    projection: str
    read: Callable[[], Awaitable[Any]]


async def customer_overview(
    services: OverviewServices, customer_id: str, *, recent: int, top: int, timeout_s: float
) -> Overview:
    """Every part of one customer's overview, fetched concurrently; the caller has checked who may see it."""
    lists, analytics = services.lists, services.analytics

    async def recent_orders() -> list[dict[str, Any]]:
        page = await lists.list(ListQuery(None, customer_id, DEFAULT_SORT, PageRequest(1, recent)))
        return page.items

    async def open_orders() -> int:
        queries = [ListQuery(status, customer_id, DEFAULT_SORT, PageRequest(1, 1)) for status in OPEN_STATUSES]
        pages = await asyncio.gather(*(lists.list(query) for query in queries))
        return sum(page.total for page in pages)

    parts = (
        _Part("recentOrders", LIST, recent_orders),
        _Part("openOrders", LIST, open_orders),
        _Part("lifetimeTotals", ANALYTICS, lambda: analytics.customer_totals(customer_id)),
        _Part("topSkus", ANALYTICS, lambda: analytics.customer_top_skus(customer_id, top)),
    )
    answers = await asyncio.gather(*(_fetch(services.mirror, part, timeout_s) for part in parts))
    return Overview(customer_id, tuple(answers))


async def _fetch(mirror: CheckpointMirror, part: _Part, timeout_s: float) -> PartAnswer:
    """One part and its projection's position; a failure becomes the part's failure, never an exception."""
    source = SOURCES[part.projection]
    started = time.perf_counter()
    failure: PartFailure | None = None
    try:
        async with asyncio.timeout(timeout_s):
            value, position = await asyncio.gather(part.read(), mirror.position(part.projection))
    except TimeoutError:
        failure = PartFailure("timeout", f"{source} did not answer within {timeout_s:g} s")
    except StoreUnavailable as error:
        failure = PartFailure("unavailable", str(error))
    except Exception as error:  # any store client's error: this part is missing, the others still answer
        log.warning("overview.part_failed part=%s error=%r", part.name, error)
        failure = PartFailure("unavailable", f"{source}: {type(error).__name__}")
    PART_SECONDS.labels(part.name).observe(time.perf_counter() - started)
    PART_OUTCOMES.labels(part.name, failure.reason if failure else "ok").inc()
    if failure is not None:
        return PartAnswer(part.name, source, None, None, failure)
    return PartAnswer(part.name, source, value, MetaInfo.of_view(position))
