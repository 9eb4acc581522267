"""Who may do what: roles, the authenticated principal, and the authorization rules for commands.

Token parsing lives in `writer.tokens`; this module only decides. Customers act on their own orders only;
someone else's order is reported as not found, so its existence does not leak.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from writer.domain import CreateOrder, Order, OrderCommand, OrderNotFound, ShipOrder
from writer.errors import PermissionDenied


class Role(StrEnum):
    CUSTOMER = "customer"
    STAFF = "staff"
    ANALYST = "analyst"  # reads analytics; never writes
    OPERATOR = "operator"


_PRIVILEGED = frozenset({Role.STAFF, Role.OPERATOR})
_WRITERS = _PRIVILEGED | {Role.CUSTOMER}


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller, as its verified token says."""

    subject: str
    roles: frozenset[Role]

    @property
    def privileged(self) -> bool:
        """Staff and operators act on every order."""
        return bool(self.roles & _PRIVILEGED)


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


def may_read_command(principal: Principal, issued_by: str) -> bool:
    """Customers see their own commands; every other role sees all (analysts included: reading is fine)."""
    return Role.CUSTOMER not in principal.roles or principal.privileged or issued_by == principal.subject
