"""The endpoints' signing secrets are encrypted at rest: a database dump does not hold them, the registry and the
agent read them back, rows from before encryption are encrypted on upgrade, and a wrong key is a named error.
Runs on a throwaway database (the webhook migrations alone) on the stack's Postgres."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest
from cryptography.fernet import Fernet
from psycopg_pool import AsyncConnectionPool

from infra.stack import Stack
from streams.webhooks.agent import WebhookAgent
from streams.webhooks.cipher import SecretCipher, UndecryptableSecret, secret_cipher
from streams.webhooks.endpoints import EndpointDirectory, Pool, find_endpoint
from streams.webhooks.errors import MissingSecretKey
from streams.webhooks.postgres import PostgresWebhookRegistry, open_registry
from streams.webhooks.registry import WebhookEndpoint
from streams.webhooks.settings import WebhookSettings
from streams.webhooks.signature import new_secret
from tests.streams.webhooks.throwaway import webhook_database

KEY = Fernet.generate_key().decode()


@pytest.fixture(scope="module")
def database_url(stack: Stack) -> Iterator[str]:
    with webhook_database(stack.settings.ports.postgres, "webhooks_secrets") as url:
        yield url


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[Pool]:
    pool: Pool = AsyncConnectionPool(database_url, min_size=1, max_size=2, open=False, kwargs={"autocommit": True})
    await pool.open(wait=True)
    yield pool
    await pool.close()


def an_endpoint(secret: str) -> WebhookEndpoint:
    return WebhookEndpoint(
        id=uuid.uuid4(), url="https://erp.example.com/hooks", event_types=(), description=None, secret=secret,
        created_by="ops-1", created_at=datetime.now(UTC),
    )  # fmt: skip


async def stored_secret(pool: Pool, endpoint_id: uuid.UUID) -> str:
    async with pool.connection() as conn:
        query = "SELECT secret FROM webhook_endpoints WHERE id = %s"
        row = await (await conn.execute(query, (endpoint_id,))).fetchone()
    assert row is not None
    return str(row[0])


async def test_a_database_dump_does_not_hold_the_signing_secrets(pool: Pool) -> None:
    cipher = secret_cipher(WebhookSettings(dev_mode=False, secret_key=KEY))
    secret = new_secret()
    endpoint = an_endpoint(secret)
    await PostgresWebhookRegistry(pool, cipher).register(endpoint)
    stored = await stored_secret(pool, endpoint.id)
    assert secret not in stored
    assert secret.removeprefix("whsec_") not in stored
    found = await PostgresWebhookRegistry(pool, cipher).find(endpoint.id)
    assert found is not None
    assert found.secret == secret
    agent_view = await find_endpoint(pool, endpoint.id, cipher)  # what the agent and `dlq replay` sign with
    assert agent_view is not None
    assert agent_view.secret == secret
    directory = EndpointDirectory(pool, 0, cipher)
    assert secret in {live.secret for live in await directory.current()}


async def test_secrets_stored_in_clear_before_the_upgrade_are_encrypted_when_the_registry_opens(
    pool: Pool, database_url: str
) -> None:
    secret = new_secret()
    endpoint = an_endpoint(secret)
    async with pool.connection() as conn:  # a row as the code before encryption wrote it
        await conn.execute(
            "INSERT INTO webhook_endpoints (id, url, event_types, secret, created_by) VALUES (%s, %s, %s, %s, %s)",
            (endpoint.id, endpoint.url, [], secret, endpoint.created_by),
        )
    cipher = secret_cipher(WebhookSettings(dev_mode=False, secret_key=KEY))
    async with open_registry(database_url, cipher) as registry:
        assert await stored_secret(pool, endpoint.id) != secret
        found = await registry.find(endpoint.id)
    assert found is not None
    assert found.secret == secret


def test_a_rotated_key_still_decrypts_and_a_wrong_key_is_a_named_error() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed = secret_cipher(WebhookSettings(dev_mode=False, secret_key=old)).seal("whsec_x")
    assert secret_cipher(WebhookSettings(dev_mode=False, secret_key=f"{new},{old}")).open(sealed) == "whsec_x"
    with pytest.raises(UndecryptableSecret):
        SecretCipher([new.encode()]).open(sealed)


async def test_the_agent_refuses_to_start_without_a_secret_key_outside_dev_mode() -> None:
    settings = WebhookSettings(dev_mode=False, database_url="postgresql://postgres@127.0.0.1:1/nowhere")
    with pytest.raises(MissingSecretKey):  # before it connects anywhere: the database here does not exist
        await WebhookAgent.open(settings)
