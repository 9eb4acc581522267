"""Which orders a caller may see, given its scope: the rule the read flows apply to every document they return.

A scope is the only customerId the caller may see, or `ALL_ORDERS`; the web layer derives it from the token
(`readapi.api.auth.order_scope`). Someone else's order is "not found", never "forbidden".
"""

from __future__ import annotations

from readapi.errors import OrderNotVisible
from readapi.ports import Document

ALL_ORDERS = None
"""The scope of a caller who may see every order."""


def require_visible(scope: str | None, order_id: str, customer_id: str) -> None:
    if scope is not ALL_ORDERS and customer_id != scope:
        raise OrderNotVisible(order_id)


def visible(scope: str | None, order_id: str, document: Document | None) -> Document:
    if document is None:
        raise OrderNotVisible(order_id)
    require_visible(scope, order_id, document["customerId"])
    return document
