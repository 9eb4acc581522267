"""The analyst role guards the whole `/analytics` router: a caller without it learns nothing about the query it
sent, not even which parameter was wrong (no stack needed: the guard answers before any store is asked)."""

from __future__ import annotations

from types import SimpleNamespace

import httpx

from readapi.api.app import create_app
from readapi.settings import ReadApiSettings
from servicekit.principals import Role
from servicekit.tokens import TokenVerifier, mint_token


async def get(path: str, params: dict[str, str], role: Role) -> httpx.Response:
    settings = ReadApiSettings()
    app = create_app(settings)
    app.state.services = SimpleNamespace(tokens=TokenVerifier(settings))  # no lifespan: the guard needs only tokens
    headers = {"Authorization": f"Bearer {mint_token(settings, subject='staff-1', roles=[role])}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
        return await client.get(path, params=params, headers=headers)


async def test_a_non_analyst_probing_analytics_parameters_gets_403_not_422() -> None:
    for path, params in (("/analytics/top-skus", {"limit": "1000000"}), ("/analytics/revenue/daily", {"from": "x"})):
        response = await get(path, params, Role.STAFF)
        assert response.status_code == 403, (path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_an_analyst_with_a_bad_parameter_still_gets_its_422() -> None:
    response = await get("/analytics/top-skus", {"limit": "1000000"}, Role.ANALYST)
    assert response.status_code == 422
    assert "limit" in [error["field"] for error in response.json()["errors"]]
