"""`cqrs streams worker` without `--projection` (or with `--workers N`): `workers` child processes per projection,
each restarted when it exits.

One process per projection: each has its own consumer group and store client, and the four then use more than
one CPU (Python runs one thread at a time per process). Several per projection share its group: Kafka spreads the
event topic's partitions over them (`streams.ownership`), so a machine with more cores projects faster, and a
killed worker's partitions move to the others within the session timeout. A child that exits with
`EXIT_RETIRED` (readers moved to a new generation) or `EXIT_FENCED` (it stood still past its lease) is restarted
at once; one that fails is restarted after a growing pause. SIGTERM/SIGINT stop all.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from types import FrameType

from streams.runners.base import EXIT_FENCED, EXIT_RETIRED

log = logging.getLogger(__name__)


def supervise(projections: Sequence[str], extra_args: Sequence[str], workers: int = 1) -> int:
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    slots = [(name, replica) for replica in range(max(workers, 1)) for name in projections]
    children: dict[tuple[str, int], subprocess.Popen[bytes]] = {}
    pauses = dict.fromkeys(slots, 1.0)
    due = dict.fromkeys(slots, 0.0)
    while not stopping:
        for slot in slots:
            name, replica = slot
            child = children.get(slot)
            if child is not None and (code := child.poll()) is not None:
                del children[slot]
                if code in (EXIT_RETIRED, EXIT_FENCED):
                    pauses[slot], due[slot] = 1.0, 0.0
                    log.info("%s worker %d exited with %d; restarting", name, replica, code)
                else:
                    log.warning("%s worker %d exited with %d; restarting in %.0f s", name, replica, code, pauses[slot])
                    due[slot] = time.monotonic() + pauses[slot]
                    pauses[slot] = min(pauses[slot] * 2, 60.0)
            if slot not in children and time.monotonic() >= due[slot]:
                command = [sys.executable, "-m", "streams", "worker", "--projection", name, "--workers", "1"]
                # The children run one worker each; CQRS_STREAMS_WORKERS tells them how many share the projection.
                env = dict(os.environ, CQRS_STREAMS_WORKERS=str(max(workers, 1)))
                children[slot] = subprocess.Popen([*command, "--replica", str(replica), *extra_args], env=env)
        time.sleep(0.2)
    for child in children.values():
        child.send_signal(signal.SIGTERM)
    for child in children.values():
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
    return 0
