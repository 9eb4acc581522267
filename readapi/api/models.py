"""Response bodies of the read API, as the OpenAPI document shows them (camelCase on the wire).

Answers are serialized from plain dicts on the hot path (a cached detail is spliced as bytes), so these models are
the contract rather than the serializer; the schemathesis test checks every answer against them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from readapi.queries import OrderStatus
from servicekit.address import AddressFields

T = TypeVar("T")
Money = Annotated[str, Field(pattern=r"^-?[0-9]+\.[0-9]{2}$", examples=["99.99"], description="exact decimal text")]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["EUR"])]


class ApiModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, frozen=True)


class Pagination(ApiModel):
    page: int = Field(ge=1)
    limit: int = Field(ge=0)
    total: int = Field(ge=0, description="matching results in all pages")
    total_is_estimate: bool = Field(
        False, description="lists: more orders matched than are counted exactly; `total` is the store's estimate"
    )
    cursor: str | None = Field(
        None,
        description="lists: pass as `cursor=` for the next page (keyset: stable while orders are created); "
        "absent or null on the last page",
    )


class Meta(ApiModel):
    last_updated: datetime | None = Field(
        description="detail: when the order last changed; lists and aggregates: the time of the newest event the "
        "view has applied"
    )
    version: int | None = Field(
        description="detail: the order's version shown; lists and aggregates: the view's position (events applied)"
    )
    cached: bool = Field(description="answered from the cache")
    stale: bool = Field(description="older than the requested `minVersion` (the wait timed out)")
    region: str | None = Field(description="the region that answered (`primary`, or a read region's name)")
    lag_seconds: float | None = Field(
        ge=0,
        description="how far the region's projections trail the event log (the slowest one; 0 when caught up); "
        "null while unknown",
    )


class Envelope(ApiModel, Generic[T]):
    data: T
    pagination: Pagination | None = Field(description="null for a single resource")
    meta: Meta


class OrderLine(ApiModel):
    item_id: str
    sku: str
    name: str
    quantity: int
    unit_price: Money
    line_total: Money | None = None


class ShippingAddress(ApiModel, AddressFields[str, str]):
    pass


class OrderSummary(ApiModel):
    order_id: str
    customer_id: str
    status: OrderStatus
    currency: Currency
    total: Money
    item_count: int = Field(description="number of lines")
    version: int
    created_at: datetime
    updated_at: datetime


class OrderDetail(OrderSummary):
    items: list[OrderLine]
    shipping_address: ShippingAddress | None = None
    cancel_reason: str | None = None


class StrongOrderSummary(ApiModel):
    """`consistency=strong`: the write model's own summary row (no items, no creation time)."""

    order_id: str
    customer_id: str
    status: OrderStatus
    currency: Currency
    total: Money
    item_count: int
    version: int
    updated_at: datetime


class SearchHit(OrderSummary):
    score: float | None = Field(description="relevance; null when no text was searched (newest first)")
    highlights: dict[str, list[str]] = Field(description="matching fragments per field, matches in <em>")


class StatusRevenue(ApiModel):
    orders: int
    revenue: Money


class DailyRevenue(ApiModel):
    day: date = Field(description="the UTC day the orders were created")
    currency: Currency
    orders: int = Field(description="orders not cancelled")
    revenue: Money = Field(description="sum of the totals of the orders not cancelled")
    by_status: dict[str, StatusRevenue]


class TopSku(ApiModel):
    sku: str
    quantity: int = Field(description="net units sold (removed lines and cancelled orders subtracted)")
    revenue: dict[str, Money] = Field(description="net revenue per currency")


class Health(BaseModel):
    status: str
    stores: dict[str, str] = {}


# Named subclasses, so the OpenAPI document has readable schema names.
class OrderAnswer(Envelope[OrderDetail | StrongOrderSummary]):
    """One order: the detail projection's document, or with `consistency=strong` the write model's summary."""


class OrderListAnswer(Envelope[list[OrderSummary]]):
    """A page of orders (no items)."""


class ItemsAnswer(Envelope[list[OrderLine]]):
    """A page of an order's lines."""


class SearchAnswer(Envelope[list[SearchHit]]):
    """A page of search hits."""


class DailyRevenueAnswer(Envelope[list[DailyRevenue]]):
    """Revenue per day and currency."""


class TopSkusAnswer(Envelope[list[TopSku]]):
    """SKUs by net units."""


class CurrencyTotals(ApiModel):
    currency: Currency
    orders: int = Field(ge=0, description="orders not cancelled")
    revenue: Money = Field(description="sum of the totals of the orders not cancelled")
    cancelled: int = Field(ge=0, description="orders cancelled")


class CustomerOverview(ApiModel):
    """A null part could not be read (its `meta.parts` entry says why)."""

    customer_id: str
    recent_orders: list[OrderSummary] | None = Field(description="newest first (the list read model)")
    open_orders: int | None = Field(ge=0, description="orders pending or confirmed (the list read model)")
    lifetime_totals: list[CurrencyTotals] | None = Field(description="per currency (analytics)")
    top_skus: list[TopSku] | None = Field(description="the customer's SKUs by net units (analytics)")


class PartError(ApiModel):
    reason: Literal["timeout", "unavailable"]
    detail: str = Field(description="which store, and what went wrong")


class PartMeta(ApiModel):
    source: Literal["readdb", "clickhouse"] = Field(description="the read store the part came from")
    version: int | None = Field(description="the position (events applied) of the part's projection")
    last_updated: datetime | None = Field(description="the time of the newest event the part's projection applied")
    stale: bool
    error: PartError | None = Field(None, description="present when the part is missing (its data is null)")


class OverviewMeta(Meta):
    partial: bool = Field(description="some part is missing: see `parts`")
    parts: dict[str, PartMeta] = Field(description="per part: where it came from and how fresh it is")


class CustomerOverviewAnswer(ApiModel):
    """One customer's overview, composed from several read models fetched concurrently."""

    data: CustomerOverview
    pagination: None = Field(description="always null")
    meta: OverviewMeta
