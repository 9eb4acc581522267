"""How the writer and the read API run under uvicorn: the same server options, and Prometheus across worker processes
(one shared directory, so /metrics reports every worker's counters)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager


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
    )
