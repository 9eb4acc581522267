"""Analytics read model (ClickHouse): one fact row per event, carrying the order after it and what changed.

The facts table is the source of everything else: materialized views derive `orders_latest` (ReplacingMergeTree on
the position), daily revenue by status and currency, and top SKUs (see `streams.sinks.clickhouse_schema`). So each
fact carries deltas the views can sum without lookups:

- daily revenue is keyed by the order's creation day, current status and currency: an event moves the order out of
  its previous (status, total) bucket and into the new one (`previous_status`, `previous_total`);
- SKU deltas are units and revenue per SKU that the event added (+) or took away (-): lines created, added, removed,
  or all lines of a cancelled order.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from schemas.envelope import EventEnvelope
from schemas.events import LineItem, OrderCancelled, OrderCreated, OrderItemAdded, OrderItemRemoved, OrderStatus
from schemas.order_state import ZERO
from streams.contract import ANALYTICS
from streams.order_view import OrderView
from streams.positions import Position
from streams.projection import Projection
from streams.sink import Put, Stored

_SkuDelta = tuple[str, int, Decimal]


class AnalyticsProjection(Projection):
    name = ANALYTICS
    store = "clickhouse"

    def records(self, before: OrderView | None, after: OrderView, envelope: EventEnvelope) -> list[Put]:
        return [Put(after.order_id, after.position, fact_row(before, after, envelope))]

    def state(self, stored: Stored) -> OrderView:
        row = stored.document
        items = tuple(
            LineItem(item_id=item_id, sku=sku, name=name, quantity=quantity, unit_price=price)
            for item_id, sku, name, quantity, price in zip(
                row["item_ids"],
                row["item_skus"],
                row["item_names"],
                row["item_quantities"],
                row["item_unit_prices"],
                strict=True,
            )
        )
        return OrderView(
            order_id=row["aggregate_id"],
            customer_id=row["customer_id"],
            currency=row["currency"],
            status=OrderStatus(row["status"]),
            items=items,
            total=row["total"],
            created_at=row["created_at"],
            updated_at=row["event_time"],
            position=Position(row["version"], row["sequence"]),
            last_event_id=row["event_id"],
            last_event_type=row["event_type"],
            cancel_reason=row["cancel_reason"] or None,
        )


def fact_row(before: OrderView | None, after: OrderView, envelope: EventEnvelope) -> dict[str, Any]:
    deltas = sku_deltas(before, envelope)
    return {
        "event_id": envelope.event_id,
        "event_type": envelope.event_type,
        "aggregate_id": envelope.aggregate_id,
        "version": envelope.version,
        "sequence": envelope.sequence,
        "event_time": envelope.timestamp,
        "correlation_id": envelope.correlation_id,
        "causation_id": envelope.causation_id,
        "customer_id": after.customer_id,
        "currency": after.currency,
        "status": after.status.value,
        "previous_status": before.status.value if before else "",
        "total": after.total,
        "previous_total": before.total if before else ZERO,
        "created_at": after.created_at,
        "item_count": len(after.items),
        "item_ids": [item.item_id for item in after.items],
        "item_skus": [item.sku for item in after.items],
        "item_names": [item.name for item in after.items],
        "item_quantities": [item.quantity for item in after.items],
        "item_unit_prices": [item.unit_price for item in after.items],
        "delta_skus": [sku for sku, _, _ in deltas],
        "delta_quantities": [quantity for _, quantity, _ in deltas],
        "delta_revenue": [revenue for _, _, revenue in deltas],
        "cancel_reason": after.cancel_reason or "",
        "shipping_country": after.shipping_address.country if after.shipping_address else "",
    }


def sku_deltas(before: OrderView | None, envelope: EventEnvelope) -> list[_SkuDelta]:
    """Units and revenue per SKU that this event adds to (or takes from) the orders that still count."""
    match envelope.data:
        case OrderCreated(items=items):
            return [_delta(item, +1) for item in items]
        case OrderItemAdded(item=item):
            return [_delta(item, +1)]
        case OrderItemRemoved(sku=sku, quantity=quantity, unit_price=unit_price):
            return [(sku, -quantity, -(quantity * unit_price))]
        case OrderCancelled():
            return [_delta(item, -1) for item in before.items] if before else []
        case _:
            return []


def _delta(item: LineItem, sign: int) -> _SkuDelta:
    return item.sku, sign * item.quantity, sign * item.quantity * item.unit_price
