"""What the detail and search read models share: one document per order with the same fields (they differ in how
their store keeps dates and in what more a line carries), and the order's state read back from such a document."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from schemas.documents import address_document, address_from_document, line_document
from schemas.envelope import EventEnvelope
from schemas.events import LineItem, OrderStatus
from streams.money import from_text, to_cents, to_text
from streams.order_view import OrderView
from streams.positions import Position
from streams.projection import Projection
from streams.sink import Put, Stored


class DocumentProjection(Projection):
    """A read model of one document per order, keyed by orderId, that reads back into the state it was made from."""

    def records(self, before: OrderView | None, after: OrderView, envelope: EventEnvelope) -> list[Put]:
        return [Put(after.order_id, after.position, self.document(after))]

    def state(self, stored: Stored) -> OrderView:
        return order_view_from(stored.document, date=self.read_date)

    @abstractmethod
    def document(self, order: OrderView) -> dict[str, Any]:
        """The order as this read model's store keeps it."""

    @abstractmethod
    def read_date(self, value: Any) -> datetime:
        """A date of a stored document, read back."""


def order_document(
    order: OrderView,
    *,
    date: Callable[[datetime], Any],
    line: Callable[[LineItem], dict[str, Any]] = line_document,
) -> dict[str, Any]:
    """The fields every order document holds; `date` writes the store's dates, `line` each embedded line."""
    address = order.shipping_address
    return {
        "orderId": order.order_id,
        "customerId": order.customer_id,
        "status": order.status.value,
        "currency": order.currency,
        "total": to_text(order.total),
        "totalCents": to_cents(order.total),
        "itemCount": len(order.items),
        "items": [line(item) for item in order.items],
        "shippingAddress": None if address is None else address_document(address),
        "cancelReason": order.cancel_reason,
        "createdAt": date(order.created_at),
        "updatedAt": date(order.updated_at),
        "version": order.position.version,
        "sequence": order.position.sequence,
        "lastEventId": str(order.last_event_id),
        "lastEventType": order.last_event_type,
    }


def order_view_from(doc: Mapping[str, Any], *, date: Callable[[Any], datetime]) -> OrderView:
    """The state a stored document was made from; `date` reads the store's dates (BSON dates, ISO-8601 text)."""
    address = doc.get("shippingAddress")
    return OrderView(
        order_id=doc["orderId"],
        customer_id=doc["customerId"],
        currency=doc["currency"],
        status=OrderStatus(doc["status"]),
        items=tuple(_line(line) for line in doc["items"]),
        total=from_text(doc["total"]),
        created_at=date(doc["createdAt"]),
        updated_at=date(doc["updatedAt"]),
        position=Position(doc["version"], doc["sequence"]),
        last_event_id=UUID(doc["lastEventId"]),
        last_event_type=doc["lastEventType"],
        shipping_address=None if address is None else address_from_document(address),
        cancel_reason=doc.get("cancelReason"),
    )


def _line(doc: Mapping[str, Any]) -> LineItem:
    return LineItem(
        item_id=doc["itemId"],
        sku=doc["sku"],
        name=doc["name"],
        quantity=int(doc["quantity"]),
        unit_price=Decimal(doc["unitPrice"]),
    )
