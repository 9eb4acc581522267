"""List read model (PostgreSQL, the `readdb` cluster): one row per order with the columns lists filter and sort on.

The row's columns are the read-model contract's (`streams.contract.LIST_COLUMNS`); what a list never shows but the
worker needs to continue from the store (the lines, the address, the last event) rides along in one `state` jsonb
column that readers do not select. Money is exact (`numeric`) plus integer cents; times are UTC `timestamptz`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from schemas.envelope import EventEnvelope
from streams.contract import LIST
from streams.money import to_cents
from streams.order_view import OrderView
from streams.projection import Projection
from streams.projections.codec import order_document, order_view_from
from streams.sink import Put, Stored

STATE_FIELDS = ("items", "shippingAddress", "cancelReason", "sequence", "lastEventId", "lastEventType")
"""What the `state` column keeps: the order's fields that have no column of their own."""


class ListProjection(Projection):
    name = LIST
    store = "postgres"

    def records(self, before: OrderView | None, after: OrderView, envelope: EventEnvelope) -> list[Put]:
        return [Put(after.order_id, after.position, list_row(after))]

    def state(self, stored: Stored) -> OrderView:
        row = stored.document
        document = {
            **row["state"],
            "orderId": row["id"],
            "customerId": row["customer_id"],
            "status": row["status"],
            "currency": row["currency"],
            "total": format(row["total"], "f"),
            "createdAt": row["created_at"],
            "updatedAt": row["updated_at"],
            "version": row["version"],
        }
        return order_view_from(document, date=_as_is)


def list_row(order: OrderView) -> dict[str, Any]:
    """The row of an order (every column but `position`, which the sink writes from the `Put`)."""
    document = order_document(order, date=_as_is)
    return {
        "id": order.order_id,
        "customer_id": order.customer_id,
        "status": order.status.value,
        "currency": order.currency,
        "total": order.total,
        "total_cents": to_cents(order.total),
        "item_count": len(order.items),
        "created_at": order.created_at,
        "updated_at": order.updated_at,
        "version": order.position.version,
        "state": {name: document[name] for name in STATE_FIELDS},
    }


def _as_is(value: datetime) -> datetime:
    return value  # timestamptz: written and read back as timezone-aware datetimes
