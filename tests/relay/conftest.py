"""The relay under test: the writer API and the Debezium outbox connector, registered as operators do."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

import httpx
import pytest

from connectors.client import ConnectClient
from connectors.config import load
from connectors.settings import ConnectorSettings
from connectors.tail import EventsTail
from connectors.topics import ensure_topics, load_specs
from infra.stack import Stack
from writer.security import Role
from writer.settings import WriterSettings
from writer.tokens import mint_token

CONNECTOR = "orders-outbox"


@pytest.fixture(scope="session")
def relay(stack: Stack) -> Iterator[Stack]:
    """The writer app (migrating the `orders` database) plus the registered, running connector."""
    writer = Stack(stack.settings, ["writer"])
    was_running = writer.status()[0].pid is not None
    try:
        writer.up()
        settings = ConnectorSettings()
        asyncio.run(ensure_topics(settings.kafka_bootstrap, load_specs(settings.topics_file)))
        with ConnectClient(settings.connect_url) as client:
            connector = load(CONNECTOR, settings)
            client.validate(connector)
            client.put_config(connector)
            client.restart_failed(CONNECTOR)
            client.wait_running(CONNECTOR, 90)
        yield stack
    finally:
        if not was_running and os.environ.get("CQRS_KEEP_STACK") != "1":
            writer.down()


@pytest.fixture
def api(relay: Stack) -> Iterator[httpx.Client]:
    token = mint_token(WriterSettings(), subject="relay-tests", roles=[Role.STAFF])
    base_url = f"http://127.0.0.1:{relay.settings.ports.writer}"
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        yield client


@pytest.fixture
def tail(relay: Stack) -> EventsTail:
    return EventsTail(f"127.0.0.1:{relay.settings.ports.kafka}")
