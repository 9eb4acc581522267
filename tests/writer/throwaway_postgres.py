"""A private PostgreSQL cluster for tests that must reconfigure or exhaust the server (never the shared stack's):
initdb in a temp dir, its own port, settings passed on the command line, stopped (fast shutdown) on exit."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import psycopg

from infra.process import as_unprivileged
from infra.services.postgres import BIN_DIR, SUPERUSER, dsn
from tests.servers import free_port


@contextmanager
def throwaway_postgres(
    directory: Path, settings: Mapping[str, str], *, initdb_args: tuple[str, ...] = ()
) -> Iterator[int]:
    """Run a cluster in `directory` with `settings` (postgresql.conf names); yields its port."""
    data = directory / "data"
    initdb = [str(BIN_DIR / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust", "--no-locale", "-E", "UTF8"]
    subprocess.run(as_unprivileged([*initdb, *initdb_args]), check=True, capture_output=True)
    port = free_port()
    options = {"port": str(port), "listen_addresses": "127.0.0.1", "unix_socket_directories": "", **settings}
    argv = [str(BIN_DIR / "postgres"), "-D", str(data), *(f"-c{name}={value}" for name, value in options.items())]
    with (directory / "postgres.log").open("wb") as log:
        server = subprocess.Popen(as_unprivileged(argv), stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_ready(port, server, directory / "postgres.log")
        yield port
    finally:
        server.send_signal(signal.SIGINT)  # fast shutdown: clients are disconnected
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_ready(port: int, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            with psycopg.connect(dsn(port, "postgres"), autocommit=True):
                return
        except psycopg.OperationalError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"throwaway postgres did not start:\n{log.read_text()[-2000:]}") from None
            time.sleep(0.1)
