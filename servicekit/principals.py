"""Who the caller is: the roles a token can grant and the principal a verified token names.

What each role may do is each API's own rule (`writer.security`, `readapi.api.auth`); this module only names them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    CUSTOMER = "customer"
    STAFF = "staff"
    ANALYST = "analyst"  # reads analytics; never writes
    OPERATOR = "operator"


_PRIVILEGED = frozenset({Role.STAFF, Role.OPERATOR})


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller, as its verified token says."""

    subject: str
    roles: frozenset[Role]

    @property
    def privileged(self) -> bool:
        """Staff and operators act on (and see) every order."""
        return bool(self.roles & _PRIVILEGED)
