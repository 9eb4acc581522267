"""Bearer authentication as a FastAPI dependency (documented as the `HTTPBearer` scheme in OpenAPI)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from writer.api.services import Services, get_services
from writer.errors import Unauthenticated
from writer.security import Principal
from writer.tokens import TokenVerifier

# auto_error=False: a missing token must become our 401 problem, not FastAPI's own error body.
_bearer = HTTPBearer(auto_error=False, description="A JWT (HS256); `cqrs token --role staff` mints one.")


async def authenticated(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    services: Annotated[Services, Depends(get_services)],
) -> Principal:
    """The verified caller, or `Unauthenticated`."""
    return principal_from(request, credentials, services.tokens)


def principal_from(
    request: Request, credentials: HTTPAuthorizationCredentials | None, tokens: TokenVerifier
) -> Principal:
    """The bearer token's verified caller; shared with the read API, which trusts the same tokens."""
    if credentials is None:
        presented = "authorization" in request.headers
        detail = "use the Bearer scheme" if presented else "a bearer token is required"
        raise Unauthenticated(detail, token_presented=presented)
    return tokens.verify(credentials.credentials)


CurrentPrincipal = Annotated[Principal, Depends(authenticated)]
