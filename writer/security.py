"""Who may do what with commands: the authorization rules of the writer.

Roles, principals and token parsing live in `servicekit`; this module only decides. Customers act on their own
orders only; someone else's order is reported as not found, so its existence does not leak.
"""

from __future__ import annotations

from servicekit.errors import PermissionDenied
from servicekit.principals import Principal, Role
from writer.domain import CreateOrder, Order, OrderCommand, OrderNotFound, ShipOrder

_WRITERS = frozenset({Role.STAFF, Role.OPERATOR, Role.CUSTOMER})


def may_issue_commands(principal: Principal) -> bool:
    """Customers, staff and operators write; analysts only read."""
    return bool(principal.roles & _WRITERS)


def authorize_command(principal: Principal, command: OrderCommand) -> None:
    """Checks that need no stored state; raises `PermissionDenied`."""
    if not may_issue_commands(principal):
        raise PermissionDenied("this role may not issue commands")
    if principal.privileged:
        return
    if isinstance(command, ShipOrder):
        raise PermissionDenied("only staff may ship orders")
    if isinstance(command, CreateOrder) and command.customer_id != principal.subject:
        raise PermissionDenied("customers may only place orders for themselves")


def require_visible(principal: Principal, order: Order) -> None:
    """Raise `OrderNotFound` if the caller may not see `order` (a customer and someone else's order)."""
    if not principal.privileged and order.customer_id != principal.subject:
        raise OrderNotFound(order.id)


_READS_EVERY_COMMAND = frozenset({Role.STAFF, Role.OPERATOR, Role.ANALYST})


def may_read_command(principal: Principal, issued_by: str) -> bool:
    """Staff, operators and analysts see every command; customers their own; a token with no known role nothing.

    An allowlist: a role this service does not know (or none at all) grants nothing."""
    if principal.roles & _READS_EVERY_COMMAND:
        return True
    return Role.CUSTOMER in principal.roles and issued_by == principal.subject
