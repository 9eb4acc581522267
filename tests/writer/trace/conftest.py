"""A writer of this checkout served in-process on the running pipeline (stack, registered connector, projection
workers), with readiness watching the relay as the stack's writer does; and a staff client of it. The stack's own
writer app is not needed (nor started): the in-process one writes to the same `orders` database Debezium relays."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from cqrs.apps import pipeline_stack, register_relay
from cqrs.writer_api import create_app, migrate
from infra.stack import Stack
from servicekit.principals import Role
from servicekit.tokens import mint_token
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
    config = uvicorn.Config(
        create_app(trace_settings), host="127.0.0.1", port=0, log_config=None, access_log=False, loop="asyncio"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="traced-writer", daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the in-process writer did not start")
        threading.Event().wait(0.05)
    yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def staff(traced_writer: str, trace_settings: WriterSettings) -> Iterator[httpx.Client]:
    token = mint_token(trace_settings, subject="trace-tests", roles=[Role.STAFF])
    with httpx.Client(base_url=traced_writer, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        yield client
