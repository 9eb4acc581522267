"""Kafka's committed offsets are what a restarted worker resumes from and what `cqrs projections status` measures
lag against. With both runners: after a burst, every projection group commits the log end right after its last
apply (an idle worker shows no lag), and a worker killed in the middle of a burst re-reads at most one batch.

The Faust runner's catch-up holds events across `take_events` windows (`streams/runners/faust.py`); Faust commits an
offset only once every event up to it is acknowledged, so an event held but never acknowledged stalls the group's
commits for good. With the default batch size and timeout (2,000 events, 20 ms), as here, a window holds a few hundred
events while the worker is behind, so it holds."""

from __future__ import annotations

import asyncio
import signal
import sys
import time

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaConnectionError
from redis.asyncio import Redis

from streams.checkpoints import Checkpoints
from streams.peek import Shown, shown
from streams.projections import PROJECTIONS
from streams.settings import StreamsSettings
from streams.status import ProjectionStatus, all_statuses, projection_status
from streams.topics import end_offsets
from tests.streams.history import sample_histories
from tests.streams.pipeline import Background, cli_env, interleaved, preload, produce, until
from tests.streams.read_models import expected

pytestmark = pytest.mark.stack

RUNNERS = ["faust", "kafka"]
SETTLE_S = 5.0
"""How soon after a projection's last apply its group must have committed the log end."""
WINDOW_S = "0.02"
"""The default batch timeout (the tests' settings use a longer one): Faust's windows as small as in production."""


@pytest.mark.parametrize("runner", RUNNERS)
async def test_after_a_burst_every_group_commits_the_log_end_and_status_shows_no_lag(
    settings: StreamsSettings, runner: str
) -> None:
    loaded = await preload(settings, 800, seed=21)  # a backlog when the workers start: they catch up
    burst = sample_histories(800, seed=22)  # and a burst while they run
    want = loaded.want | {h.order_id: expected(h) for h in burst}
    ids = list(want)
    env = cli_env(settings) | {"CQRS_STREAMS_BATCH_SIZE": "2000", "CQRS_STREAMS_BATCH_TIMEOUT_S": WINDOW_S}
    supervisor = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "streams", "worker", "--runner", runner, "--log-level", "warning",
        env=env, start_new_session=True,
    )  # fmt: skip
    try:

        async def converged(ids: list[str], want: dict[str, Shown]) -> bool:
            return all([await shown(settings, name, ids) == want for name in PROJECTIONS])

        await until(lambda: converged(loaded.ids, loaded.want), within=180, every=0.5)
        await produce(settings, interleaved(burst))
        await until(lambda: converged(ids, want), within=180, every=0.5)
        statuses = await _settled(settings)
        await asyncio.sleep(2)  # idle: nothing may reappear, and the lag in seconds must not grow
        idle = await all_statuses(settings)
    finally:
        supervisor.send_signal(signal.SIGTERM)
        await asyncio.wait_for(supervisor.wait(), 60)
    for status in [*statuses, *idle]:
        assert status.error is None, status
        assert [p.committed for p in status.partitions] == [p.end for p in status.partitions], _describe([status])
        assert status.lag_events == 0, _describe([status])
        assert status.lag_seconds == 0.0, _describe([status])
    assert sum(p.end for p in statuses[0].partitions) == len(loaded.events) + sum(len(h.events) for h in burst)


@pytest.mark.parametrize("runner", RUNNERS)
async def test_a_worker_killed_mid_burst_re_reads_at_most_one_batch(settings: StreamsSettings, runner: str) -> None:
    loaded = await preload(settings, 1500, seed=31)  # about 5,700 events
    name, batch_size = "orders-mongo", 1000  # the slowest store: plenty of time to kill it mid-burst
    env = cli_env(settings) | {"CQRS_STREAMS_BATCH_SIZE": str(batch_size), "CQRS_STREAMS_BATCH_TIMEOUT_S": WINDOW_S}
    command = (sys.executable, "-m", "streams", "worker", "--projection", name, "--runner", runner)
    worker = await asyncio.create_subprocess_exec(*command, "--log-level", "warning", env=env)
    try:

        async def batches_applied() -> bool:  # enough that more than one batch would be missing from the commits
            return int((await _stats(settings, name)).get("applied", 0)) >= 3 * batch_size

        await until(batches_applied, within=180, every=0.02)
        worker.kill()
        await asyncio.wait_for(worker.wait(), 30)
        stats = await _stats(settings, name)
        assert stats["applied"] < len(loaded.events), "the worker finished before it was killed: no burst left"
        killed = await projection_status(settings, name)
        mirrored = await _mirrored(settings, name)
        # Applied (flushed and mirrored) beyond what the group committed: what a restarted worker reads again.
        behind = {p.partition: mirrored.get(p.partition, 0) - (p.committed or 0) for p in killed.partitions}
        assert sum(behind.values()) <= batch_size, f"applied minus committed per partition: {behind}"

        worker = await asyncio.create_subprocess_exec(*command, "--log-level", "warning", env=env)

        async def converged() -> bool:
            return await shown(settings, name, loaded.ids) == loaded.want

        await until(converged, within=240, every=1.0)
        restarted = await _stats(settings, name)
        (settled,) = await _settled(settings, [name])
    finally:
        if worker.returncode is None:
            worker.send_signal(signal.SIGTERM)
            await asyncio.wait_for(worker.wait(), 60)
    # Every event the restarted worker found already applied was read twice.
    assert restarted["duplicates"] - stats.get("duplicates", 0) <= batch_size, restarted
    assert settled.lag_events == 0, _describe([settled])


async def test_the_kafka_runner_retries_a_failed_commit_while_idle(
    settings: StreamsSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A commit that fails after the last batch of a burst (the coordinator away, a rebalance) is retried: the group
    must not stay behind until the next event arrives."""
    loaded = await preload(settings, 100, seed=41)
    name, broken = "orders-search", True
    commit = AIOKafkaConsumer.commit

    async def failing_commit(consumer: AIOKafkaConsumer, offsets: object = None) -> None:
        if broken:
            raise KafkaConnectionError("injected: the group coordinator is away")
        await commit(consumer, offsets)

    monkeypatch.setattr(AIOKafkaConsumer, "commit", failing_commit)
    background = Background(settings, name)  # the aiokafka runner, in this process
    await background.start()
    try:
        ends = await end_offsets(settings.kafka_bootstrap, settings.topic)

        async def all_applied() -> bool:
            return await _mirrored(settings, name) == ends

        await until(all_applied, within=60, every=0.1)
        assert (await projection_status(settings, name)).lag_events == len(loaded.events)  # nothing committed yet
        broken = False  # Kafka is back; no event follows

        async def committed_the_end() -> bool:
            return (await projection_status(settings, name)).lag_events == 0

        await until(committed_the_end, within=SETTLE_S, every=0.2)
    finally:
        await background.stop()


async def _settled(settings: StreamsSettings, names: list[str] | None = None) -> list[ProjectionStatus]:
    """The projections' status once every group committed its log end; fails if a group is still behind
    `SETTLE_S` after its projection's last apply (the mirror's `updatedAt`, written after each flush)."""
    names = names or list(PROJECTIONS)
    while True:
        statuses = [await projection_status(settings, name) for name in names]
        if all(s.lag_events == 0 and s.partitions for s in statuses):
            return statuses
        last_apply_s = max([(await _stats(settings, name)).get("updatedAt", 0) for name in names]) / 1000
        if time.time() > last_apply_s + SETTLE_S:
            raise AssertionError(f"committed offsets behind {SETTLE_S} s after the last apply: {_describe(statuses)}")
        await asyncio.sleep(0.2)


async def _stats(settings: StreamsSettings, name: str) -> dict[str, float]:
    redis = Redis.from_url(settings.redis_url)
    try:
        return await Checkpoints(redis, settings.redis_prefix, name).stats(1)
    finally:
        await redis.aclose()


async def _mirrored(settings: StreamsSettings, name: str) -> dict[int, int]:
    """The next offset the worker applied, per partition (the mirror, written after each flush)."""
    redis = Redis.from_url(settings.redis_url)
    try:
        positions = await Checkpoints(redis, settings.redis_prefix, name).positions(1)
    finally:
        await redis.aclose()
    return {partition: position.offset for partition, position in positions.items()}


def _describe(statuses: list[ProjectionStatus]) -> str:
    return "; ".join(
        f"{s.group}: " + ", ".join(f"p{p.partition} committed {p.committed} of {p.end}" for p in s.partitions)
        for s in statuses
    )
