"""Detail + list read model (MongoDB wire, FerretDB here): one document per order, lines embedded.

Field names are the API's (camelCase), so the read API returns documents nearly as stored. Money is exact text plus
integer cents (`streams.money`); dates are BSON dates (UTC). The list queries filter on `status`, `customerId` and
sort on `createdAt`, which the sink indexes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from schemas.documents import line_document
from schemas.events import LineItem
from streams.contract import DETAIL
from streams.money import to_cents, to_text
from streams.order_view import OrderView
from streams.projections.codec import DocumentProjection, order_document


class DetailProjection(DocumentProjection):
    name = DETAIL
    store = "mongo"

    def document(self, order: OrderView) -> dict[str, Any]:
        # Absent rather than null: FerretDB 1.24 drops null fields written by an upsert's $setOnInsert, and a document
        # must read back exactly as it was written whichever way it was written.
        document = order_document(order, date=_as_is, line=_line_document)
        if document["shippingAddress"] is not None:
            document["shippingAddress"] = _present(document["shippingAddress"])
        return _present(document)

    def read_date(self, value: datetime) -> datetime:
        return _as_is(value)


def _as_is(value: datetime) -> datetime:
    return value  # BSON has dates: written as they are, back as timezone-aware datetimes (the client is `tz_aware`)


def _line_document(item: LineItem) -> dict[str, Any]:
    line_total = item.quantity * item.unit_price
    return {
        **line_document(item),
        "unitPriceCents": to_cents(item.unit_price),
        "lineTotal": to_text(line_total),
        "lineTotalCents": to_cents(line_total),
    }


def _present(document: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in document.items() if value is not None}
