"""Real servers for the tests that speak HTTP over TCP: a free port, and a service's own CLI run as a subprocess
until its readiness probe answers."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from servicekit.serving import wait_until_ready


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
