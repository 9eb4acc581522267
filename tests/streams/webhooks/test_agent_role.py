"""Least privilege for the delivery agent, which talks to endpoints on the internet: it connects as `cqrs_webhooks`
(webhook migration `webhooks_0003_agent_role`), so a compromised agent cannot read or change orders, the outbox,
commands or idempotency keys, nor register or redirect endpoints, and can still do its own work. The end-to-end
webhook tests (`test_webhooks.py`) run their agent as this role too: it is `WebhookSettings`' default.

Runs on a throwaway database with the write model's and the webhook migrations, as `cqrs stack up webhooks` has."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import LiteralString
from urllib.parse import urlsplit

import psycopg
import pytest
from cryptography.fernet import Fernet
from psycopg.errors import InsufficientPrivilege

from cqrs.apps import WebhookAgent
from cqrs.writer_api import migrate
from infra.stack import Stack
from streams.webhooks.cipher import SecretCipher, encrypt_plaintext_secrets
from streams.webhooks.settings import AGENT_ROLE, WebhookSettings
from streams.webhooks.signature import SECRET_PREFIX, new_secret

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def owner_url(stack: Stack) -> Iterator[str]:
    server = f"postgresql://postgres@127.0.0.1:{stack.settings.ports.postgres}"
    name = f"webhooks_role_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        migrate(f"{server}/{name}")
        yield f"{server}/{name}"
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
def endpoint(owner_url: str) -> uuid.UUID:
    """An endpoint registered as the writer does, its secret still in clear (a row from before encryption)."""
    endpoint_id = uuid.uuid4()
    with psycopg.connect(owner_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO webhook_endpoints (id, url, event_types, secret, created_by) VALUES (%s, %s, %s, %s, %s)",
            (endpoint_id, "https://erp.example.com/hooks", [], new_secret(), "ops-1"),
        )
    return endpoint_id


def agent_user(stack: Stack) -> str | None:
    """Who the agent connects as: the stack app's environment (`cqrs stack up webhooks`), as the process reads it."""
    environment = WebhookAgent(stack.settings).env()
    settings = WebhookSettings(database_url=environment["CQRS_WEBHOOKS_DATABASE_URL"])
    return urlsplit(settings.database).username


def agent_url(stack: Stack, owner_url: str) -> str:
    return owner_url.replace("postgresql://postgres@", f"postgresql://{agent_user(stack)}@", 1)


def as_agent(stack: Stack, owner_url: str) -> psycopg.Connection:
    return psycopg.connect(agent_url(stack, owner_url), autocommit=True)


def test_the_agent_connects_as_its_own_role(stack: Stack) -> None:
    assert agent_user(stack) == AGENT_ROLE
    assert urlsplit(WebhookSettings().database).username == AGENT_ROLE  # its CLI and a bare `cqrs webhooks worker`


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT * FROM orders",
        "UPDATE orders SET status = 'cancelled'",
        "SELECT * FROM outbox",
        "INSERT INTO outbox DEFAULT VALUES",
        "SELECT * FROM commands",
        "SELECT * FROM idempotency_keys",
        "SELECT * FROM order_summary",
        "DELETE FROM webhook_endpoints",
        "DROP TABLE webhook_deliveries",
    ],
)
def test_a_compromised_webhook_agent_cannot_read_or_change_orders_or_the_outbox(
    stack: Stack, owner_url: str, statement: LiteralString
) -> None:
    with as_agent(stack, owner_url) as conn, pytest.raises(InsufficientPrivilege):
        conn.execute(statement)


def test_a_compromised_webhook_agent_cannot_register_or_redirect_endpoints(
    stack: Stack, owner_url: str, endpoint: uuid.UUID
) -> None:
    with as_agent(stack, owner_url) as conn:
        with pytest.raises(InsufficientPrivilege):
            conn.execute(
                "INSERT INTO webhook_endpoints (id, url, event_types, secret, created_by) VALUES (%s, %s, %s, %s, %s)",
                (uuid.uuid4(), "https://attacker.example/hooks", [], new_secret(), "agent"),
            )
        with pytest.raises(InsufficientPrivilege):
            conn.execute("UPDATE webhook_endpoints SET url = 'https://attacker.example/' WHERE id = %s", (endpoint,))


async def test_the_webhook_agent_role_seals_secrets_and_keeps_its_log_and_queues(
    stack: Stack, owner_url: str, endpoint: uuid.UUID
) -> None:
    async with await psycopg.AsyncConnection.connect(agent_url(stack, owner_url), autocommit=True) as conn:
        assert await encrypt_plaintext_secrets(conn, SecretCipher([Fernet.generate_key()])) >= 1
        event = (endpoint, uuid.uuid4(), "OrderCreated", "order-1", 1, 0)
        await conn.execute(
            "INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, order_id, version, attempt, outcome)"
            " VALUES (%s, %s, %s, %s, %s, %s + 1, 'parked')",
            event,
        )
        await conn.execute(
            "INSERT INTO webhook_parked (endpoint_id, event_id, event_type, order_id, version, sequence, source, body,"
            " reason, attempts) VALUES (%s, %s, %s, %s, %s, %s, 'events.Order:0:1', '\\x7b7d', 'refused', 5)",
            event,
        )
        await conn.execute(
            "UPDATE webhook_parked SET attempts = attempts + 1 WHERE endpoint_id = %s AND event_id = %s", event[:2]
        )
        await conn.execute(
            "INSERT INTO webhook_deferred (endpoint_id, event_id, event_type, order_id, version, sequence, source,"
            " partition, body, attempts) VALUES (%s, %s, %s, %s, %s, %s, 'events.Order:0:1', 0, '\\x7b7d', 1)",
            event,
        )
        await conn.execute("DELETE FROM webhook_deferred WHERE endpoint_id = %s AND event_id = %s", event[:2])
        await conn.execute("DELETE FROM webhook_parked WHERE endpoint_id = %s AND event_id = %s", event[:2])
        row = await (await conn.execute("SELECT secret FROM webhook_endpoints WHERE id = %s", (endpoint,))).fetchone()
    assert row is not None
    assert not row[0].startswith(SECRET_PREFIX)
