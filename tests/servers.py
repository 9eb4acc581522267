"""Real servers for the tests that speak HTTP over TCP: a free port, and a service's own CLI run as a subprocess
until its readiness probe answers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.types import ASGIApp

from infra.settings import StackSettings
from servicekit.serving import wait_until_ready

CONNECTOR = "orders-outbox"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def served(module_args: Sequence[str], *, env: Mapping[str, str], log: Path, within_s: float = 30) -> Iterator[str]:
    """Run `python -m <module_args> --port <free port>` (output to `log`) until `/health/ready` answers 200;
    yields its base URL and stops it on exit."""
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", *module_args, "--port", str(port)], env=env, stdout=output, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(url, process, within_s=within_s, output=lambda: log.read_text()[-3000:])
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def relayed_writer(settings: StackSettings, log_dir: Path) -> Iterator[str]:
    """A writer of this checkout on a port of its own (not the stack's app, which others' tests start and stop), on the
    stack's write model, which the registered connector relays; registers nothing, and skips the test when the
    connector is not running."""
    connect = f"http://127.0.0.1:{settings.ports.connect}/connectors/{CONNECTOR}/status"
    try:
        running = httpx.get(connect, timeout=3).json().get("connector", {}).get("state") == "RUNNING"
    except (httpx.HTTPError, ValueError):
        running = False
    if not running:
        pytest.skip(f"needs the {CONNECTOR} connector running (`cqrs connectors register {CONNECTOR}`)")
    database_url = f"postgresql://postgres@127.0.0.1:{settings.ports.postgres}/orders"
    env = dict(os.environ, CQRS_WRITER_DATABASE_URL=database_url, CQRS_WRITER_LOG_LEVEL="warning")
    with served(["writer.cli", "serve"], env=env, log=log_dir / "writer.log") as url:
        yield url


@contextmanager
def served_in_thread(app: ASGIApp, name: str) -> Iterator[int]:
    """Serve `app` with uvicorn in a thread of this process (its lifespan included) on a free port; yields the port."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False, loop="asyncio")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError(f"{name} did not start")
        threading.Event().wait(0.05)
    try:
        yield int(server.servers[0].sockets[0].getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(10)
