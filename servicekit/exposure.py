"""What an API shows besides its own routes — the OpenAPI pages and `/metrics` — as its settings allow.

Both can be switched off (`CQRS_<SERVICE>_DOCS_ENABLED=false`, `..._METRICS_ENABLED=false`: 404), and `/metrics` can
want a static bearer token (`..._METRICS_TOKEN`; Prometheus sends it with `authorization: {credentials: ...}`), so a
deployment need not publish its route map or its traffic figures to whoever reaches the port.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header

from servicekit import metrics
from servicekit.errors import Unauthenticated
from servicekit.settings import ServiceSettings


def docs_options(settings: ServiceSettings) -> dict[str, Any]:
    """FastAPI's keyword arguments for its documentation pages: the defaults, or none at all."""
    if settings.docs_enabled:
        return {}
    return {"docs_url": None, "redoc_url": None, "openapi_url": None}


def include_metrics(app: FastAPI, settings: ServiceSettings) -> None:
    """Mount `/metrics` if enabled, behind the bearer token if one is set."""
    if not settings.metrics_enabled:
        return
    if settings.metrics_token is None:
        app.include_router(metrics.router)
        return
    expected = f"Bearer {settings.metrics_token.get_secret_value()}".encode()

    async def scraper_only(authorization: Annotated[str | None, Header(include_in_schema=False)] = None) -> None:
        if authorization is None or not hmac.compare_digest(authorization.encode(), expected):
            raise Unauthenticated("/metrics wants the scrape token", token_presented=authorization is not None)

    protected = APIRouter(dependencies=[Depends(scraper_only)])
    protected.include_router(metrics.router)
    app.include_router(protected)
