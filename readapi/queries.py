"""What a reader asks for, parsed and checked before any store sees it (pure: no I/O).

Every bound lives here so that the routes, the OpenAPI document and the adapters agree: a query that passes these
checks is one every store can answer, which is how bad input never reaches a store and never becomes a 5xx.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Generic, TypeVar

from readapi.errors import InvalidQuery

MAX_LIMIT = 100
DEFAULT_LIMIT = 20
MAX_PAGE = 10_000
MAX_WINDOW = 10_000
"""Deepest result a paged search may reach (Elasticsearch's `index.max_result_window`): deeper pages need a narrower
query, not a bigger offset."""
MAX_QUERY_LENGTH = 200
MAX_ID_LENGTH = 200
MAX_CURSOR_LENGTH = 400
MAX_FILTERS_LENGTH = 300
MAX_ANALYTICS_DAYS = 3660
CURRENCY = re.compile(r"^[A-Z]{3}$")
T = TypeVar("T")


class OrderStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


class SortField(StrEnum):
    """The list's sortable fields: the list store has an index for each, under every filter."""

    CREATED_AT = "createdAt"
    UPDATED_AT = "updatedAt"
    TOTAL = "total"
    STATUS = "status"
    ITEM_COUNT = "itemCount"
    VERSION = "version"


class Direction(StrEnum):
    ASC = "asc"
    DESC = "desc"


class Consistency(StrEnum):
    EVENTUAL = "eventual"
    STRONG = "strong"


@dataclass(frozen=True, slots=True)
class Sort:
    field: SortField
    direction: Direction

    @classmethod
    def parse(cls, text: str) -> Sort:
        """`createdAt:desc` (direction optional, `asc` by default)."""
        name, _, direction = text.partition(":")
        try:
            field = SortField(name)
        except ValueError:
            allowed = ", ".join(f.value for f in SortField)
            raise InvalidQuery.of("sort", f"cannot sort by {name[:50]!r}; sortable fields: {allowed}") from None
        try:
            return cls(field, Direction(direction or "asc"))
        except ValueError:
            raise InvalidQuery.of("sort", f"direction must be asc or desc, not {direction[:20]!r}") from None

    def __str__(self) -> str:
        return f"{self.field.value}:{self.direction.value}"


DEFAULT_SORT = Sort(SortField.CREATED_AT, Direction.DESC)
SORT_PATTERN = f"^({'|'.join(f.value for f in SortField)})(:({'|'.join(d.value for d in Direction)})?)?$"
"""Every text `Sort.parse` takes (a missing or empty direction is `asc`), for the OpenAPI document."""


@dataclass(frozen=True, slots=True)
class PageRequest:
    page: int
    limit: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    cursor: str | None = None
    """Where the next page starts (keyset), None on the last page (lists only)."""
    estimated: bool = False
    """`total` is the store's estimate: more matched than it counts exactly (lists only)."""


SortValue = str | int
"""A sort field's value as a cursor holds it: wire timestamps and statuses as text, cents and counts as integers."""


def sort_value(summary: dict[str, Any], field: SortField) -> SortValue:
    """The value an order summary (the API's shape) sorts by; timestamps as wire text (`…Z`, fixed width, so they
    compare as they sort) and money as integer cents, whatever the currency."""
    if field is SortField.TOTAL:
        return int(Decimal(summary["total"]) * 100)
    value = summary[field.value]
    return value if isinstance(value, str | int) else str(value)


@dataclass(frozen=True, slots=True)
class Cursor:
    """A keyset position: the page starts after the order with this sort value and orderId, in the sort's order (ties
    are broken by orderId in the sort's direction). Opaque to clients; bound to the sort it was made for."""

    sort: Sort
    value: SortValue
    order_id: str

    @classmethod
    def after(cls, summary: dict[str, Any], sort: Sort) -> Cursor:
        return cls(sort, sort_value(summary, sort.field), summary["orderId"])

    def encode(self) -> str:
        raw = json.dumps([str(self.sort), self.value, self.order_id], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, sort: Sort) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            made_for, value, order_id = json.loads(raw)
        except (binascii.Error, ValueError, TypeError):
            raise InvalidQuery.of("cursor", "not a cursor this API gave out") from None
        if made_for != str(sort):
            raise InvalidQuery.of("cursor", f"the cursor belongs to sort={str(made_for)[:50]}, not sort={sort}")
        if not isinstance(order_id, str) or not isinstance(value, str | int) or isinstance(value, bool):
            raise InvalidQuery.of("cursor", "not a cursor this API gave out")
        _check_value(sort.field, value)
        return cls(sort, value, order_id)


def _check_value(field: SortField, value: SortValue) -> None:
    """A decoded cursor's value must be one the store can compare with the field (bad input never reaches it)."""
    numeric = field in (SortField.TOTAL, SortField.ITEM_COUNT, SortField.VERSION)
    valid = isinstance(value, int) and abs(value) <= 2**62 if numeric else isinstance(value, str) and len(value) <= 40
    if valid and field in (SortField.CREATED_AT, SortField.UPDATED_AT):
        valid = bool(_WIRE_TIME.fullmatch(str(value)))
        try:
            datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            valid = False
    if not valid:
        raise InvalidQuery.of("cursor", "not a cursor this API gave out")


_WIRE_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


@dataclass(frozen=True, slots=True)
class ListQuery:
    """`GET /orders`: `customer_id` is also how a customer's list is confined to their own orders. With a `cursor`,
    the page starts after it (keyset) instead of at `page`'s offset."""

    status: OrderStatus | None
    customer_id: str | None
    sort: Sort
    page: PageRequest
    cursor: Cursor | None = None

    def key(self) -> str:
        """The query in one canonical text (cache keys)."""
        after = self.cursor.encode() if self.cursor else ""
        return (
            f"s={self.status or ''}|c={self.customer_id or ''}|o={self.sort}|p={self.page.page}|l={self.page.limit}"
            f"|a={after}"
        )


@dataclass(frozen=True, slots=True)
class SearchFilters:
    status: OrderStatus | None = None
    currency: str | None = None
    customer_id: str | None = None

    @classmethod
    def parse(cls, text: str | None) -> SearchFilters:
        """`status:pending,currency:EUR` — each field once, values checked like the list's filters."""
        if not text:
            return cls()
        values: dict[str, str] = {}
        for part in text.split(","):
            name, separator, value = part.partition(":")
            if not separator or not name or not value:
                raise InvalidQuery.of("filters", f"each filter must be field:value, not {part[:50]!r}")
            if name not in _FILTER_FIELDS:
                allowed = ", ".join(_FILTER_FIELDS)
                raise InvalidQuery.of("filters", f"cannot filter on {name[:50]!r}; filterable fields: {allowed}")
            if name in values:
                raise InvalidQuery.of("filters", f"{name} is given twice")
            values[name] = value
        return cls(
            status=_status(values.get("status"), "filters"),
            currency=_currency(values.get("currency"), "filters"),
            customer_id=_identifier(values.get("customerId"), "filters"),
        )

    def key(self) -> str:
        return f"s={self.status or ''}|cur={self.currency or ''}|c={self.customer_id or ''}"


_FILTER_VALUES = {
    "status": "(" + "|".join(status.value for status in OrderStatus) + ")",
    "currency": CURRENCY.pattern.removeprefix("^").removesuffix("$"),
    "customerId": f"[^,]{{1,{MAX_ID_LENGTH}}}",
}
"""What `SearchFilters.parse` takes as each field's value (the checks of `_status`, `_currency`, `_identifier`)."""
_FILTER_FIELDS = tuple(_FILTER_VALUES)


def _filters_pattern() -> str:
    """Every text `SearchFilters.parse` takes, as one regular expression: empty, or each field at most once, in any
    order. OpenAPI has no "each at most once", so the orders are spelled out (15 of them for 3 fields)."""
    clauses = {name: f"{name}:{value}" for name, value in _FILTER_VALUES.items()}
    orders = [
        ",".join(clauses[name] for name in names)
        for count in range(1, len(clauses) + 1)
        for names in itertools.permutations(clauses, count)
    ]
    return f"^({'|'.join(orders)})?$"


FILTERS_PATTERN = _filters_pattern()


@dataclass(frozen=True, slots=True)
class SearchQuery:
    text: str | None
    filters: SearchFilters
    page: PageRequest

    def key(self) -> str:
        return f"q={self.text or ''}|{self.filters.key()}|p={self.page.page}|l={self.page.limit}"


@dataclass(frozen=True, slots=True)
class DateRange:
    """Inclusive days (an order counts on the UTC day it was created)."""

    first: date | None
    last: date | None

    def __post_init__(self) -> None:
        if self.first and self.last:
            if self.first > self.last:
                raise InvalidQuery.of("from", "`from` must not be after `to`")
            if (self.last - self.first).days > MAX_ANALYTICS_DAYS:
                raise InvalidQuery.of("to", f"a range spans at most {MAX_ANALYTICS_DAYS} days")


def page_request(page: int, limit: int, *, window: int | None = None) -> PageRequest:
    request = PageRequest(page, limit)
    if window is not None and request.offset + limit > window:
        raise InvalidQuery.of("page", f"page * limit may not exceed {window}; narrow the query instead")
    return request


def search_text(text: str | None) -> str | None:
    if text is None or not text.strip():
        return None
    if len(text) > MAX_QUERY_LENGTH:
        raise InvalidQuery.of("q", f"at most {MAX_QUERY_LENGTH} characters")
    return text.strip()


def _status(value: str | None, field: str) -> OrderStatus | None:
    if value is None:
        return None
    try:
        return OrderStatus(value)
    except ValueError:
        allowed = ", ".join(s.value for s in OrderStatus)
        raise InvalidQuery.of(field, f"status must be one of {allowed}, not {value[:30]!r}") from None


def _currency(value: str | None, field: str) -> str | None:
    if value is not None and not CURRENCY.fullmatch(value):
        raise InvalidQuery.of(field, f"currency must be three capital letters (ISO 4217), not {value[:30]!r}")
    return value


def _identifier(value: str | None, field: str) -> str | None:
    if value is not None and len(value) > MAX_ID_LENGTH:
        raise InvalidQuery.of(field, f"customerId is at most {MAX_ID_LENGTH} characters")
    return value
