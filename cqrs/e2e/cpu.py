"""What a command costs in CPU, per part of the pipeline: two readings of every stack process around a load.

Only the stack's processes count (services and our apps, children included): the load generator — vegeta, or the
bench's own Python process — is not the pipeline, and on a shared machine it would inflate every figure. Busy
services also spend CPU when no command arrives (timers, polls, merges); an idle reading just before the load says
how much, so the table shows it apart and the capacity estimate counts only what the commands add.
"""

from __future__ import annotations

import time
from typing import Any

import psutil

from infra.settings import StackSettings


class CpuMeter:
    def __init__(self, settings: StackSettings) -> None:
        from cqrs.apps import pipeline_stack

        self._stack = pipeline_stack(settings, list(pipeline_stack(settings).by_name))
        self._before: dict[str, float] = {}
        self._machine_before = 0.0
        self._bench_before = 0.0
        self._started = 0.0
        self._idle_per_s: float | None = None
        """CPU seconds per second the stack spends with no load (the last `measure_idle`)."""

    def measure_idle(self, seconds: float) -> None:
        """Read the stack's CPU over `seconds` without load (call it when the projections are idle)."""
        before, started = self._stack.cpu_seconds(), time.monotonic()
        time.sleep(seconds)
        after = self._stack.cpu_seconds()
        used = sum(after[name] - before.get(name, 0.0) for name in after)
        self._idle_per_s = used / (time.monotonic() - started)

    def start(self) -> None:
        self._before, self._started = self._stack.cpu_seconds(), time.monotonic()
        self._machine_before, self._bench_before = _machine_busy_s(), _bench_s()

    def per_command(self, commands: int) -> dict[str, Any]:
        """CPU ms per command of each part since `start` (parts under 0.05 ms left out), the total, and so the most
        commands/s this machine's cores could carry."""
        after, elapsed = self._stack.cpu_seconds(), time.monotonic() - self._started
        spent = {name: after[name] - self._before.get(name, 0.0) for name in after}
        total = sum(spent.values())
        count = max(commands, 1)
        cells: dict[str, Any] = {
            f"cpu ms/cmd {name}": round(seconds * 1000 / count, 2)
            for name, seconds in sorted(spent.items(), key=lambda item: -item[1])
            if seconds * 1000 / count >= 0.05
        }
        cells["cpu ms/cmd total"] = round(total * 1000 / count, 2)
        cores = psutil.cpu_count() or 1
        # What else ran meanwhile: the load generator and sampler (this process and its children), and other work
        # on a shared machine; the figures above are comparable only while the latter stays small.
        bench = _bench_s() - self._bench_before
        others = _machine_busy_s() - self._machine_before - total - bench
        cells["load generator + bench cpu % of machine"] = round(100 * bench / (elapsed * cores), 1)
        cells["other work cpu % of machine"] = round(100 * max(others, 0.0) / (elapsed * cores), 1)
        cells[f"max commands/s on {cores} cores"] = round(cores * commands / total) if total else None
        if self._idle_per_s is not None:
            idle = self._idle_per_s * elapsed
            cells["cpu ms/cmd of it idle (no load)"] = round(idle * 1000 / count, 2)
            cells["stack idle cpu % of machine"] = round(100 * self._idle_per_s / cores, 1)
            added = total - idle
            spare = cores - self._idle_per_s
            capacity = round(spare * commands / added) if added > 0 else None
            cells[f"max commands/s on {cores} cores, idle apart"] = capacity
        return cells


def _machine_busy_s() -> float:
    """CPU seconds every process on the machine has used since boot (all cores)."""
    times = psutil.cpu_times()
    return float(sum(getattr(times, field, 0.0) for field in ("user", "nice", "system", "irq", "softirq")))


def _bench_s() -> float:
    """CPU seconds of this process and its finished children (vegeta's attacks and reports)."""
    return float(sum(psutil.Process().cpu_times()[:4]))
