"""`CommandTracer.trace`: a command's stored outcome plus where its events are now; what the HTTP route (and a gRPC
call) answer. The parts are looked up concurrently, and a part that cannot be looked up (Kafka or Redis away) is
reported as `unknown` instead of failing the answer: the outcome itself comes from the write model and always holds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import structlog
from aiokafka.errors import KafkaError
from psycopg import AsyncConnection
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis
from redis.exceptions import RedisError

from schemas.read_models import PROJECTIONS
from writer.settings import WriterSettings
from writer.trace.announcements import Announcements
from writer.trace.mirror import Applied, AppliedVersions
from writer.trace.model import CommandTrace, Parked, ProjectionProgress, Relayed
from writer.trace.relay_log import RelayLog
from writer.trace.relay_state import RelayProbe

log = structlog.get_logger("writer.trace")

LOOKUP_ERRORS = (KafkaError, RedisError, OSError, TimeoutError)


class CommandTracer:
    """Traces commands of this writer's write model through the relay and `projections`."""

    def __init__(
        self, settings: WriterSettings, relay: RelayProbe | None = None, projections: Sequence[str] = PROJECTIONS
    ) -> None:
        timeout_s = settings.trace_timeout_s
        self._redis = Redis.from_url(
            settings.trace_redis_url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
        )
        self._mirror = AppliedVersions(self._redis, settings.trace_mirror_prefix, projections)
        channels = {self._mirror.channel(projection): projection for projection in projections}
        self._announcements = Announcements(self._redis, channels, capacity=settings.trace_max_waiters)
        self._log = RelayLog(
            settings.trace_kafka_bootstrap, settings.trace_events_topic, settings.trace_dlq_prefix, timeout_s=timeout_s
        )
        self._relay = relay
        self._timeout_s = timeout_s

    async def close(self) -> None:
        await self._announcements.stop()
        await self._log.stop()
        await self._redis.aclose()

    async def trace(self, outcome: Mapping[str, Any], *, wait_applied_s: float = 0.0) -> CommandTrace:
        """Where the command of `outcome` (a stored outcome, already authorized) has got to. With `wait_applied_s`,
        first wait up to that long, woken by the projections' announcements, until every projection applied it."""
        order_id, version = str(outcome["aggregateId"]), int(outcome["version"])
        # Listening from the first trace on, so a later trace of this order can tell when each projection applied it.
        await self._announcements.start(ready_within_s=min(1.0, wait_applied_s) if wait_applied_s else 0.2)
        self._announcements.watch(order_id)
        if wait_applied_s > 0:
            await self._wait_applied(order_id, version, wait_applied_s)
        return await self._snapshot(outcome)

    async def _wait_applied(self, order_id: str, version: int, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        woken = self._announcements.waiter(order_id)  # registered before the first read: no announcement is missed
        checked_parked = False  # once: a parked event announces nothing, and stays parked until an operator acts
        try:
            while True:
                try:
                    applied = await self._mirror.of(order_id)
                except LOOKUP_ERRORS:
                    return  # the snapshot reports what it can
                behind = {p: a.generation for p, a in applied.items() if a.version is None or a.version < version}
                if not behind:
                    return
                if not checked_parked:
                    checked_parked = True
                    if await self._held(order_id, version, behind):
                        return  # parked: waiting longer would not change the answer
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                try:
                    await asyncio.wait_for(woken.wait(), remaining)
                except TimeoutError:
                    return
                woken.clear()
        finally:
            self._announcements.release(order_id, woken)

    async def _held(self, order_id: str, version: int, behind: Mapping[str, int | None]) -> bool:
        """Whether a dead letter holds the command back in one of the `behind` projections."""
        try:
            letters = await self._log.parked(order_id, behind)
        except LOOKUP_ERRORS:
            return False
        return any(letter.version is None or letter.version <= version for held in letters.values() for letter in held)

    async def _snapshot(self, outcome: Mapping[str, Any]) -> CommandTrace:
        order_id, version = str(outcome["aggregateId"]), int(outcome["version"])
        since_ms = int(datetime.fromisoformat(str(outcome["timestamp"])).timestamp() * 1000)
        events = max(1, len(outcome.get("events") or ()))
        unknown: list[str] = []
        relayed_task = asyncio.create_task(self._log.relayed(str(outcome["commandId"]), order_id, since_ms, events))
        try:
            applied = await self._mirror.of(order_id)
        except LOOKUP_ERRORS as error:
            log.warning("trace.mirror_unavailable", error=repr(error))
            applied = {projection: Applied(None, None) for projection in self._mirror.projections}
            unknown.append("projections")
        relayed: Relayed | None = None
        try:
            relayed = await relayed_task
        except LOOKUP_ERRORS as error:
            log.warning("trace.event_topic_unavailable", error=repr(error))
            unknown.append("relay")
        behind = {p: a.generation for p, a in applied.items() if a.version is None or a.version < version}
        letters: dict[str, list[Parked]] = {}
        if behind and relayed is not None:  # only relayed events can be parked
            try:
                letters = await self._log.parked(order_id, behind)
            except LOOKUP_ERRORS as error:
                log.warning("trace.dlq_unavailable", error=repr(error))
                unknown.append("dead letters")
        progress = [
            self._progress(projection, order_id, version, found, relayed, letters.get(projection, []))
            for projection, found in applied.items()
        ]
        relay_problem = failure = None
        if relayed is None and not any(p.state == "applied" for p in progress) and self._relay is not None:
            state = await self._relay.state()
            relay_problem = state.problem
            if state.lost:
                failure = f"{relay_problem}: this command's events were never relayed"
        return CommandTrace(outcome, relayed, progress, failure, relay_problem, unknown)

    def _progress(
        self,
        projection: str,
        order_id: str,
        version: int,
        applied: Applied,
        relayed: Relayed | None,
        letters: list[Parked],
    ) -> ProjectionProgress:
        if applied.version is not None and applied.version >= version:
            at_ms = self._announcements.applied_at_ms(projection, order_id, version)
            return ProjectionProgress(projection, "applied", applied.version, at_ms)
        # Sequenced parking: a letter of this version or an earlier one holds the command back.
        holding = [letter for letter in letters if letter.version is None or letter.version <= version]
        if holding:
            own = next((letter for letter in holding if letter.version == version), holding[-1])
            cause = holding[0] if holding[0] is not own else None
            return ProjectionProgress(projection, "parked", applied.version, parked=own, cause=cause)
        return ProjectionProgress(projection, "relayed" if relayed else "accepted", applied.version)


@asynccontextmanager
async def tracing(
    settings: WriterSettings, pool: AsyncConnectionPool[AsyncConnection[TupleRow]]
) -> AsyncIterator[tuple[CommandTracer, RelayProbe | None]]:
    """The app's tracer and, when `relay_connect_url` is set, the relay probe readiness asks (the trace also
    uses it to say why a command is not relayed). Nothing connects until first used."""
    relay = None
    if settings.relay_connect_url:
        relay = RelayProbe(settings.relay_connect_url, settings.relay_connector, pool, settings.relay_slot)
    tracer = CommandTracer(settings, relay)
    try:
        yield tracer, relay
    finally:
        await tracer.close()
        if relay is not None:
            await relay.close()
