"""`cqrs streams worker` without `--projection`: one child process per projection, restarted when it exits.

One process per projection: each has its own consumer group and store client, and the three then use more than
one CPU (Python runs one thread at a time per process). A child that exits with `EXIT_RETIRED` (readers moved to a
new generation) is restarted at once; one that fails is restarted after a growing pause. SIGTERM/SIGINT stop all.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from types import FrameType

from streams.runners.base import EXIT_RETIRED

log = logging.getLogger(__name__)


def supervise(projections: Sequence[str], extra_args: Sequence[str]) -> int:
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    children: dict[str, subprocess.Popen[bytes]] = {}
    pauses = dict.fromkeys(projections, 1.0)
    due = dict.fromkeys(projections, 0.0)
    while not stopping:
        for name in projections:
            child = children.get(name)
            if child is not None and (code := child.poll()) is not None:
                del children[name]
                if code == EXIT_RETIRED:
                    pauses[name], due[name] = 1.0, 0.0
                    log.info("%s moved to a new generation; restarting", name)
                else:
                    log.warning("%s exited with %d; restarting in %.0f s", name, code, pauses[name])
                    due[name] = time.monotonic() + pauses[name]
                    pauses[name] = min(pauses[name] * 2, 60.0)
            if name not in children and time.monotonic() >= due[name]:
                command = [sys.executable, "-m", "streams", "worker", "--projection", name, *extra_args]
                children[name] = subprocess.Popen(command)
        time.sleep(0.2)
    for child in children.values():
        child.send_signal(signal.SIGTERM)
    for child in children.values():
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
    return 0
