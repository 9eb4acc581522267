"""Who may read what. Tokens are the service kit's (`servicekit.tokens`, the writer's too); the rules are the read
side's:

- orders: staff and operators see every order; a customer sees only orders whose customerId is their subject
  (someone else's order is "not found", and a list is confined to their own orders);
- analytics: the `analyst` role only (aggregates across all customers).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from readapi.api.services import Services, get_services
from readapi.visibility import ALL_ORDERS
from servicekit.auth import BearerCredentials, principal_from
from servicekit.errors import PermissionDenied
from servicekit.principals import Principal, Role


async def authenticated(
    request: Request, credentials: BearerCredentials, services: Annotated[Services, Depends(get_services)]
) -> Principal:
    """The verified caller, or `Unauthenticated`."""
    return principal_from(request, credentials, services.tokens)


CurrentPrincipal = Annotated[Principal, Depends(authenticated)]


def order_scope(principal: Principal) -> str | None:
    """The only customerId the caller may see, or `ALL_ORDERS`; `PermissionDenied` if it may see no orders."""
    if principal.privileged:
        return ALL_ORDERS
    if Role.CUSTOMER in principal.roles:
        return principal.subject
    raise PermissionDenied("this role may not read orders")


def require_analyst(principal: CurrentPrincipal) -> None:
    """A router dependency: every analytics route needs the role, so none can forget it."""
    if Role.ANALYST not in principal.roles:
        raise PermissionDenied("analytics needs the analyst role")
