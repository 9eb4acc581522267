"""Bearer authentication as a FastAPI dependency (the kit's `HTTPBearer` scheme, this app's token verifier)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from servicekit.auth import BearerCredentials, principal_from
from servicekit.principals import Principal
from writer.api.services import Services, get_services


async def authenticated(
    request: Request, credentials: BearerCredentials, services: Annotated[Services, Depends(get_services)]
) -> Principal:
    """The verified caller, or `Unauthenticated`."""
    return principal_from(request, credentials, services.tokens)


CurrentPrincipal = Annotated[Principal, Depends(authenticated)]
