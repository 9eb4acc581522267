"""The `/webhooks` routes as the writer's API serves them (the composition root's app, `cqrs.writer_api`), on an
in-memory command store and registry: who may call them, what they refuse, and the problems they answer with.
The end-to-end tests (`test_webhooks.py`) run the same app on Postgres. Host names resolve through a stub: these
tests send nothing anywhere."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI

from cqrs.writer_api import create_app
from servicekit.principals import Role
from servicekit.tokens import mint_token
from streams.webhooks.errors import MissingSecretKey
from streams.webhooks.registry import DeliveryLogEntry, WebhookEndpoint
from streams.webhooks.settings import WebhookSettings
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
        self.log: list[DeliveryLogEntry] = []

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
        return self.log[:limit], 0


RESOLVED = {"erp.example.com": "93.184.215.14", "example.com": "93.184.215.14", "rebind.example.com": "10.0.0.8",
            "imds.example.com": "169.254.169.254", "v6.example.com": "fd00:ec2::254"}  # fmt: skip


async def stub_resolver(host: str, port: int) -> list[str]:
    """DNS as these tests need it, without asking any server."""
    if host not in RESOLVED:
        raise OSError("not found")
    return [RESOLVED[host]]


PRODUCTION = WebhookSettings(dev_mode=False)


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
def registry() -> InMemoryRegistry:
    return InMemoryRegistry()


@pytest.fixture
async def client(settings: WriterSettings, registry: InMemoryRegistry) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        settings, store=InMemoryCommandStore(), webhooks=registry, webhook_settings=PRODUCTION, resolver=stub_resolver
    )
    async with served(app) as http:
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


@pytest.mark.parametrize(
    "url",
    [
        "https://imds.example.com/latest/meta-data/", "https://v6.example.com/", "https://rebind.example.com/hooks",
        "https://169.254.169.254/latest/meta-data/", "https://[fd00:ec2::254]/", "https://10.0.0.1/hooks",
        "https://127.0.0.1:8443/hooks", "https://localhost/hooks", "https://metadata.google.internal/",
        "https://nowhere.example.com/hooks", "http://erp.example.com/hooks", "http://127.0.0.1:8080/hooks",
    ],
)  # fmt: skip
async def test_ssrf_a_url_to_an_internal_or_metadata_address_or_plain_http_is_refused_naming_the_url(
    client: httpx.AsyncClient, auth: Auth, registry: InMemoryRegistry, url: str
) -> None:
    response = await client.post("/webhooks", json={"url": url}, headers=auth())
    problem = assert_problem(response, 422, "validation-failed")
    assert [error["field"] for error in problem["errors"]] == ["url"]
    assert not any(address in problem["errors"][0]["message"] for address in ("10.0.0.8", "169.254", "fd00"))
    assert registry.endpoints == {}


async def test_dev_mode_registers_plain_http_loopback_receivers(settings: WriterSettings, auth: Auth) -> None:
    app = create_app(
        settings, store=InMemoryCommandStore(), webhooks=InMemoryRegistry(),
        webhook_settings=WebhookSettings(dev_mode=True), resolver=stub_resolver,
    )  # fmt: skip
    async with served(app) as http:
        created = await http.post("/webhooks", json={"url": "http://127.0.0.1:9/hooks"}, headers=auth())
        assert created.status_code == 201, created.text
        refused = await http.post("/webhooks", json={"url": "http://erp.example.com/hooks"}, headers=auth())
        assert refused.status_code == 422


async def test_delivery_log_errors_never_echo_network_details(
    client: httpx.AsyncClient, auth: Auth, registry: InMemoryRegistry
) -> None:
    created = (await client.post("/webhooks", json={"url": "https://erp.example.com/h"}, headers=auth())).json()
    stored = [
        "timeout", "HTTP status 503", "deferred: batch deadline",
        "ConnectError: [Errno 111] Connect call failed ('10.20.30.40', 443)",  # as logged before the categories
        "ConnectTimeout: internal-lb.corp.local:443",
    ]  # fmt: skip
    registry.log = [logged(error) for error in stored]
    log = (await client.get(f"/webhooks/{created['id']}/deliveries", headers=auth())).json()
    assert [entry["error"] for entry in log["data"]] == [
        "timeout", "HTTP status 503", "deferred: batch deadline", "delivery failed", "delivery failed",
    ]  # fmt: skip


def logged(error: str) -> DeliveryLogEntry:
    return DeliveryLogEntry(
        event_id=UUID(UNKNOWN), event_type="OrderCreated", order_id="o-1", version=1, attempt=1, outcome="failed",
        http_status=None, error=error, duration_ms=1.0, at=datetime.now(UTC),
    )  # fmt: skip


def test_the_writer_refuses_to_start_without_a_secret_key_outside_dev_mode(settings: WriterSettings) -> None:
    with pytest.raises(MissingSecretKey, match="CQRS_WEBHOOKS_SECRET_KEY"):
        create_app(settings, webhook_settings=WebhookSettings(dev_mode=False))
    with pytest.raises(MissingSecretKey, match="Fernet"):
        create_app(settings, webhook_settings=WebhookSettings(dev_mode=False, secret_key="not-a-key"))
