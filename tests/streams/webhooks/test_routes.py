"""The `/webhooks` routes as the writer's API serves them (the composition root's app, `cqrs.writer_api`), on an
in-memory command store and registry: who may call them, what they refuse, and the problems they answer with.
The end-to-end tests (`test_webhooks.py`) run the same app on Postgres."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI

from cqrs.writer_api import create_app
from servicekit.principals import Role
from servicekit.tokens import mint_token
from streams.webhooks.registry import DeliveryLogEntry, WebhookEndpoint
from writer.api.app import create_app as create_writer_app
from writer.memory import InMemoryCommandStore
from writer.settings import WriterSettings

PROBLEM_JSON = "application/problem+json"
UNKNOWN = "8c0c5a1e-2d51-4a3e-9c57-0d7c1b6f0a11"
Auth = Callable[..., dict[str, str]]


class InMemoryRegistry:
    """A `WebhookRegistry` in a dict: what the routes need, without the tables."""

    def __init__(self) -> None:
        self.endpoints: dict[UUID, WebhookEndpoint] = {}
        self.deleted: set[UUID] = set()

    async def register(self, endpoint: WebhookEndpoint) -> None:
        self.endpoints[endpoint.id] = endpoint

    async def live(self) -> list[WebhookEndpoint]:
        return [endpoint for endpoint in self.endpoints.values() if endpoint.id not in self.deleted]

    async def find(self, endpoint_id: UUID) -> WebhookEndpoint | None:
        return None if endpoint_id in self.deleted else self.endpoints.get(endpoint_id)

    async def delete(self, endpoint_id: UUID) -> bool:
        if await self.find(endpoint_id) is None:
            return False
        self.deleted.add(endpoint_id)
        return True

    async def deliveries(
        self, endpoint_id: UUID, *, limit: int, outcome: str | None = None
    ) -> tuple[list[DeliveryLogEntry], int]:
        return [], 0


@pytest.fixture
def settings() -> WriterSettings:
    return WriterSettings(log_level="warning")


@pytest.fixture
def auth(settings: WriterSettings) -> Auth:
    def headers(role: Role = Role.OPERATOR, subject: str = "ops-1") -> dict[str, str]:
        return {"Authorization": f"Bearer {mint_token(settings, subject=subject, roles=[role])}"}

    return headers


@asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of `app`, its lifespan entered."""
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://writer") as http,
    ):
        yield http


@pytest.fixture
async def client(settings: WriterSettings) -> AsyncIterator[httpx.AsyncClient]:
    async with served(create_app(settings, store=InMemoryCommandStore(), webhooks=InMemoryRegistry())) as http:
        yield http


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    problem: dict[str, Any] = response.json()
    assert problem["type"] == f"urn:cqrs-orders:problem:{slug}"
    assert problem["status"] == status
    assert "correlationId" in problem  # the error's handler is registered by type: it answers inside the middleware
    return problem


async def test_an_endpoint_is_registered_listed_without_its_secret_and_deleted(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    body = {"url": "https://erp.example.com/hooks", "eventTypes": ["OrderShipped", "OrderShipped"]}
    created = await client.post("/webhooks", json=body, headers=auth())
    assert created.status_code == 201, created.text
    endpoint = created.json()
    assert created.headers["location"] == f"/webhooks/{endpoint['id']}"
    assert endpoint["secret"].startswith("whsec_")
    assert endpoint["eventTypes"] == ["OrderShipped"]
    assert endpoint["createdBy"] == "ops-1"
    assert endpoint["createdAt"].endswith("Z")
    listed = (await client.get("/webhooks", headers=auth())).json()["data"]
    assert [item["id"] for item in listed] == [endpoint["id"]]
    assert "secret" not in listed[0]
    assert (await client.get(f"/webhooks/{endpoint['id']}", headers=auth())).json() == listed[0]
    log = await client.get(f"/webhooks/{endpoint['id']}/deliveries", headers=auth())
    assert log.json() == {"data": [], "parked": 0}
    assert (await client.delete(f"/webhooks/{endpoint['id']}", headers=auth())).status_code == 204
    assert (await client.get("/webhooks", headers=auth())).json() == {"data": []}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/webhooks/{UNKNOWN}"),
        ("DELETE", f"/webhooks/{UNKNOWN}"),
        ("GET", f"/webhooks/{UNKNOWN}/deliveries"),
        ("GET", "/webhooks/not-a-uuid"),
    ],
)
async def test_an_unknown_endpoint_is_a_webhook_not_found_problem(
    client: httpx.AsyncClient, auth: Auth, method: str, path: str
) -> None:
    problem = assert_problem(await client.request(method, path, headers=auth()), 404, "webhook-not-found")
    assert problem["title"] == "No such webhook endpoint"
    assert problem["detail"] == f"no webhook endpoint {path.split('/')[2]}"


async def test_only_operators_manage_webhooks(client: httpx.AsyncClient, auth: Auth) -> None:
    assert_problem(await client.get("/webhooks"), 401, "unauthenticated")
    assert_problem(await client.get("/webhooks", headers=auth(Role.STAFF, "staff-1")), 403, "forbidden")
    body = {"url": "https://example.com/hooks"}
    assert_problem(await client.post("/webhooks", json=body, headers=auth(Role.STAFF, "staff-1")), 403, "forbidden")


async def test_a_webhook_description_with_a_nul_character_is_refused(client: httpx.AsyncClient, auth: Auth) -> None:
    body = {"url": "https://example.com/hooks", "description": "nul\u0000"}
    problem = assert_problem(await client.post("/webhooks", json=body, headers=auth()), 422, "validation-failed")
    assert [error["field"] for error in problem["errors"]] == ["description"]


async def test_bad_fields_are_named(client: httpx.AsyncClient, auth: Auth) -> None:
    body = {"url": "ftp://x", "eventTypes": ["Nope"], "secret": "plain"}
    problem = assert_problem(await client.post("/webhooks", json=body, headers=auth()), 422, "validation-failed")
    assert {error["field"] for error in problem["errors"]} == {"url", "eventTypes[0]", "secret"}


async def test_without_a_registry_the_routes_answer_503(settings: WriterSettings, auth: Auth) -> None:
    async with served(create_app(settings, store=InMemoryCommandStore())) as http:
        response = await http.get("/webhooks", headers=auth())
        problem = assert_problem(response, 503, "unavailable")
        assert response.headers["retry-after"] == "1"
        assert problem["detail"] == "the write model cannot be reached right now; retry shortly"


async def test_the_writer_serves_webhooks_only_as_the_composition_root_mounts_them(
    settings: WriterSettings, auth: Auth
) -> None:
    alone = create_writer_app(settings, store=InMemoryCommandStore())
    assert not [path for path in alone.openapi()["paths"] if path.startswith("/webhooks")]
    async with served(alone) as http:
        assert (await http.get("/webhooks", headers=auth())).status_code == 404
    composed = create_app(settings, store=InMemoryCommandStore())
    paths = composed.openapi()["paths"]
    assert {path for path in paths if path.startswith("/webhooks")} == {
        "/webhooks", "/webhooks/{webhookId}", "/webhooks/{webhookId}/deliveries",
    }  # fmt: skip
    assert paths["/webhooks"]["post"]["security"] == [{"HTTPBearer": []}]
