"""The real worker process (`python -m streams worker`, Faust runner, one supervised child per projection):
kill -9 in the middle of batches, let the supervisor restart the children, and every read model converges with
nothing lost and nothing applied twice."""

from __future__ import annotations

import asyncio
import math
import signal
import sys
from decimal import Decimal

import httpx
import psutil
import pytest

from streams.peek import shown
from streams.projections import PROJECTIONS
from streams.settings import StreamsSettings
from tests.servers import free_port
from tests.streams.pipeline import cli_env, preload, until
from tests.streams.read_models import analytics_totals, expected_revenue

pytestmark = pytest.mark.stack


async def test_kill_9_mid_batch_then_restart_converges_without_loss_or_doubles(settings: StreamsSettings) -> None:
    loaded = await preload(settings, 600, seed=99)
    histories, events, ids, want = loaded.histories, loaded.events, loaded.ids, loaded.want
    env = cli_env(settings) | {"CQRS_STREAMS_BATCH_SIZE": "100"}  # many small batches: a kill lands inside one
    supervisor = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "streams", "worker", "--log-level", "warning", env=env, start_new_session=True
    )
    killed = 0
    try:
        for _ in range(3):

            async def some_applied() -> bool:
                counts = [len(await shown(settings, name, ids)) for name in PROJECTIONS]
                return any(0 < c < len(ids) for c in counts) or all(c == len(ids) for c in counts)

            await until(some_applied, within=90, every=0.05)
            for child in psutil.Process(supervisor.pid).children():
                child.send_signal(signal.SIGKILL)
                killed += 1
            await asyncio.sleep(0.5)

        async def converged() -> bool:
            return all([await shown(settings, name, ids) == want for name in PROJECTIONS])

        await until(converged, within=180, every=1.0)
    finally:
        supervisor.send_signal(signal.SIGTERM)
        await asyncio.wait_for(supervisor.wait(), 60)
    assert killed >= 3
    facts, daily, _ = await analytics_totals(settings)
    assert facts == len(events)  # not one event inserted twice…
    revenue: dict[tuple[str, str], tuple[int, Decimal]] = {}
    for _, status, currency, orders, amount in daily:
        count, total = revenue.get((status, currency), (0, Decimal(0)))
        revenue[(status, currency)] = (count + int(orders), total + amount)
    assert revenue == expected_revenue(histories)  # …so no materialized view counted one twice


async def test_a_worker_behind_catches_up_in_full_batches(settings: StreamsSettings) -> None:
    """Faust's `take_events` buffers nothing while a batch is processed, so each batch would hold only one short
    window's worth of events however far behind the worker is; the runner takes more windows while a batch's room
    is already waiting in the log."""
    loaded = await preload(settings, 1000, seed=7)
    events, ids, want = loaded.events, loaded.ids, loaded.want
    name, batch_size = "orders-search", 2000
    base_port = free_port() - list(PROJECTIONS).index(name)  # the worker serves metrics on base + its index
    env = cli_env(settings) | {
        "CQRS_STREAMS_BATCH_SIZE": str(batch_size), "CQRS_STREAMS_METRICS_PORT": str(base_port),
    }  # fmt: skip
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "streams", "worker", "--projection", name, "--log-level", "warning", env=env
    )
    try:

        async def caught_up() -> bool:
            return await shown(settings, name, ids) == want

        await until(caught_up, within=120, every=0.5)
        async with httpx.AsyncClient() as client:
            scraped = (await client.get(f"http://127.0.0.1:{base_port + list(PROJECTIONS).index(name)}/metrics")).text
    finally:
        worker.send_signal(signal.SIGTERM)
        await asyncio.wait_for(worker.wait(), 60)
    batches = _sample(scraped, "streams_batch_size_count", name)
    assert _sample(scraped, "streams_batch_size_sum", name) == len(events)
    # Full batches but for the first (before Faust knows the log's end) and the last; one short window is about
    # 300 events here, which would take more than twice as many batches.
    assert batches <= math.ceil(len(events) / batch_size) + 2, f"{len(events)} events in {batches} batches"
    within_size = f'streams_batch_size_bucket{{le="{float(batch_size)}",projection="{name}"}}'
    assert any(line == f"{within_size} {batches}" for line in scraped.splitlines())  # none larger than batch_size


def _sample(exposition: str, metric: str, projection: str) -> float:
    for line in exposition.splitlines():
        if line.startswith(f'{metric}{{projection="{projection}"}}'):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{metric} for {projection} not in the worker's metrics")
