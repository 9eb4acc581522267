"""Fixtures of the gRPC tests: the writer app as it is served (uvicorn, its lifespan starting the gRPC server on a
free port) on this run's private database, and clients of both transports."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import grpc
import pytest
import uvicorn

from tests.writer.grpc.calls import Commands
from writer.api.app import create_app
from writer.settings import WriterSettings


@dataclass(frozen=True, slots=True)
class ServedWriter:
    http_url: str
    grpc_target: str
    settings: WriterSettings


@pytest.fixture(scope="session")
def served_writer(settings: WriterSettings) -> Iterator[ServedWriter]:
    """One writer process-in-a-thread serving HTTP and gRPC on the same services (pool, handler, verifier)."""
    served = settings.model_copy(update={"grpc_port": 0, "grpc_enabled": True})
    app = create_app(served)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False, loop="asyncio")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="grpc-writer-under-test", daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the in-process writer did not start")
        threading.Event().wait(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield ServedWriter(f"http://127.0.0.1:{port}", f"127.0.0.1:{app.state.grpc_port}", served)
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="session")
def channel(served_writer: ServedWriter) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(served_writer.grpc_target) as opened:
        yield opened


@pytest.fixture(scope="session")
def commands(channel: grpc.Channel, served_writer: ServedWriter) -> Commands:
    return Commands(channel, served_writer.settings)
