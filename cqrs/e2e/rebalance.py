"""`cqrs chaos -s rebalance`: several workers per projection under load; one killed, one added, nothing lost or doubled.

Beside the stack's own workers (one per projection), a second supervisor adds one more per projection: two share
each projection's partitions. A third of the way in, one of the added workers of each projection gets SIGKILL (its
partitions move to the others after the session timeout; its supervisor starts it again); half way, a third
supervisor adds a third worker per projection. The load (open-loop commands through the writer) runs throughout.
Then, besides the usual checks (every read model equal to the reference built from the 202 answers, nothing lost on
the wire), the analytics sums must have grown by exactly what the accepted commands did: per (status, currency),
orders and revenue in `daily_revenue` after minus before equal the reference's. (This assumes no other writer
changes orders meanwhile, as on a stack of one's own.)
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from decimal import Decimal

import psutil

from cqrs.e2e.reference import Reference
from streams.projections import PROJECTIONS
from streams.settings import StreamsSettings
from streams.sinks.clickhouse import ClickHouseTargets

Sums = dict[tuple[str, str], tuple[int, Decimal]]


class ExtraWorkers:
    """Supervisors of extra workers per projection beside the stack's own (metrics off: the stack's use the ports)."""

    def __init__(self) -> None:
        self.supervisors: list[subprocess.Popen[bytes]] = []

    def add(self, workers: int = 1) -> None:
        env = dict(os.environ, CQRS_STREAMS_METRICS_PORT="0")
        command = [sys.executable, "-m", "streams", "worker", "--log-level", "warning", "--workers", str(workers)]
        self.supervisors.append(subprocess.Popen(command, env=env, start_new_session=True))

    def kill_one_per_projection(self) -> int:
        """SIGKILL one worker of each projection under the first supervisor (it starts them again)."""
        killed = 0
        for child in psutil.Process(self.supervisors[0].pid).children():
            line = child.cmdline()
            if any(name in line for name in PROJECTIONS):
                child.send_signal(signal.SIGKILL)
                killed += 1
        return killed

    def stop(self) -> None:
        for supervisor in self.supervisors:
            supervisor.send_signal(signal.SIGTERM)
        for supervisor in self.supervisors:
            try:
                supervisor.wait(timeout=60)
            except subprocess.TimeoutExpired:
                supervisor.kill()


async def analytics_sums(settings: StreamsSettings) -> Sums:
    """Orders and revenue per (status, currency) in `daily_revenue`, over all days."""
    targets = ClickHouseTargets.connect(settings)
    try:
        rows = await targets.query(
            f"SELECT status, currency, sum(orders), sum(revenue) FROM {settings.clickhouse_database}.daily_revenue "
            "GROUP BY status, currency"
        )
    finally:
        await targets.close()
    return {(status, currency): (int(orders), Decimal(revenue)) for status, currency, orders, revenue in rows}


def grown(after: Sums, before: Sums) -> Sums:
    keys = after.keys() | before.keys()
    zero = (0, Decimal(0))
    delta = {}
    for key in keys:
        (orders_after, revenue_after), (orders_before, revenue_before) = after.get(key, zero), before.get(key, zero)
        delta[key] = (orders_after - orders_before, revenue_after - revenue_before)
    return {key: value for key, value in delta.items() if value != zero}


def reference_sums(reference: Reference) -> Sums:
    """What the accepted commands add to `daily_revenue`: each order once, under its last status."""
    counts: Counter[tuple[str, str]] = Counter()
    revenue: dict[tuple[str, str], Decimal] = {}
    for order in reference.orders.values():
        key = (order.status, order.currency)
        counts[key] += 1
        revenue[key] = revenue.get(key, Decimal(0)) + order.total
    return {key: (counts[key], revenue[key]) for key in counts}


async def converged_sums(settings: StreamsSettings, before: Sums, want: Sums, within: float) -> Sums:
    """The growth of the sums once it equals `want`, or the last growth seen when `within` ran out."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        seen = grown(await analytics_sums(settings), before)
        if seen == want or asyncio.get_running_loop().time() > deadline:
            return seen
        await asyncio.sleep(1.0)
