"""Several workers per projection under steady load: kill one, add one, pause one past its session; nothing is lost
or doubled, every read model ends equal to the reference, the analytics sums equal the events', and the paused
worker's late flush changes nothing.

One run, every projection (the real `python -m streams worker --workers 2` supervisor):
- once both workers of each projection own partitions, events are produced at `RATE` events/s for
  `CQRS_TEST_SCALE_OUT_S` seconds (20 by default; `cqrs chaos -s rebalance` runs the 60 s form through the writer
  at 200 commands/s);
- at a third, one worker of each projection gets SIGKILL (its partitions move to the other after the session; the
  supervisor starts it again);
- at half, a second supervisor adds a third worker per projection;
- at two thirds, another worker of each projection is paused (SIGSTOP) while events still arrive; the others take
  over its partitions after the session timeout. Once the load ended and every store shows the reference, the paused
  workers resume: whatever they had decided before the pause must not reach a store (their lease lapsed, they exit
  with `EXIT_FENCED`), and every store must still show the reference.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from decimal import Decimal

import psutil
import pytest
from aiokafka import AIOKafkaProducer

from schemas.envelope import EventEnvelope
from streams.peek import ReadModels
from streams.projections import PROJECTIONS
from streams.settings import StreamsSettings
from streams.status import members, projection_status
from tests.streams.conftest import create_topics
from tests.streams.history import as_records, sample_histories
from tests.streams.pipeline import cli_env, interleaved, until
from tests.streams.read_models import analytics_totals, expected, expected_revenue

pytestmark = pytest.mark.stack

RATE = 200
SECONDS = float(os.environ.get("CQRS_TEST_SCALE_OUT_S", "20"))
SESSION_S = 10.0
"""The default session: a killed or paused worker's partitions move after this long. (A shorter one makes the lease
short enough that a worker starved of CPU on a busy machine fences itself: safe, but churn.)"""


async def test_workers_killed_added_and_paused_under_load_lose_and_double_nothing(settings: StreamsSettings) -> None:
    await create_topics(settings, partitions=6)
    histories = sample_histories(int(RATE * SECONDS / 5), seed=20)
    events = interleaved(histories)
    ids = [h.order_id for h in histories]
    want = {h.order_id: expected(h) for h in histories}
    env = cli_env(settings) | {
        "CQRS_STREAMS_SESSION_TIMEOUT_S": str(SESSION_S), "CQRS_STREAMS_HEARTBEAT_S": "3",
        "CQRS_STREAMS_BATCH_SIZE": "500",
    }  # fmt: skip
    first = await _supervisor(env, workers=2)
    added: asyncio.subprocess.Process | None = None
    paused: list[psutil.Process] = []
    try:
        for name in PROJECTIONS:  # both workers of each projection have joined (starting takes a while here)
            await _owning(settings, first, name, (0, 1), within=90)
        status = await projection_status(settings, "orders-search")  # `cqrs projections status`: who owns what
        assert len(status.workers) == 2
        assert sorted(p for worker in status.workers for p in worker.partitions) == list(range(6))
        assert {worker.worker.rsplit("-", 1)[-1] for worker in status.workers} == {
            str(_worker(first, "orders-search", replica=k).pid) for k in (0, 1)
        }
        load = asyncio.create_task(_steady(settings, events, seconds=SECONDS))
        await asyncio.sleep(SECONDS / 3)
        killed = [_worker(first, name, replica=0) for name in PROJECTIONS]
        for child in killed:
            child.send_signal(signal.SIGKILL)
        await asyncio.sleep(SECONDS / 2 - SECONDS / 3)
        added = await _supervisor(env, workers=1)
        await asyncio.sleep(SECONDS * 2 / 3 - SECONDS / 2)
        for name in PROJECTIONS:  # it works on partitions when it stops (and it is the one that does now)
            await _owning(settings, first, name, (1,), within=30)
            paused.append(_worker(first, name, replica=1))
            paused[-1].suspend()
        await load

        async with ReadModels(settings) as models:

            async def every_store_shows_the_reference() -> bool:
                return all([await models.shown(name, ids) == want for name in PROJECTIONS])

            await until(every_store_shows_the_reference, within=120, every=1.0)
            for child in paused:  # their partitions are the others' now; whatever they decided must not land
                child.resume()
            await until(lambda: _all_gone(paused), within=SESSION_S + 10, every=0.2)
            await asyncio.sleep(1.0)
            for name in PROJECTIONS:
                assert await models.shown(name, ids) == want, f"{name} changed after the stale workers resumed"
    finally:
        for child in paused:
            if child.is_running():
                child.resume()
        for supervisor in (first, added):
            if supervisor is not None and supervisor.returncode is None:
                supervisor.send_signal(signal.SIGTERM)
                await asyncio.wait_for(supervisor.wait(), 60)
    facts, daily, _ = await analytics_totals(settings)
    assert facts == len(events)  # each event inserted once…
    revenue: dict[tuple[str, str], tuple[int, Decimal]] = {}
    for _, status, currency, orders, amount in daily:
        count, total = revenue.get((status, currency), (0, Decimal(0)))
        revenue[(status, currency)] = (count + int(orders), total + amount)
    assert revenue == expected_revenue(histories)  # …and counted once by the summing views


async def _steady(settings: StreamsSettings, events: list[EventEnvelope], *, seconds: float) -> None:
    """Publish `events` evenly over `seconds` (in slices of a tenth of a second)."""
    slices = max(int(seconds * 10), 1)
    size = -(-len(events) // slices)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        started = time.monotonic()
        for index in range(slices):
            for record in as_records(events[index * size : (index + 1) * size]):
                await producer.send(settings.topic, record.value, key=record.key, headers=list(record.headers))
            await asyncio.sleep(max(started + (index + 1) / 10 - time.monotonic(), 0))
        await producer.flush()
    finally:
        await producer.stop()


async def _supervisor(env: dict[str, str], *, workers: int) -> asyncio.subprocess.Process:
    command = [sys.executable, "-m", "streams", "worker", "--log-level", "warning", "--workers", str(workers)]
    return await asyncio.create_subprocess_exec(*command, env=env, start_new_session=True)


def _worker(supervisor: asyncio.subprocess.Process, name: str, *, replica: int) -> psutil.Process:
    for child in psutil.Process(supervisor.pid).children():
        line = child.cmdline()
        if name in line and line[line.index("--replica") + 1] == str(replica):
            return child
    raise LookupError(f"no worker {replica} of {name} under the supervisor")


async def _owning(
    settings: StreamsSettings,
    supervisor: asyncio.subprocess.Process,
    name: str,
    replicas: tuple[int, ...],
    *,
    within: float,
) -> None:
    """Wait until these workers of `name` own partitions of its group (a member's name ends in its pid)."""

    async def owning() -> bool:
        try:
            pids = {str(_worker(supervisor, name, replica=replica).pid) for replica in replicas}
        except LookupError:  # not started yet
            return False
        owners = {worker.rsplit("-", 1)[-1] for worker, _, owned in await members(settings, group) if owned}
        return pids <= owners

    group = settings.group_id(name, 1)
    await until(owning, within=within, every=0.5)


async def _all_gone(processes: list[psutil.Process]) -> bool:
    return not any(process.is_running() and process.status() != psutil.STATUS_ZOMBIE for process in processes)
