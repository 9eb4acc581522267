"""What a reader asks for, parsed and checked before any store sees it (pure: no I/O).

Every bound lives here so that the routes, the OpenAPI document and the adapters agree: a query that passes these
checks is one every store can answer, which is how bad input never reaches a store and never becomes a 5xx.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Generic, TypeVar

from readapi.errors import InvalidQuery

MAX_LIMIT = 100
DEFAULT_LIMIT = 20
MAX_PAGE = 10_000
MAX_WINDOW = 10_000
"""Deepest result a paged search may reach (Elasticsearch's `index.max_result_window`): deeper pages need a narrower
query, not a bigger offset."""
MAX_QUERY_LENGTH = 200
MAX_ID_LENGTH = 200
MAX_ANALYTICS_DAYS = 3660
CURRENCY = re.compile(r"^[A-Z]{3}$")
T = TypeVar("T")


class OrderStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


class SortField(StrEnum):
    """The list's sortable fields: each is indexed or cheap to sort on in the detail store."""

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


@dataclass(frozen=True, slots=True)
class ListQuery:
    """`GET /orders`: `customer_id` is also how a customer's list is confined to their own orders."""

    status: OrderStatus | None
    customer_id: str | None
    sort: Sort
    page: PageRequest

    def key(self) -> str:
        """The query in one canonical text (cache keys)."""
        return f"s={self.status or ''}|c={self.customer_id or ''}|o={self.sort}|p={self.page.page}|l={self.page.limit}"


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


_FILTER_FIELDS = ("status", "currency", "customerId")


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
