"""The real stack, started once per test run.

Tests that need a service take the `stack` fixture: it brings every service up (reusing any already running) and, at
the end of the run, stops the ones it started itself, so a stack started by hand with `cqrs stack up` stays warm.
Set CQRS_KEEP_STACK=1 to keep everything running after the tests, and CQRS_TEST_SERVICES=postgres,kafka to bring up
only some services while working on one part (tests needing the others then fail loudly).
`relay` adds the writer app and the registered Debezium connector, for tests of the pipeline beyond the stack.
"""

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
from cqrs.apps import pipeline_stack
from infra.settings import stack_settings
from infra.stack import Stack
from servicekit.principals import Role
from servicekit.tokens import DEV_MODE_VARIABLE, mint_token
from writer.settings import WriterSettings

# Explicit dev mode: the apps the tests build (and the processes they start) serve on loopback with the built-in dev
# token secret, which they refuse without it. Tests of that refusal pass `dev_mode=False`.
os.environ[DEV_MODE_VARIABLE] = "1"

# The in-process writer of this checkout (tests/live_writer.py), for the batch import and webhook tests.
pytest_plugins = ["tests.live_writer"]


@pytest.fixture(scope="session")
def stack() -> Iterator[Stack]:
    only = [name for name in os.environ.get("CQRS_TEST_SERVICES", "").split(",") if name]
    stack = pipeline_stack(stack_settings(), only)
    everything = pipeline_stack(stack_settings(), list(stack.by_name))  # our apps too: tests (the demo) start them
    already_running = {row.name for row in everything.status() if row.pid is not None}

    def stop_what_we_started() -> None:
        running = {row.name for row in everything.status() if row.pid is not None}
        started_here = [name for name in everything.by_name if name in running - already_running]
        if started_here:
            pipeline_stack(stack_settings(), started_here).down()

    try:
        stack.up()
    except Exception:
        stop_what_we_started()  # a half-started stack must not hold ports after the run
        raise
    yield stack
    if os.environ.get("CQRS_KEEP_STACK") != "1":
        stop_what_we_started()


# The relay under test: the writer API and the Debezium outbox connector, registered as operators do.
CONNECTOR = "orders-outbox"


@pytest.fixture(scope="session")
def relay(stack: Stack) -> Iterator[Stack]:
    """The writer app (migrating the `orders` database) plus the registered, running connector."""
    writer = pipeline_stack(stack.settings, ["writer"])
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


@pytest.fixture(scope="session")
def pipeline(relay: Stack) -> Iterator[Stack]:
    """The relay plus the projection workers (`cqrs stack up streams`): commands reach every read model."""
    streams = pipeline_stack(relay.settings, ["streams"])
    was_running = streams.status()[0].pid is not None
    streams.up()
    yield relay
    if not was_running and os.environ.get("CQRS_KEEP_STACK") != "1":
        streams.down()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that restart services (marked `disruptive`) run last, so they cannot pull the rug from the others; every
    test that needs the real stack (the `stack` fixture, directly or through another) is marked `stack`, so
    `pytest -m "not stack"` (`make unit`) runs the rest without starting anything."""
    for item in items:
        if "stack" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.stack)
    items.sort(key=lambda item: item.get_closest_marker("disruptive") is not None)
