"""Bearer authentication for FastAPI: the `HTTPBearer` scheme (as OpenAPI documents it) and the verified caller.

Each API wires `principal_from` to its own `TokenVerifier` in a one-line dependency; who may do what stays its own.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from servicekit.errors import Unauthenticated
from servicekit.principals import Principal
from servicekit.tokens import TokenVerifier

# auto_error=False: a missing token must become our 401 problem, not FastAPI's own error body.
bearer = HTTPBearer(auto_error=False, description="A JWT (see docs/tokens.md); `cqrs token --role staff` mints one.")

BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
"""The `Authorization: Bearer …` credentials, or None (then `principal_from` says why that is not enough)."""


def principal_from(
    request: Request, credentials: HTTPAuthorizationCredentials | None, tokens: TokenVerifier
) -> Principal:
    """The bearer token's verified caller, or `Unauthenticated`."""
    if credentials is None:
        presented = "authorization" in request.headers
        detail = "use the Bearer scheme" if presented else "a bearer token is required"
        raise Unauthenticated(detail, token_presented=presented)
    return tokens.verify(credentials.credentials)
