"""Detail + list read model (MongoDB wire, FerretDB here): one document per order, lines embedded.

Field names are the API's (camelCase), so the read API returns documents nearly as stored. Money is exact text plus
integer cents (`streams.money`); dates are BSON dates (UTC). The list queries filter on `status`, `customerId` and
sort on `createdAt`, which the sink indexes.
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


class DetailProjection(Projection):
    name = "orders-mongo"
    store = "mongo"

    def records(self, before: OrderView | None, after: OrderView, envelope: EventEnvelope) -> list[Put]:
        return [Put(after.order_id, after.position, order_document(after))]

    def state(self, stored: Stored) -> OrderView:
        return order_view_from(stored.document, date=_as_is)


def _as_is(value: datetime) -> datetime:
    return value  # BSON dates come back as timezone-aware datetimes (the client is `tz_aware`)


def order_document(order: OrderView) -> dict[str, Any]:
    # Absent rather than null: FerretDB 1.24 drops null fields written by an upsert's $setOnInsert, and a document
    # must read back exactly as it was written whichever way it was written.
    document = {
        "orderId": order.order_id,
        "customerId": order.customer_id,
        "status": order.status.value,
        "currency": order.currency,
        "total": to_text(order.total),
        "totalCents": to_cents(order.total),
        "itemCount": len(order.items),
        "items": [_line_document(item) for item in order.items],
        "shippingAddress": _present(address_document(order.shipping_address)),
        "cancelReason": order.cancel_reason,
        "createdAt": order.created_at,
        "updatedAt": order.updated_at,
        "version": order.position.version,
        "sequence": order.position.sequence,
        "lastEventId": str(order.last_event_id),
        "lastEventType": order.last_event_type,
    }
    return {name: value for name, value in document.items() if value is not None}


def _line_document(item: LineItem) -> dict[str, Any]:
    line_total = item.quantity * item.unit_price
    return {
        "itemId": item.item_id,
        "sku": item.sku,
        "name": item.name,
        "quantity": item.quantity,
        "unitPrice": to_text(item.unit_price),
        "unitPriceCents": to_cents(item.unit_price),
        "lineTotal": to_text(line_total),
        "lineTotalCents": to_cents(line_total),
    }


def _present(document: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if document is None else {name: value for name, value in document.items() if value is not None}
