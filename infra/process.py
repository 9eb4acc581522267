"""Background processes owned by this clone: spawn detached, remember by pid file, stop only what we started.

A pid file holds the pid and the process start time, so a pid reused by some other program after a crash is never
mistaken for ours (and never killed).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

# Postgres and Elasticsearch refuse to run as root. When the stack is started by root (CI containers), they run in a
# user namespace where our uid shows as `nobody`; on disk their files stay owned by the invoking user.
_UNPRIVILEGED_ID = "65534"


def as_unprivileged(argv: Sequence[str]) -> list[str]:
    if os.geteuid() != 0:
        return list(argv)
    return ["unshare", "--user", f"--map-user={_UNPRIVILEGED_ID}", f"--map-group={_UNPRIVILEGED_ID}", *argv]


@dataclass(frozen=True)
class PidFile:
    path: Path

    def write(self, pid: int) -> None:
        started = psutil.Process(pid).create_time()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(f"{pid} {started}\n")

    def running_pid(self) -> int | None:
        """The pid if the recorded process is still alive (and is the same process), else None."""
        try:
            pid_text, started_text = self.path.read_text().split()
            process = psutil.Process(int(pid_text))
            if abs(process.create_time() - float(started_text)) > 0.01:
                return None
            if process.status() == psutil.STATUS_ZOMBIE:
                return None
            return process.pid
        except (OSError, ValueError, psutil.Error):
            return None

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


def spawn(argv: Sequence[str], log_path: Path, env: Mapping[str, str] | None = None, cwd: Path | None = None) -> int:
    """Start a detached process in its own session (so stop can signal its whole group) and return its pid."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        log.write(f"\n--- starting at {time.strftime('%Y-%m-%dT%H:%M:%S')}: {' '.join(argv)}\n".encode())
        log.flush()
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            cwd=cwd,
            start_new_session=True,
        )
    return process.pid


def stop(pid: int, grace_s: float = 30.0, stop_signal: signal.Signals = signal.SIGTERM) -> None:
    """Signal the process group, wait for a clean shutdown, then SIGKILL what is left and wait for it to be gone."""
    _signal_group(pid, stop_signal)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if not _group_alive(pid):
            return
        time.sleep(0.1)
    kill_hard(pid)


def kill_hard(pid: int, wait_s: float = 10.0) -> None:
    """SIGKILL the whole group at once (what the fault tests use to simulate a crash) and wait until it is gone."""
    _signal_group(pid, signal.SIGKILL)
    deadline = time.monotonic() + wait_s
    while _group_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def rss_bytes(pid: int) -> int:
    """Resident memory of the process and all its descendants (Elasticsearch runs its JVM as a child).

    Counted as PSS (each shared page split between the processes sharing it): Postgres backends all map the same
    shared buffers, and plain RSS would count them once per backend."""
    return int(_tree_total(pid, lambda process: process.memory_full_info().pss))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process and its live descendants have used so far (uvicorn and streams workers
    are children of the pid we started)."""

    def used(process: psutil.Process) -> float:
        times = process.cpu_times()
        return times.user + times.system

    return _tree_total(pid, used)


def _tree_total(pid: int, reading: Callable[[psutil.Process], float]) -> float:
    """`reading` summed over the process and its descendants; a process that is gone meanwhile counts nothing."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0.0
    for process in processes:
        try:
            total += reading(process)
        except psutil.Error:
            continue
    return total


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        return
    except PermissionError:
        os.kill(pid, sig)


def _group_alive(pgid: int) -> bool:
    for process in psutil.process_iter(["pid"]):
        try:
            if os.getpgid(process.pid) == pgid and process.status() != psutil.STATUS_ZOMBIE:
                return True
        except (ProcessLookupError, psutil.Error):
            continue
    return False
