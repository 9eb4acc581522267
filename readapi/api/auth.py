"""Who may read what. Tokens are the writer's (`writer.tokens`); the rules are the read side's:

- orders: staff and operators see every order; a customer sees only orders whose customerId is their subject
  (someone else's order is "not found", and a list is confined to their own orders);
- analytics: the `analyst` role only (aggregates across all customers).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from readapi.api.services import Services, get_services
from readapi.errors import OrderNotVisible
from readapi.ports import Document
from writer.api.auth import principal_from
from writer.errors import PermissionDenied
from writer.security import Principal, Role

# auto_error=False: a missing token must become our 401 problem, not FastAPI's own error body.
_bearer = HTTPBearer(auto_error=False, description="The writer's JWT (HS256); `cqrs token --role staff` mints one.")

ALL_ORDERS = None
"""The scope of a caller who may see every order."""


async def authenticated(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    services: Annotated[Services, Depends(get_services)],
) -> Principal:
    return principal_from(request, credentials, services.tokens)


CurrentPrincipal = Annotated[Principal, Depends(authenticated)]


def order_scope(principal: Principal) -> str | None:
    """The only customerId the caller may see, or `ALL_ORDERS`; `PermissionDenied` if it may see no orders."""
    if principal.privileged:
        return ALL_ORDERS
    if Role.CUSTOMER in principal.roles:
        return principal.subject
    raise PermissionDenied("this role may not read orders")


def require_visible(scope: str | None, order_id: str, customer_id: str) -> None:
    if scope is not ALL_ORDERS and customer_id != scope:
        raise OrderNotVisible(order_id)


def visible(scope: str | None, order_id: str, document: Document | None) -> Document:
    if document is None:
        raise OrderNotVisible(order_id)
    require_visible(scope, order_id, document["customerId"])
    return document


def require_analyst(principal: Principal) -> None:
    if Role.ANALYST not in principal.roles:
        raise PermissionDenied("analytics needs the analyst role")
