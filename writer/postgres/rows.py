"""Order state ⇄ `orders` row, and the parameters of a command's other rows. Lines and the address are jsonb
documents (`schemas.documents`)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from schemas.documents import address_document, address_from_document, line_document
from schemas.events import OrderStatus
from writer.domain import Order, OrderLine
from writer.ports import Accepted, CommandRequest, IdempotencyClaim, StoredResponse

ORDER_COLUMNS = "customer_id, status, currency, items, version, created_at, updated_at, shipping_address"
"""The columns `order_from_row` reads, in its order."""


def order_from_row(order_id: str, row: Sequence[Any]) -> Order:
    customer_id, status, currency, items, version, created_at, updated_at, address = row
    return Order(
        id=order_id,
        customer_id=customer_id,
        status=OrderStatus(status),
        currency=currency,
        items=tuple(_line_from_json(item) for item in items),
        version=version,
        created_at=created_at,
        updated_at=updated_at,
        shipping_address=None if address is None else address_from_document(address),
    )


def order_params(order: Order) -> dict[str, Any]:
    """The order's columns as named parameters of the save statement."""
    return {
        "id": UUID(order.id),
        "customer_id": order.customer_id,
        "status": order.status.value,
        "currency": order.currency,
        "items": Jsonb([line_document(line.to_item()) for line in order.items]),
        "total": order.total,
        "version": order.version,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
        "shipping_address": None if order.shipping_address is None else Jsonb(address_document(order.shipping_address)),
    }


def command_params(request: CommandRequest, accepted: Accepted) -> dict[str, Any]:
    return {
        "command_id": request.command_id,
        "command_name": request.command_name,
        "aggregate_id": request.aggregate_id,
        "issued_by": request.issued_by,
        "correlation_id": request.correlation_id,
        "outcome": Jsonb(accepted.outcome()),
    }


def response_params(
    claim: IdempotencyClaim | None, accepted: Accepted, response: StoredResponse | None = None
) -> dict[str, Any]:
    """The response to keep under the idempotency key (`response` if rendered already); all NULL (nothing kept)
    without a key."""
    if claim is None:
        return dict.fromkeys(
            ("scope", "key", "fingerprint", "response_status", "response_headers", "response_body", "ttl_s")
        )
    response = response or claim.respond(accepted)
    return {
        "scope": claim.scope,
        "key": claim.key,
        "fingerprint": claim.fingerprint,
        "response_status": response.status,
        "response_headers": Jsonb(dict(response.headers)),
        "response_body": response.body,
        "ttl_s": claim.ttl_s,
    }


def _line_from_json(item: dict[str, Any]) -> OrderLine:
    # Values as stored, no coercion: `OrderLine` checks them again.
    return OrderLine(
        item_id=item["itemId"],
        sku=item["sku"],
        name=item["name"],
        quantity=item["quantity"],
        unit_price=Decimal(item["unitPrice"]),
    )
