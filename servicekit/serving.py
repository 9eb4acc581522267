"""How the writer and the read API run under uvicorn: the same server options, and Prometheus across worker processes
(one shared directory, so /metrics reports every worker's counters)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx


@contextmanager
def shared_metrics_dir(workers: int, prefix: str) -> Iterator[None]:
    """With several workers (and no directory chosen by the operator), a temporary one for the server's lifetime."""
    if workers <= 1 or "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        yield
        return
    # Each worker keeps its own counters; a shared directory lets /metrics report all of them.
    metrics_dir = tempfile.mkdtemp(prefix=prefix)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    try:
        yield
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)


def run_under_uvicorn(app_factory: str, *, host: str, port: int, workers: int) -> None:
    """Run `module:factory` under uvicorn (uvloop, httptools) with our JSON logging and no access log: each app logs
    what matters once, with its correlation ids."""
    import uvicorn

    uvicorn.run(
        app_factory,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=False,
        server_header=False,
        # A worker importing the app on a busy machine may take longer than uvicorn's default 5 s to report in;
        # killed for it, it is restarted over and over and the app never starts.
        timeout_worker_healthcheck=60,
    )


class ServerNotReady(RuntimeError):
    """A served API exited, or its readiness probe did not answer 200 in time."""


def is_ready(base_url: str, *, timeout_s: float = 3) -> bool:
    """Whether `GET /health/ready` answers 200 (both APIs serve it; 503 names the store that is down)."""
    try:
        return httpx.get(f"{base_url}/health/ready", timeout=timeout_s).status_code == 200
    except httpx.HTTPError:
        return False


def wait_until_ready(
    base_url: str, process: subprocess.Popen[bytes], *, within_s: float, output: Callable[[], str] = lambda: ""
) -> None:
    """Poll the readiness probe of a server started as `process`; `output` gives its log for the error."""
    deadline = time.monotonic() + within_s
    while True:
        if process.poll() is not None:
            raise ServerNotReady(f"the server exited with {process.returncode}: {output()}")
        if is_ready(base_url, timeout_s=2):
            return
        if time.monotonic() > deadline:
            raise ServerNotReady(f"the server did not become ready within {within_s:g} s: {output()}")
        time.sleep(0.2)
