"""The read API's ports: one small protocol per view, each with one adapter per real store (`readapi.stores`).

Documents cross these ports as plain JSON-ready dicts in the API's field names (camelCase), so a route never
knows which store answered; each adapter turns its store's shape (BSON dates, `_source`, SQL rows) into that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from readapi.queries import DateRange, ListQuery, Page, SearchQuery

Document = dict[str, Any]


class OrderViews(Protocol):
    """Detail of orders, read by orderId (the `orders-mongo` projection)."""

    async def get(self, order_id: str) -> Document | None:
        """The order's document with its items, or None."""


class OrderLists(Protocol):
    """Lists of orders, filtered and sorted (the `orders-list` projection)."""

    async def list(self, query: ListQuery) -> Page[Document]:
        """One page of order summaries (no items), in the query's order, ties broken by orderId in the sort's
        direction; from `query.cursor` on if given (keyset), else at the page's offset. `Page.cursor` is where the
        next page starts (None on the last one); `Page.estimated` says `total` is an estimate beyond an exact bound."""


class OrderSearch(Protocol):
    """Full-text search over orders (the `orders-search` projection)."""

    async def search(self, query: SearchQuery) -> Page[Document]:
        """Hits best first (`score`, `highlights`), or newest first without a text."""


class Analytics(Protocol):
    """Aggregates over the `orders-analytics` projection."""

    async def daily_revenue(self, days: DateRange, currency: str | None) -> list[Document]:
        """Per creation day and currency: orders and revenue (cancelled excluded), and the split by status."""

    async def top_skus(self, days: DateRange, currency: str | None, limit: int) -> Page[Document]:
        """SKUs by net units sold in orders created in `days` (cancellations and removals subtracted)."""

    async def customer_totals(self, customer_id: str) -> list[Document]:
        """One customer's lifetime figures per currency: `orders` and `revenue` of the orders not cancelled, and
        `cancelled` (how many were), from every order's latest state."""

    async def customer_top_skus(self, customer_id: str, limit: int) -> list[Document]:
        """One customer's SKUs by net units (as `top_skus`, over their orders only)."""


class OrderSummaries(Protocol):
    """The sync projection in the write model (`order_summary`), updated in the command's own transaction."""

    async def get(self, order_id: str) -> Document | None: ...


@dataclass(frozen=True, slots=True)
class ViewPosition:
    """Where a projection is, from the checkpoint mirror: what list/search/analytics answers are as fresh as."""

    generation: int | None
    position: int
    """Events the active generation has applied (the sum of its partitions' next offsets): grows with each flush."""
    last_event_ms: int | None
    """Event time of the newest applied event."""
    flushed_ms: int | None
    """Wall-clock time of the last flush."""


class Freshness(Protocol):
    """The checkpoint mirror, read-only."""

    async def applied_version(self, projection: str, order_id: str) -> int | None: ...

    async def position(self, projection: str) -> ViewPosition: ...


class Readiness(Protocol):
    async def check(self) -> None:
        """Raise if the store cannot answer."""
