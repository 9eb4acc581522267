"""The contracts of the read API's ports (`readapi.ports`), specified once; each adapter's test module subclasses them.

Each contract is about the orders its adapter was fed (through the real projections into the real store, or by
`InMemoryReadModels.apply`), handed to the tests as the `fed` fixture; what is checked is what the routes and
`readapi.reads` rely on, observed through the port alone and computed from the orders' events.
"""

from __future__ import annotations

import html
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

import pytest

from readapi.ports import (
    Analytics,
    Document,
    Freshness,
    OrderLists,
    OrderSearch,
    OrderSummaries,
    OrderViews,
    Readiness,
)
from readapi.queries import (
    DEFAULT_SORT,
    Cursor,
    DateRange,
    Direction,
    ListQuery,
    OrderStatus,
    Page,
    PageRequest,
    SearchFilters,
    SearchQuery,
    Sort,
    SortField,
)
from schemas.events import ShippingAddress
from streams.contract import PROJECTIONS
from tests.readapi.seed import SCRIPT_NAME
from tests.streams.history import START, History, line

CENT = Decimal("0.01")
SUMMARY_KEYS = {"orderId", "customerId", "status", "currency", "total", "itemCount", "version"} | {
    "createdAt",
    "updatedAt",
}


class ViewsUnderTest(OrderViews, Readiness, Protocol): ...


class ListsUnderTest(OrderLists, Readiness, Protocol): ...


class SearchUnderTest(OrderSearch, Readiness, Protocol): ...


class AnalyticsUnderTest(Analytics, Readiness, Protocol): ...


class SummariesUnderTest(OrderSummaries, Readiness, Protocol): ...


@dataclass(frozen=True)
class FedOrders:
    """The orders an adapter under test was fed: varied ones, and a few whose words search looks for."""

    histories: list[History]
    search: dict[str, History]

    @property
    def everything(self) -> list[History]:
        return self.histories + list(self.search.values())


# What the events say each answer must be.


def money(amount: Decimal) -> str:
    return format(amount.quantize(CENT), "f")


def wire_time(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def created_at(history: History) -> datetime:
    return history.events[0].timestamp


def expected_summary(history: History) -> Document:
    return {
        "orderId": history.order_id,
        "customerId": history.customer_id,
        "status": history.status.value,
        "currency": history.currency,
        "total": money(history.total),
        "itemCount": len(history.items),
        "version": history.version,
        "createdAt": wire_time(created_at(history)),
        "updatedAt": wire_time(history.events[-1].timestamp),
    }


def expected_detail(history: History) -> Document:
    detail = expected_summary(history)
    detail["items"] = [
        {
            "itemId": item.item_id,
            "sku": item.sku,
            "name": item.name,
            "quantity": item.quantity,
            "unitPrice": money(item.unit_price),
            "lineTotal": money(item.quantity * item.unit_price),
        }
        for item in history.items
    ]
    created = history.events[0].data
    address = getattr(created, "shipping_address", None)
    if isinstance(address, ShippingAddress):
        wire = {"line1": address.line1, "line2": address.line2, "city": address.city, "region": address.region,
                "postalCode": address.postal_code, "country": address.country}  # fmt: skip
        detail["shippingAddress"] = {name: value for name, value in wire.items() if value is not None}
    reason = getattr(history.events[-1].data, "reason", None)
    if reason:
        detail["cancelReason"] = reason
    return detail


SORT_KEYS: dict[SortField, Callable[[History], Any]] = {
    SortField.CREATED_AT: created_at,
    SortField.UPDATED_AT: lambda history: history.events[-1].timestamp,
    SortField.TOTAL: lambda history: history.total,
    SortField.STATUS: lambda history: history.status.value,
    SortField.ITEM_COUNT: lambda history: len(history.items),
    SortField.VERSION: lambda history: history.version,
}


def expected_order(histories: list[History], key: Callable[[History], Any], *, descending: bool) -> list[str]:
    """Ids sorted by `key` in the direction asked, ties broken by orderId ascending (search)."""
    by_id = sorted(histories, key=lambda history: history.order_id)
    return [history.order_id for history in sorted(by_id, key=key, reverse=descending)]


def expected_list_order(histories: list[History], key: Callable[[History], Any], *, descending: bool) -> list[str]:
    """Ids sorted by `key` in the direction asked, ties broken by orderId in the same direction (lists: so that one
    index serves both directions, and a keyset cursor is one row comparison)."""
    ordered = sorted(histories, key=lambda history: (key(history), history.order_id), reverse=descending)
    return [history.order_id for history in ordered]


def counted(history: History, days: DateRange, currency: str | None) -> bool:
    day = created_at(history).date()
    return (
        (days.first is None or day >= days.first)
        and (days.last is None or day <= days.last)
        and currency in (None, history.currency)
    )


def expected_daily_revenue(histories: list[History], days: DateRange, currency: str | None) -> list[Document]:
    buckets: dict[tuple[str, str], dict[str, list[Decimal]]] = defaultdict(lambda: defaultdict(list))
    for history in histories:
        if counted(history, days, currency):
            day = created_at(history).date().isoformat()
            buckets[(day, history.currency)][history.status.value].append(history.total)
    rows = []
    for (day, row_currency), by_status in sorted(buckets.items()):
        earning = [total for status, totals in by_status.items() if status != "cancelled" for total in totals]
        rows.append(
            {
                "day": day,
                "currency": row_currency,
                "orders": len(earning),
                "revenue": money(sum(earning, Decimal(0))),
                "byStatus": {
                    status: {"orders": len(totals), "revenue": money(sum(totals, Decimal(0)))}
                    for status, totals in by_status.items()
                },
            }
        )
    return rows


def expected_top_skus(histories: list[History], days: DateRange, currency: str | None) -> list[Document]:
    """Every SKU with net units > 0 in the orders not cancelled, most units first, ties by SKU."""
    units: dict[str, int] = defaultdict(int)
    revenue: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for history in histories:
        if history.status.value == "cancelled" or not counted(history, days, currency):
            continue
        for item in history.items:
            units[item.sku] += item.quantity
            revenue[item.sku][history.currency] += item.quantity * item.unit_price
    ranked = sorted((sku for sku, count in units.items() if count > 0), key=lambda sku: (-units[sku], sku))
    return [
        {"sku": sku, "quantity": units[sku], "revenue": {cur: money(amount) for cur, amount in revenue[sku].items()}}
        for sku in ranked
    ]


def list_query(
    *,
    sort: Sort = DEFAULT_SORT,
    page: int = 1,
    limit: int = 20,
    status: str | None = None,
    customer: str | None = None,
    cursor: str | None = None,
) -> ListQuery:
    after = Cursor.decode(cursor, sort) if cursor else None
    return ListQuery(OrderStatus(status) if status else None, customer, sort, PageRequest(page, limit), after)


def search_query(text: str | None = None, *, page: int = 1, limit: int = 20, **filters: Any) -> SearchQuery:
    return SearchQuery(text, SearchFilters(**filters), PageRequest(page, limit))


async def every_page(read: Callable[[int], Any], limit: int) -> list[Document]:
    """All items of a paged read (`read(page)` → Page), checking that every page agrees on the total."""
    seen: list[Document] = []
    page_number = 1
    while True:
        page: Page[Document] = await read(page_number)
        seen += page.items
        if page_number * limit >= page.total:
            assert len(seen) == page.total
            return seen
        assert len(page.items) == limit
        page_number += 1


async def listed(lists: OrderLists, *, limit: int = 25, **query: Any) -> list[Document]:
    """Every order of a list query, page by page."""
    return await every_page(lambda page: lists.list(list_query(page=page, limit=limit, **query)), limit)


async def followed(lists: OrderLists, *, limit: int = 25, **query: Any) -> list[Document]:
    """Every order of a list query, following the cursors from the first page to the last."""
    seen: list[Document] = []
    cursor: str | None = None
    while True:
        page = await lists.list(list_query(limit=limit, cursor=cursor, **query))
        seen += page.items
        if page.cursor is None:
            return seen
        assert len(page.items) == limit
        cursor = page.cursor


class OrderViewsContract:
    """Subclasses provide `views` (the adapter) and `fed` (the orders it was fed)."""

    @pytest.fixture
    def views(self) -> ViewsUnderTest:
        raise NotImplementedError

    @pytest.fixture
    def fed(self) -> FedOrders:
        raise NotImplementedError

    async def test_get_returns_the_order_as_its_events_built_it(self, views: ViewsUnderTest, fed: FedOrders) -> None:
        for history in fed.everything:
            assert await views.get(history.order_id) == expected_detail(history)
        blue = await views.get(fed.search["blue"].order_id)
        assert blue is not None
        assert blue["shippingAddress"]["city"] == "Lisbon"

    async def test_get_of_an_unknown_order_is_none(self, views: ViewsUnderTest) -> None:
        assert await views.get(f"order-{uuid.uuid4().hex[:12]}") is None
        assert await views.get(str(uuid.uuid4())) is None

    async def test_the_store_answers_readiness_checks(self, views: ViewsUnderTest) -> None:
        await views.check()


class OrderListsContract:
    """Subclasses provide `lists` (the adapter) and `fed` (the orders it was fed)."""

    @pytest.fixture
    def lists(self) -> ListsUnderTest:
        raise NotImplementedError

    @pytest.fixture
    def fed(self) -> FedOrders:
        raise NotImplementedError

    @pytest.mark.parametrize("field", list(SortField))
    @pytest.mark.parametrize("direction", list(Direction))
    async def test_the_list_is_sorted_by_the_field_then_by_order_id_in_the_same_direction(
        self, lists: ListsUnderTest, fed: FedOrders, field: SortField, direction: Direction
    ) -> None:
        orders = await listed(lists, sort=Sort(field, direction))
        want = expected_list_order(fed.everything, SORT_KEYS[field], descending=direction is Direction.DESC)
        assert [order["orderId"] for order in orders] == want

    async def test_list_items_are_summaries_without_lines(self, lists: ListsUnderTest, fed: FedOrders) -> None:
        orders = await listed(lists, limit=50)
        by_id = {history.order_id: history for history in fed.everything}
        assert {order["orderId"]: order for order in orders} == {
            order_id: expected_summary(history) for order_id, history in by_id.items()
        }

    async def test_status_and_customer_filters_select_exactly_the_matching_orders(
        self, lists: ListsUnderTest, fed: FedOrders
    ) -> None:
        for status in OrderStatus:
            want = {h.order_id for h in fed.everything if h.status.value == status.value}
            assert want, status
            got = await listed(lists, status=status.value, limit=10)
            assert {order["orderId"] for order in got} == want
        customer = fed.histories[2].customer_id
        got = await listed(lists, status="confirmed", customer=customer, limit=10)
        want = {h.order_id for h in fed.everything if h.customer_id == customer and h.status.value == "confirmed"}
        assert {order["orderId"] for order in got} == want

    async def test_pages_know_the_total_and_end_empty(self, lists: ListsUnderTest, fed: FedOrders) -> None:
        total = len(fed.everything)
        last_page = -(-total // 10)
        last = await lists.list(list_query(page=last_page, limit=10))
        assert (len(last.items), last.total) == (total - 10 * (last_page - 1), total)
        assert await lists.list(list_query(page=last_page + 1, limit=10)) == Page([], total)
        assert await lists.list(list_query(customer="nobody-at-all")) == Page([], 0)

    async def test_the_default_sort_is_newest_first(self, lists: ListsUnderTest, fed: FedOrders) -> None:
        newest = max(fed.everything, key=created_at)
        page = await lists.list(list_query(limit=1))
        assert [order["orderId"] for order in page.items] == [newest.order_id]

    @pytest.mark.parametrize("field", list(SortField))
    @pytest.mark.parametrize("direction", list(Direction))
    async def test_cursors_walk_the_same_order_as_pages(
        self, lists: ListsUnderTest, fed: FedOrders, field: SortField, direction: Direction
    ) -> None:
        sort = Sort(field, direction)
        want = expected_list_order(fed.everything, SORT_KEYS[field], descending=direction is Direction.DESC)
        assert [order["orderId"] for order in await followed(lists, sort=sort, limit=7)] == want
        customer = fed.histories[1].customer_id
        mine = [h for h in fed.everything if h.customer_id == customer and h.status.value != "pending"]
        for status in ("confirmed", "shipped", "cancelled"):
            got = await followed(lists, sort=sort, limit=2, customer=customer, status=status)
            ours = [h for h in mine if h.status.value == status]
            expected = expected_list_order(ours, SORT_KEYS[field], descending=direction is Direction.DESC)
            assert [order["orderId"] for order in got] == expected

    async def test_the_last_page_has_no_cursor_and_a_cursor_page_knows_the_total(
        self, lists: ListsUnderTest, fed: FedOrders
    ) -> None:
        total = len(fed.everything)
        everything = await lists.list(list_query(limit=100))
        assert (everything.cursor, everything.total, everything.estimated) == (None, total, False)
        first = await lists.list(list_query(limit=10))
        assert first.cursor is not None
        second = await lists.list(list_query(limit=10, cursor=first.cursor))
        assert second.total == total
        assert [o["orderId"] for o in first.items + second.items] == [o["orderId"] for o in everything.items[:20]]

    async def test_the_store_answers_readiness_checks(self, lists: ListsUnderTest) -> None:
        await lists.check()


class OrderSearchContract:
    """Subclasses provide `search` (the adapter) and `fed` (the orders it was fed)."""

    @pytest.fixture
    def search(self) -> SearchUnderTest:
        raise NotImplementedError

    @pytest.fixture
    def fed(self) -> FedOrders:
        raise NotImplementedError

    async def test_the_best_match_comes_first_with_highlights(self, search: SearchUnderTest, fed: FedOrders) -> None:
        found = await search.search(search_query("blue mug"))
        ids = [hit["orderId"] for hit in found.items]
        assert ids[0] == fed.search["blue"].order_id
        assert set(ids) == {fed.search["blue"].order_id, fed.search["red"].order_id}
        assert found.total == 2
        scores = [hit["score"] for hit in found.items]
        assert all(isinstance(score, float) and score > 0 for score in scores)
        assert scores == sorted(scores, reverse=True)
        assert any("<em>Blue</em>" in fragment for fragment in found.items[0]["highlights"]["items.name"])

    async def test_hits_are_order_summaries_with_score_and_highlights(
        self, search: SearchUnderTest, fed: FedOrders
    ) -> None:
        teapot = fed.search["teapot"]
        found = await search.search(search_query("teapot"))
        assert found.total == 1
        hit = found.items[0]
        assert {name: hit[name] for name in SUMMARY_KEYS} == expected_summary(teapot)
        assert set(hit) == SUMMARY_KEYS | {"score", "highlights"}
        assert hit["highlights"] == {"items.name": ["Cast iron <em>teapot</em>"]}

    async def test_highlights_are_html_encoded_so_a_name_cannot_inject_markup(
        self, search: SearchUnderTest, fed: FedOrders
    ) -> None:
        found = await search.search(search_query("lamp script"))
        assert [hit["orderId"] for hit in found.items] == [fed.search["lamp"].order_id]
        (fragment,) = found.items[0]["highlights"]["items.name"]
        text = fragment.replace("<em>", "").replace("</em>", "")
        assert not {"<", ">", '"'} & set(text)
        assert "&lt;" in text
        assert html.unescape(text) == SCRIPT_NAME
        assert "<em>lamp</em>" in fragment

    async def test_a_city_or_a_cancel_reason_finds_the_order(self, search: SearchUnderTest, fed: FedOrders) -> None:
        by_city = await search.search(search_query("lisbon"))
        assert [hit["orderId"] for hit in by_city.items] == [fed.search["blue"].order_id]
        by_reason = await search.search(search_query("elsewhere"))
        assert [hit["orderId"] for hit in by_reason.items] == [fed.search["red"].order_id]
        assert by_reason.items[0]["highlights"] == {"cancelReason": ["found a blue one <em>elsewhere</em>"]}

    async def test_an_order_or_customer_id_matches_exactly(self, search: SearchUnderTest, fed: FedOrders) -> None:
        teapot = fed.search["teapot"]
        by_order = await search.search(search_query(teapot.order_id))
        assert [hit["orderId"] for hit in by_order.items] == [teapot.order_id]
        by_customer = await search.search(search_query(teapot.customer_id, limit=10))
        assert {hit["orderId"] for hit in by_customer.items} == {h.order_id for h in fed.search.values()}

    async def test_filters_narrow_the_hits(self, search: SearchUnderTest, fed: FedOrders) -> None:
        cancelled = await search.search(search_query("mug", status=OrderStatus.CANCELLED))
        assert [hit["orderId"] for hit in cancelled.items] == [fed.search["red"].order_id]
        customer = fed.histories[0].customer_id
        mine = await search.search(search_query("product", customer_id=customer, limit=100))
        want = {h.order_id for h in fed.histories if h.customer_id == customer}
        assert {hit["orderId"] for hit in mine.items} == want

    async def test_without_text_hits_are_newest_first_without_scores(
        self, search: SearchUnderTest, fed: FedOrders
    ) -> None:
        usd = [h for h in fed.everything if h.currency == "USD" and h.status.value == "confirmed"]
        found = await search.search(search_query(currency="USD", status=OrderStatus.CONFIRMED, limit=100))
        assert found.total == len(usd)
        assert [hit["orderId"] for hit in found.items] == expected_order(usd, created_at, descending=True)
        assert all(hit["score"] is None and hit["highlights"] == {} for hit in found.items)
        everything = await every_page(lambda page: search.search(search_query(page=page, limit=30)), 30)
        assert [hit["orderId"] for hit in everything] == expected_order(fed.everything, created_at, descending=True)

    async def test_pages_do_not_overlap_and_know_the_total(self, search: SearchUnderTest, fed: FedOrders) -> None:
        pages = [await search.search(search_query("product", page=page, limit=10)) for page in (1, 2, 3)]
        ids = [hit["orderId"] for page in pages for hit in page.items]
        assert len(ids) == len(set(ids)) == 30
        assert {page.total for page in pages} == {len(fed.histories)}  # every generated line is a "Product …"

    async def test_text_that_matches_nothing_finds_nothing(self, search: SearchUnderTest) -> None:
        assert await search.search(search_query("zebra xylophone")) == Page([], 0)

    async def test_the_store_answers_readiness_checks(self, search: SearchUnderTest) -> None:
        await search.check()


class AnalyticsContract:
    """Subclasses provide `analytics` (the adapter) and `fed` (the orders it was fed)."""

    @pytest.fixture
    def analytics(self) -> AnalyticsUnderTest:
        raise NotImplementedError

    @pytest.fixture
    def fed(self) -> FedOrders:
        raise NotImplementedError

    async def test_daily_revenue_is_the_sum_of_the_orders_per_day_and_currency(
        self, analytics: AnalyticsUnderTest, fed: FedOrders
    ) -> None:
        everything = DateRange(None, None)
        rows = await analytics.daily_revenue(everything, None)
        assert rows == expected_daily_revenue(fed.everything, everything, None)
        assert [(row["day"], row["currency"]) for row in rows] == sorted((row["day"], row["currency"]) for row in rows)

    async def test_daily_revenue_keeps_to_the_days_and_currency_asked(
        self, analytics: AnalyticsUnderTest, fed: FedOrders
    ) -> None:
        one_day = DateRange(created_at(fed.histories[10]).date(), created_at(fed.histories[10]).date())
        currency = fed.histories[10].currency
        rows = await analytics.daily_revenue(one_day, currency)
        assert rows == expected_daily_revenue(fed.everything, one_day, currency)
        assert len(rows) == 1
        week = DateRange(date(2025, 3, 3), date(2025, 3, 9))
        assert await analytics.daily_revenue(week, None) == expected_daily_revenue(fed.everything, week, None)
        before = DateRange(None, START.date() - timedelta(days=1))
        assert await analytics.daily_revenue(before, None) == []

    async def test_top_skus_rank_net_units_of_orders_not_cancelled(
        self, analytics: AnalyticsUnderTest, fed: FedOrders
    ) -> None:
        everything = DateRange(None, None)
        want = expected_top_skus(fed.everything, everything, None)
        assert await analytics.top_skus(everything, None, 100) == Page(want, len(want))
        assert await analytics.top_skus(everything, None, 3) == Page(want[:3], len(want))

    async def test_top_skus_keep_to_the_days_and_currency_asked(
        self, analytics: AnalyticsUnderTest, fed: FedOrders
    ) -> None:
        week = DateRange(date(2025, 3, 3), date(2025, 3, 9))
        for days, currency in ((week, None), (DateRange(None, None), "GBP"), (week, "EUR")):
            want = expected_top_skus(fed.everything, days, currency)
            assert want, (days, currency)
            assert await analytics.top_skus(days, currency, 100) == Page(want, len(want))
        before = DateRange(None, START.date() - timedelta(days=1))
        assert await analytics.top_skus(before, None, 10) == Page([], 0)

    async def test_the_store_answers_readiness_checks(self, analytics: AnalyticsUnderTest) -> None:
        await analytics.check()


def summary_histories() -> list[History]:
    """Orders under the writer's UUID ids, one in each state a command can leave it in."""
    at = START + timedelta(days=40)
    histories = [History(order_id=str(uuid.uuid4()), customer_id="customer-strong", at=at) for _ in range(5)]
    pending, changed, confirmed, shipped, cancelled = histories
    pending.created()
    changed.created(line("S-1", 1, "3.10"), line("S-2", 2, "0.45"))
    changed.added(line("S-3", 3, "1.00"))
    changed.removed(0)
    confirmed.created()
    confirmed.confirmed()
    shipped.created()
    shipped.confirmed()
    shipped.shipped()
    cancelled.created()
    cancelled.cancelled("no longer needed")
    return histories


def expected_summary_row(history: History) -> Document:
    """The sync projection's row: a summary without the creation time."""
    row = expected_summary(history)
    del row["createdAt"]
    return row


class OrderSummariesContract:
    """Subclasses provide `summaries` (the adapter) and `summarized` (the `summary_histories()` it was fed)."""

    @pytest.fixture
    def summaries(self) -> SummariesUnderTest:
        raise NotImplementedError

    @pytest.fixture
    def summarized(self) -> list[History]:
        raise NotImplementedError

    async def test_get_returns_the_orders_summary_row(
        self, summaries: SummariesUnderTest, summarized: list[History]
    ) -> None:
        for history in summarized:
            assert await summaries.get(history.order_id) == expected_summary_row(history)

    async def test_an_unknown_order_is_none(self, summaries: SummariesUnderTest) -> None:
        assert await summaries.get(str(uuid.uuid4())) is None

    async def test_an_id_that_no_order_can_have_is_none_not_an_error(self, summaries: SummariesUnderTest) -> None:
        assert await summaries.get("not-a-uuid") is None

    async def test_the_store_answers_readiness_checks(self, summaries: SummariesUnderTest) -> None:
        await summaries.check()


class FreshnessContract:
    """Subclasses provide `freshness` (the adapter) and `fed`: every projection has applied all of those orders."""

    @pytest.fixture
    def freshness(self) -> Freshness:
        raise NotImplementedError

    @pytest.fixture
    def fed(self) -> FedOrders:
        raise NotImplementedError

    @pytest.mark.parametrize("projection", PROJECTIONS)
    async def test_applied_version_is_the_last_version_applied(
        self, freshness: Freshness, fed: FedOrders, projection: str
    ) -> None:
        for history in fed.everything:
            assert await freshness.applied_version(projection, history.order_id) == history.version
        assert await freshness.applied_version(projection, f"order-{uuid.uuid4().hex[:12]}") is None

    @pytest.mark.parametrize("projection", PROJECTIONS)
    async def test_the_position_counts_the_events_applied(
        self, freshness: Freshness, fed: FedOrders, projection: str
    ) -> None:
        position = await freshness.position(projection)
        assert position.generation is not None
        assert position.position == sum(len(history.events) for history in fed.everything)
        newest = max(event.timestamp for history in fed.everything for event in history.events)
        assert position.last_event_ms == int(newest.timestamp() * 1000)
        assert position.flushed_ms is not None

    async def test_a_projection_that_never_ran_has_no_position(self, freshness: Freshness) -> None:
        position = await freshness.position("orders-never-projected")
        assert (position.generation, position.position, position.last_event_ms) == (None, 0, None)
        assert await freshness.applied_version("orders-never-projected", "order-1") is None
