"""A pytest plugin (loaded by tests/conftest.py) for the tests that drive a live writer over HTTP (batch import,
webhooks, subscribers): the root conftest's `relay` (stack and connector) plus a writer of this checkout served
in-process on a random port, and clients for its roles. The writer is the API as it is served: the composition
root's app, with the `/webhooks` routes mounted (`cqrs.writer_api`).

The writer runs in-process rather than as the stack app: a writer app left running from another checkout would
not have this code's routes. It writes to the stack's `orders` database, which is what Debezium relays.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import jwt
import pytest

from cqrs.writer_api import create_app, migrate
from infra.stack import Stack
from servicekit.principals import Role
from servicekit.tokens import mint_token
from tests.servers import served_in_thread
from writer.settings import WriterSettings


@pytest.fixture(scope="session")
def orders_database_url(relay: Stack) -> str:
    url = f"postgresql://postgres@127.0.0.1:{relay.settings.ports.postgres}/orders"
    migrate(url)
    return url


@pytest.fixture(scope="session")
def writer_settings(orders_database_url: str) -> WriterSettings:
    return WriterSettings(
        database_url=orders_database_url, log_level="warning", pool_max_size=12, grpc_enabled=False
    )  # gRPC: its own tests start it


@pytest.fixture(scope="session")
def writer_url(writer_settings: WriterSettings) -> Iterator[str]:
    with served_in_thread(create_app(writer_settings), "writer-under-test") as port:
        yield f"http://127.0.0.1:{port}"


def client_for(url: str, settings: WriterSettings, role: Role, subject: str) -> httpx.Client:
    token = mint_token(settings, subject=subject, roles=[role])
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60)


@pytest.fixture
def operator(writer_url: str, writer_settings: WriterSettings) -> Iterator[httpx.Client]:
    """An operator's client; every webhook it registers is deleted after the test (the agent of a later test
    would otherwise keep delivering to it)."""
    with client_for(writer_url, writer_settings, Role.OPERATOR, f"ops-{uuid.uuid4().hex[:8]}") as client:
        yield client
        subject = _subject(client)
        for endpoint in client.get("/webhooks").json()["data"]:
            if endpoint["createdBy"] == subject:
                client.delete(f"/webhooks/{endpoint['id']}")


def _subject(client: httpx.Client) -> str:
    token = client.headers["Authorization"].removeprefix("Bearer ")
    return str(jwt.decode(token, options={"verify_signature": False})["sub"])


@pytest.fixture
def staff(writer_url: str, writer_settings: WriterSettings) -> Iterator[httpx.Client]:
    with client_for(writer_url, writer_settings, Role.STAFF, f"staff-{uuid.uuid4().hex[:8]}") as client:
        yield client
