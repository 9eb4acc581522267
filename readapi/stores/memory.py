"""The read API's ports in memory, answered from orders folded from the events the projections are fed.

`InMemoryReadModels.apply(envelope)` does in one step what the projections (and the writer's sync projection) do to
their stores; its adapters then answer each port with plain Python over the folded orders: filters, sorts and sums,
and for search the words of each field as Elasticsearch's standard analyzer splits them, weighted as
`readapi.stores.search` weighs them. For tests and demos without the stack; `tests/readapi/ports_contract.py` holds
these adapters and the real ones to the same behaviour.
"""

from __future__ import annotations

import html
import re
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date
from decimal import Decimal
from typing import Any

from readapi.ports import Document, ViewPosition
from readapi.queries import (
    Cursor,
    DateRange,
    Direction,
    ListQuery,
    Page,
    SearchFilters,
    SearchQuery,
    SortValue,
    sort_value,
)
from readapi.stores.documents import SUMMARY_FIELDS, order_detail, order_summary, timestamp
from schemas.documents import address_document, line_document, money_text
from schemas.envelope import EventEnvelope
from schemas.events import OrderCreated, OrderStatus
from schemas.order_state import OrderState
from streams.contract import PROJECTIONS

_CANCELLED = OrderStatus.CANCELLED


@dataclass(frozen=True, slots=True, kw_only=True)
class _Order(OrderState):
    """One order as its events so far built it (the projections' fold), and the position of the last one."""

    version: int
    sequence: int

    @property
    def created_on(self) -> date:
        return self.created_at.astimezone(UTC).date()


class InMemoryReadModels:
    """The orders every in-memory adapter reads, plus the bookkeeping `Freshness` reports."""

    def __init__(self, *, clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000) -> None:
        self._clock_ms = clock_ms
        self._orders: dict[str, _Order] = {}
        self.consumed = 0
        self.newest_event_ms: int | None = None
        self.flushed_ms: int | None = None
        self.views = InMemoryOrderViews(self)
        self.search = InMemoryOrderSearch(self)
        self.analytics = InMemoryAnalytics(self)
        self.summaries = InMemoryOrderSummaries(self)
        self.freshness = InMemoryFreshness(self)

    def apply(self, envelope: EventEnvelope) -> None:
        """Fold one event in; an event at or before the order's position is a redelivery and changes nothing.

        Raises `ValueError` on a gap (a version skipped, or an order's first event not being `OrderCreated`), and
        `InconsistentHistory` (a `ValueError` too) on an event that contradicts its order, as a projection would park.
        """
        order = self._orders.get(envelope.aggregate_id)
        if order is None or (envelope.version, envelope.sequence) > (order.version, order.sequence):
            self._orders[envelope.aggregate_id] = _folded(order, envelope)
        self.consumed += 1
        event_ms = int(envelope.timestamp.timestamp() * 1000)
        self.newest_event_ms = max(self.newest_event_ms or event_ms, event_ms)
        self.flushed_ms = self._clock_ms()

    def order(self, order_id: str) -> _Order | None:
        return self._orders.get(order_id)

    def orders(self) -> list[_Order]:
        return list(self._orders.values())

    async def check(self) -> None:
        """Memory always answers."""


def _folded(order: _Order | None, envelope: EventEnvelope) -> _Order:
    if order is None:
        if not isinstance(envelope.data, OrderCreated):
            raise ValueError(f"{envelope.event_type} before OrderCreated of order {envelope.aggregate_id}")
        return _Order.created(envelope, version=envelope.version, sequence=envelope.sequence)
    if envelope.version > order.version + 1:
        raise ValueError(f"order {order.order_id}: version {envelope.version} follows {order.version}")
    return replace(order.after(envelope), version=envelope.version, sequence=envelope.sequence)


def _stored(order: _Order) -> dict[str, Any]:
    """The order in the detail projection's document shape, which `readapi.stores.documents` renders."""
    document: dict[str, Any] = {
        "orderId": order.order_id,
        "customerId": order.customer_id,
        "status": order.status.value,
        "currency": order.currency,
        "total": money_text(order.total),
        "itemCount": len(order.items),
        "version": order.version,
        "createdAt": order.created_at,
        "updatedAt": order.updated_at,
        "items": [
            {**line_document(line), "lineTotal": money_text(line.quantity * line.unit_price)} for line in order.items
        ],
    }
    if order.shipping_address is not None:
        document["shippingAddress"] = address_document(order.shipping_address)
    if order.cancel_reason:
        document["cancelReason"] = order.cancel_reason
    return document


def _sorted(orders: list[_Order], key: Callable[[_Order], Any], *, descending: bool) -> list[_Order]:
    """By `key`, ties broken by orderId ascending whatever the direction (sorts are stable, reversed ones too)."""
    by_id = sorted(orders, key=lambda order: order.order_id)
    return sorted(by_id, key=key, reverse=descending)


def _page(items: list[Any], offset: int, limit: int) -> list[Any]:
    return items[offset : offset + limit]


class InMemoryOrderViews:
    """`OrderViews` and `OrderLists`: detail and list."""

    def __init__(self, models: InMemoryReadModels) -> None:
        self._models = models

    async def get(self, order_id: str) -> Document | None:
        order = self._models.order(order_id)
        return None if order is None else order_detail(_stored(order))

    async def list(self, query: ListQuery) -> Page[Document]:
        status = None if query.status is None else query.status.value
        matching = [
            order_summary(_stored(order))
            for order in self._models.orders()
            if status in (None, order.status) and query.customer_id in (None, order.customer_id)
        ]
        field, descending = query.sort.field, query.sort.direction is Direction.DESC

        def key(summary: Document) -> tuple[SortValue, str]:
            return sort_value(summary, field), summary["orderId"]

        ordered = sorted(matching, key=key, reverse=descending)  # ties: orderId in the sort's direction
        if query.cursor is None:
            rest = ordered[query.page.offset :]
        else:
            after = (query.cursor.value, query.cursor.order_id)
            rest = [summary for summary in ordered if (key(summary) < after if descending else key(summary) > after)]
        page = rest[: query.page.limit]
        cursor = Cursor.after(page[-1], query.sort).encode() if len(rest) > len(page) else None
        return Page(page, len(matching), cursor)

    async def check(self) -> None:
        await self._models.check()


_WORD = re.compile(r"\w+")
_SPLIT_WORDS = re.compile(r"(\w+)")
_TEXT_FIELDS: dict[str, tuple[float, Callable[[_Order], list[str]]]] = {
    "items.name": (3.0, lambda order: [line.name for line in order.items]),
    "items.sku": (3.0, lambda order: [line.sku for line in order.items]),
    "shippingAddress.city": (2.0, lambda order: [order.shipping_address.city] if order.shipping_address else []),
    "cancelReason": (1.0, lambda order: [order.cancel_reason] if order.cancel_reason else []),
}
"""Fields analysed into words (all of them highlighted); orderId and customerId match the whole text exactly."""


def _words(text: str) -> set[str]:
    return {word.lower() for word in _WORD.findall(text)}


def _score(order: _Order, text: str) -> float:
    """The best field's weight times the words of `text` it contains (a `best_fields` multi_match), 0: no match."""
    wanted = _words(text)
    scores = [weight * len(wanted & _words(" ".join(values(order)))) for weight, values in _TEXT_FIELDS.values()]
    exact = 1.0 if text in (order.order_id, order.customer_id) else 0.0
    return max([*scores, exact])


def _highlights(order: _Order, text: str) -> dict[str, list[str]]:
    wanted = _words(text)

    def marked(value: str) -> str:
        # HTML-encoded around the <em> marks, as Elasticsearch's `html` encoder does: a name cannot inject markup.
        parts = _SPLIT_WORDS.split(value)  # [between, word, between, word, …]
        return "".join(
            (f"<em>{part}</em>" if part.lower() in wanted else part) if index % 2 else html.escape(part)
            for index, part in enumerate(parts)
        )

    shown: dict[str, list[str]] = {}
    for field, (_, values) in _TEXT_FIELDS.items():
        fragments = [marked(value) for value in values(order) if _words(value) & wanted]
        if fragments:
            shown[field] = fragments[:3]
    return shown


def _passes(order: _Order, filters: SearchFilters) -> bool:
    status = None if filters.status is None else filters.status.value
    return (
        status in (None, order.status)
        and filters.currency in (None, order.currency)
        and filters.customer_id in (None, order.customer_id)
    )


class InMemoryOrderSearch:
    """`OrderSearch`: best matches first, ties by orderId; newest first without a text."""

    def __init__(self, models: InMemoryReadModels) -> None:
        self._models = models

    async def search(self, query: SearchQuery) -> Page[Document]:
        candidates = [order for order in self._models.orders() if _passes(order, query.filters)]
        text = query.text
        if text is None:
            ranked = _sorted(candidates, lambda order: order.created_at, descending=True)
            page = _page(ranked, query.page.offset, query.page.limit)
            return Page([_hit(order, None, {}) for order in page], len(ranked))
        scored = [(score, order) for order in candidates if (score := _score(order, text)) > 0]
        scored.sort(key=lambda hit: (-hit[0], hit[1].order_id))
        page = _page(scored, query.page.offset, query.page.limit)
        return Page([_hit(order, score, _highlights(order, text)) for score, order in page], len(scored))

    async def check(self) -> None:
        await self._models.check()


def _hit(order: _Order, score: float | None, highlights: dict[str, list[str]]) -> Document:
    document = order_summary(_stored(order))
    document["score"] = score
    document["highlights"] = highlights
    return document


def _within(order: _Order, days: DateRange, currency: str | None) -> bool:
    day = order.created_on
    return (
        (days.first is None or day >= days.first)
        and (days.last is None or day <= days.last)
        and currency in (None, order.currency)
    )


class InMemoryAnalytics:
    """`Analytics`: the sums the ClickHouse views keep, computed from the orders' current state."""

    def __init__(self, models: InMemoryReadModels) -> None:
        self._models = models

    async def daily_revenue(self, days: DateRange, currency: str | None) -> list[Document]:
        buckets: dict[tuple[date, str], dict[str, list[Decimal]]] = defaultdict(lambda: defaultdict(list))
        for order in self._models.orders():
            if _within(order, days, currency):
                buckets[(order.created_on, order.currency)][order.status.value].append(order.total)
        rows = []
        for (day, row_currency), by_status in sorted(buckets.items()):
            counted = [total for status, totals in by_status.items() if status != _CANCELLED for total in totals]
            rows.append(
                {
                    "day": day.isoformat(),
                    "currency": row_currency,
                    "orders": len(counted),
                    "revenue": money_text(sum(counted, Decimal(0))),
                    "byStatus": {
                        status: {"orders": len(totals), "revenue": money_text(sum(totals, Decimal(0)))}
                        for status, totals in sorted(by_status.items())
                    },
                }
            )
        return rows

    async def top_skus(self, days: DateRange, currency: str | None, limit: int) -> Page[Document]:
        return self._ranked_skus([order for order in self._models.orders() if _within(order, days, currency)], limit)

    async def customer_totals(self, customer_id: str) -> list[Document]:
        per_currency: dict[str, list[_Order]] = defaultdict(list)
        for order in self._models.orders():
            if order.customer_id == customer_id:
                per_currency[order.currency].append(order)
        return [
            {
                "currency": currency,
                "orders": sum(order.status != _CANCELLED for order in orders),
                "revenue": money_text(sum((o.total for o in orders if o.status != _CANCELLED), Decimal(0))),
                "cancelled": sum(order.status == _CANCELLED for order in orders),
            }
            for currency, orders in sorted(per_currency.items())
        ]

    async def customer_top_skus(self, customer_id: str, limit: int) -> list[Document]:
        return self._ranked_skus([o for o in self._models.orders() if o.customer_id == customer_id], limit).items

    @staticmethod
    def _ranked_skus(orders: list[_Order], limit: int) -> Page[Document]:
        units: dict[str, int] = defaultdict(int)
        revenue: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        for order in orders:
            if order.status == _CANCELLED:
                continue  # a cancellation takes back every unit of the order
            for line in order.items:
                units[line.sku] += line.quantity
                revenue[line.sku][order.currency] += line.quantity * line.unit_price
        ranked = sorted((sku for sku, count in units.items() if count > 0), key=lambda sku: (-units[sku], sku))
        skus = [
            {
                "sku": sku,
                "quantity": units[sku],
                "revenue": {cur: money_text(amount) for cur, amount in sorted(revenue[sku].items()) if amount != 0},
            }
            for sku in ranked[:limit]
        ]
        return Page(skus, len(ranked))

    async def check(self) -> None:
        await self._models.check()


class InMemoryOrderSummaries:
    """`OrderSummaries`: the order's summary row (no items, no creation time)."""

    def __init__(self, models: InMemoryReadModels) -> None:
        self._models = models

    async def get(self, order_id: str) -> Document | None:
        order = self._models.order(order_id)
        if order is None:
            return None
        stored = _stored(order)
        return {**{name: stored[name] for name in SUMMARY_FIELDS}, "updatedAt": timestamp(order.updated_at)}

    async def check(self) -> None:
        await self._models.check()


class InMemoryFreshness:
    """`Freshness`: every projection applies every event at once here, so all of them stand at one position."""

    def __init__(self, models: InMemoryReadModels) -> None:
        self._models = models

    async def applied_version(self, projection: str, order_id: str) -> int | None:
        order = self._models.order(order_id) if projection in PROJECTIONS else None
        return None if order is None else order.version

    async def position(self, projection: str) -> ViewPosition:
        models = self._models
        if projection not in PROJECTIONS or models.consumed == 0:
            return ViewPosition(generation=None, position=0, last_event_ms=None, flushed_ms=None)
        return ViewPosition(
            generation=1, position=models.consumed, last_event_ms=models.newest_event_ms, flushed_ms=models.flushed_ms
        )
