"""Search read model (Elasticsearch): a denormalised order per document, `_id` = orderId.

The document is JSON as Elasticsearch keeps it in `_source`: money as exact text (indexed as a double for ranges,
while `_source` round-trips exactly) plus `totalCents` (exact sorts and sums), dates as ISO-8601 UTC.
The index mapping lives with the sink (`streams.sinks.elasticsearch`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from streams.contract import SEARCH
from streams.order_view import OrderView
from streams.projections.codec import DocumentProjection, order_document


class SearchProjection(DocumentProjection):
    name = SEARCH
    store = "elasticsearch"

    def document(self, order: OrderView) -> dict[str, Any]:
        return order_document(order, date=datetime.isoformat)

    def read_date(self, value: str) -> datetime:
        return datetime.fromisoformat(value)
