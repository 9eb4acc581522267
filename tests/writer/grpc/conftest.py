"""Fixtures of the gRPC tests: the writer app as it is served (uvicorn, its lifespan starting the gRPC server on a
free port) on this run's private database, and clients of both transports."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import grpc
import pytest

from tests.servers import served_in_thread
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
    with served_in_thread(app, "grpc-writer-under-test") as port:
        yield ServedWriter(f"http://127.0.0.1:{port}", f"127.0.0.1:{app.state.grpc_port}", served)


@pytest.fixture(scope="session")
def channel(served_writer: ServedWriter) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(served_writer.grpc_target) as opened:
        yield opened


@pytest.fixture(scope="session")
def commands(channel: grpc.Channel, served_writer: ServedWriter) -> Commands:
    return Commands(channel, served_writer.settings)
