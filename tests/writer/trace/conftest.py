"""A writer of this checkout served in-process on the running pipeline (stack, registered connector, projection
workers), with readiness watching the relay as the stack's writer does; and a staff client of it. The stack's own
writer app is not needed (nor started): the in-process one writes to the same `orders` database Debezium relays."""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest

from cqrs.apps import pipeline_stack, register_relay
from cqrs.writer_api import create_app, migrate
from infra.stack import Stack
from servicekit.principals import Role
from servicekit.tokens import mint_token
from tests.servers import served_in_thread
from writer.settings import WriterSettings


@pytest.fixture(scope="session")
def traced_pipeline(stack: Stack) -> Iterator[Stack]:
    """The write model migrated, the relay registered and running, the projection workers up."""
    migrate(f"postgresql://postgres@127.0.0.1:{stack.settings.ports.postgres}/orders")
    register_relay()
    streams = pipeline_stack(stack.settings, ["streams"])
    was_running = streams.status()[0].pid is not None
    streams.up()
    yield stack
    if not was_running and os.environ.get("CQRS_KEEP_STACK") != "1":
        streams.down()


@pytest.fixture(scope="session")
def trace_settings(traced_pipeline: Stack) -> WriterSettings:
    ports = traced_pipeline.settings.ports
    return WriterSettings(
        database_url=f"postgresql://postgres@127.0.0.1:{ports.postgres}/orders",
        log_level="warning",
        relay_connect_url=f"http://127.0.0.1:{ports.connect}",
    )


@pytest.fixture(scope="session")
def traced_writer(trace_settings: WriterSettings) -> Iterator[str]:
    with served_in_thread(create_app(trace_settings), "traced-writer") as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def staff(traced_writer: str, trace_settings: WriterSettings) -> Iterator[httpx.Client]:
    token = mint_token(trace_settings, subject="trace-tests", roles=[Role.STAFF])
    with httpx.Client(base_url=traced_writer, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        yield client
