"""Search read model (Elasticsearch): a denormalised order per document, `_id` = orderId.

The document is JSON as Elasticsearch keeps it in `_source`: money as exact text (indexed as a double for ranges,
while `_source` round-trips exactly) plus `totalCents` (exact sorts and sums), dates as ISO-8601 UTC.
The index mapping lives with the sink (`streams.sinks.elasticsearch`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from schemas.envelope import EventEnvelope
from schemas.events import LineItem
from streams.money import to_cents, to_text
from streams.order_view import OrderView
from streams.projection import Projection
from streams.projections.codec import address_document, order_view_from
from streams.sink import Put, Stored


class SearchProjection(Projection):
    name = "orders-search"
    store = "elasticsearch"

    def records(self, before: OrderView | None, after: OrderView, envelope: EventEnvelope) -> list[Put]:
        return [Put(after.order_id, after.position, search_document(after))]

    def state(self, stored: Stored) -> OrderView:
        return order_view_from(stored.document, date=datetime.fromisoformat)


def search_document(order: OrderView) -> dict[str, Any]:
    return {
        "orderId": order.order_id,
        "customerId": order.customer_id,
        "status": order.status.value,
        "currency": order.currency,
        "total": to_text(order.total),
        "totalCents": to_cents(order.total),
        "itemCount": len(order.items),
        "items": [_line_document(item) for item in order.items],
        "shippingAddress": address_document(order.shipping_address),
        "cancelReason": order.cancel_reason,
        "createdAt": order.created_at.isoformat(),
        "updatedAt": order.updated_at.isoformat(),
        "version": order.position.version,
        "sequence": order.position.sequence,
        "lastEventId": str(order.last_event_id),
        "lastEventType": order.last_event_type,
    }


def _line_document(item: LineItem) -> dict[str, Any]:
    return {
        "itemId": item.item_id,
        "sku": item.sku,
        "name": item.name,
        "quantity": item.quantity,
        "unitPrice": to_text(item.unit_price),
    }
